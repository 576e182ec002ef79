package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.xen.Dom0Kernel;
import io.remus.netbuf.xen.XenDom0Run;
import io.remus.netbuf.xen.XenUnderQemu;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Supplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.NoSuchElementException;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The page in {@code xen} mode, in headless Chromium run in dom0 (this machine's chromium and chromedriver, over
 * 9p): the domU's row with its domid, state and vif; no controls for a guest; logged in, "Mark for Remus" buffers
 * it, the row shows xl remus's checkpoints followed once {@code xl remus -n} runs, and "Unmark" removes the
 * buffers. Under QEMU's TCG Chromium is slow to start and to render (see README), so
 * this class is not in XenServerTest's default selection: {@code -Dnetbuf.xen.class=} this class runs it.
 */
@Tag(XenDom0Run.TAG)
class XenAdminPageDom0Test {

    static final String PASSWORD = "xen-page-test-password";
    static final String DOMU = XenUnderQemu.DOMU_NAME;
    static final Duration UI = Duration.ofSeconds(Integer.getInteger("netbuf.dom0.page-seconds", 300));

    @Test
    void thePageShowsTheXenDomainAndItsRemusControlWorks() throws Exception {
        int domid = Integer.parseInt(Sh.run("xl", "domid", DOMU).strip());
        String vif = "vif" + domid + ".0";
        Path database = Path.of(System.getProperty("java.io.tmpdir"), "xen-page-" + System.nanoTime());
        Path profile = Files.createTempDirectory("chromium-profile");
        try (ConfigurableApplicationContext server = XenServerDom0Test.startXenServer(database, PASSWORD)) {
            int port = server.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
            long t0 = System.nanoTime();
            ChromeOptions options = new ChromeOptions();
            options.setBinary("/usr/bin/chromium");
            options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--single-process", "--no-zygote", "--user-data-dir=" + profile,
                    "--window-size=1400,1000");
            ChromeDriverService service = new ChromeDriverService.Builder()
                    .usingDriverExecutable(new File("/usr/bin/chromedriver")).usingAnyFreePort()
                    .withLogFile(profile.resolveSibling("chromedriver.log").toFile()).build();
            WebDriver browser = new ChromeDriver(service, options);
            try {
                System.out.printf("[xen-page] chromium started in %.1f s%n", (System.nanoTime() - t0) / 1e9);
                long t1 = System.nanoTime();
                browser.get("http://127.0.0.1:" + port + "/");
                System.out.printf("[xen-page] page loaded in %.1f s%n", (System.nanoTime() - t1) / 1e9);
                String row = "#xen-domains tbody tr[data-name='" + DOMU + "']";
                await(browser, "the domU's row CONNECTED", () ->
                        browser.findElement(By.cssSelector(row + " td.domain-state")).getText().equals("CONNECTED"));
                System.out.printf("[xen-page] the domU's row shown %.1f s after the page was asked for%n",
                        (System.nanoTime() - t1) / 1e9);
                assertThat(read(browser, row + " td.domid", WebElement::getText)).isEqualTo(String.valueOf(domid));
                assertThat(read(browser, row + " td.vifs", WebElement::getText)).isEqualTo(vif + " (connected)");
                assertThat(read(browser, row + " td.remus", WebElement::getText)).isEqualTo("no");
                assertThat(read(browser, "#create-domain", WebElement::isDisplayed)).as("the namespace form").isFalse();
                assertThat(read(browser, row + " button.mark", WebElement::isDisplayed)).as("as a guest").isFalse();

                browser.findElement(By.id("login-password")).sendKeys(PASSWORD);
                browser.findElement(By.cssSelector("#login-form button[type=submit]")).click();
                await(browser, "logged in", () -> browser.findElement(By.id("who")).getText().equals("admin: admin"));
                click(browser, row + " button.mark");
                await(browser, "buffered after Mark for Remus", () ->
                        browser.findElement(By.cssSelector(row + " td.buffered")).getText().equals("yes"));
                assertThat(Dom0Kernel.qdiscKinds(vif)).as("qdiscs on %s", vif).contains("ingress");
                assertThat(Dom0Kernel.redirectTargets(vif)).hasSize(1);
                await(browser, "waiting for xl remus", () ->
                        browser.findElement(By.cssSelector(row + " td.xl-remus")).getText()
                                .equals("waiting for xl remus"));
                // the admin's next step: xl remus -n as usual (here to a black hole: no backup is needed to see
                // its checkpoints followed); killed afterwards, the domain's state no longer matters to this test
                Process remus = new ProcessBuilder("xl", "remus", "-F", "-n", "-b", "-i", "200", DOMU, "blackhole")
                        .redirectErrorStream(true).redirectOutput(profile.resolveSibling("xl-remus.log").toFile())
                        .start();
                try {
                    await(browser, "the page showing xl remus's checkpoints followed", () -> browser.findElement(
                            By.cssSelector(row + " td.xl-remus")).getText()
                            .matches("followed: (1 checkpoint|(?!1 )[1-9][0-9]* checkpoints)\\b.*"));
                    System.out.printf("[xen-page] the page shows: %s%n", read(browser, row + " td.xl-remus",
                            WebElement::getText));
                } finally {
                    XlRemusFailoverDom0Test.kill(remus);
                }
                click(browser, row + " button.unmark");
                await(browser, "not buffered after Unmark", () ->
                        browser.findElement(By.cssSelector(row + " td.buffered")).getText().equals("no"));
                assertThat(Dom0Kernel.qdiscKinds(vif)).doesNotContain("ingress");
                assertThat(read(browser, "#error", WebElement::isDisplayed)).as("no error shown").isFalse();
                System.out.printf("[xen-page] done %.1f s after chromium started%n", (System.nanoTime() - t0) / 1e9);
            } finally {
                browser.quit();
            }
        }
    }

    /** Waits for {@code condition} (the page refreshes every second); on a timeout the page's text is in the message. */
    static void await(WebDriver browser, String what, Supplier<Boolean> condition) {
        try {
            new WebDriverWait(browser, UI).ignoring(StaleElementReferenceException.class)
                    .ignoring(NoSuchElementException.class).until(d -> condition.get() ? true : null);
        } catch (org.openqa.selenium.TimeoutException e) {
            throw new AssertionError("waiting for " + what + " for " + UI.toSeconds() + " s; the page shows:\n"
                    + browser.findElement(By.tagName("body")).getText(), e);
        }
    }

    /** {@code what} of the element at {@code css}, read again if the page's refresh replaced it meanwhile. */
    static <T> T read(WebDriver browser, String css, java.util.function.Function<WebElement, T> what) {
        return new WebDriverWait(browser, UI).ignoring(StaleElementReferenceException.class)
                .ignoring(NoSuchElementException.class)
                // in an Optional: until() would take a false for "not yet"
                .until(d -> java.util.Optional.of(what.apply(d.findElement(By.cssSelector(css))))).get();
    }

    /**
     * Clicks the element in one round trip (a script's {@code click()}, which runs the page's handler as a mouse
     * click would): under TCG finding a row's button and clicking it natively took longer than the page's 1 s
     * refresh, which replaces the rows, so every native click met a stale element.
     */
    static void click(WebDriver browser, String css) {
        await(browser, "a click on " + css, () -> Boolean.TRUE.equals(((JavascriptExecutor) browser).executeScript(
                "const e = document.querySelector(arguments[0]);"
                        + " if (!e || e.disabled || e.offsetParent === null) return false; e.click(); return true;",
                css)));
    }
}
