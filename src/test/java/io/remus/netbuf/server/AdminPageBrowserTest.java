package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The admin page in a real headless Chromium, against the real server running inside user-mode-linux (PLUGGED
 * needs sch_plug, which this host lacks), started by the same launcher as {@code make run} (src/uml/run-server.sh)
 * on a free port, with its own network namespace, H2 file and run directory. The demo domain is on, as with make run.
 * Through the page: log in, create a Remus domain with two vifs, start it, see its buffers PLUGGED with epochs
 * moving, open a buffer's journal, stop the domain, see its buffers go. Then SIGINT to the launcher, as Ctrl-C
 * would: the server stops its domains, the guest halts, and the namespace and every process of the run are gone.
 */
class AdminPageBrowserTest {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final String PASSWORD = "browser-test-password";
    static final String DEMO = "demo";
    static final Duration BOOT = Duration.ofMinutes(6);
    static final Duration UI = Duration.ofSeconds(60);

    static UmlServer server;
    static Path chromeProfile;
    static WebDriver browser;

    @BeforeAll
    static void startServerInUmlAndBrowser() throws Exception {
        UmlServer.requireFile(CHROMIUM, "apt-get install chromium (make test installs it)");
        UmlServer.requireFile(CHROMEDRIVER, "apt-get install chromium-driver (make test installs it)");
        server = UmlServer.start("browser", PASSWORD, BOOT, List.of(), List.of("--netbuf-server.demo.enabled=true",
                "--netbuf-server.demo.name=" + DEMO, "--netbuf-server.demo.vifs=1",
                // this test is about the page: on a loaded 2-core machine (CI with other work) the loop inside UML
                // was seen to stall past make run's 10 s deadline, failing the demo over (UmlDeadlineTest covers it)
                "--netbuf.checkpoint.ack-timeout=60s"));
        System.out.println("AdminPageBrowserTest: server inside user-mode-linux answered after " + server.bootSeconds
                + " s");

        chromeProfile = Files.createTempDirectory(server.runDir, "chromium-profile");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + chromeProfile, "--window-size=1400,1000");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().withLogFile(server.runDir.resolve("chromedriver.log").toFile()).build();
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stopEverything() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        if (server != null) {
            server.close();
        }
        if (chromeProfile != null) {
            try (Stream<Path> files = Files.walk(chromeProfile)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void remusDomainThroughThePageThenCtrlCLeavesNothing() throws Exception {
        browser.get("http://127.0.0.1:" + server.port + "/");

        // the demo domain checkpoints on its own: its buffer is PLUGGED and its epoch moves
        long demoEpoch = awaitValue("the demo domain's buffer PLUGGED", () -> bufferRows(DEMO).stream()
                .filter(r -> r.state().equals("PLUGGED")).map(Row::epoch).findFirst().orElse(null));
        awaitValue("the demo domain's epoch moving past " + demoEpoch, () -> bufferRows(DEMO).stream()
                .map(Row::epoch).filter(e -> e > demoEpoch).findFirst().orElse(null));

        // a guest sees no admin controls
        assertThat(browser.findElement(By.id("who")).getText()).isEqualTo("reading as guest");
        assertThat(browser.findElement(By.id("create-domain")).isDisplayed()).isFalse();

        // the xl remus column's wording (this server has no Xen domains to show it): one checkpoint, or N checkpoints
        assertThat(((JavascriptExecutor) browser).executeScript("return [xlRemus({requests: 2, checkpoints: 1}),"
                + " xlRemus({requests: 9, checkpoints: 3, lateCloses: 1})];"))
                .isEqualTo(List.of("followed: 1 checkpoint", "followed: 3 checkpoints, 1 late (held over)"));

        browser.findElement(By.id("login-password")).sendKeys(PASSWORD);
        browser.findElement(By.cssSelector("#login-form button[type=submit]")).click();
        awaitValue("logged in as admin", () -> browser.findElement(By.id("who")).getText().equals("admin: admin")
                ? true : null);
        assertThat(browser.findElement(By.id("create-domain")).isDisplayed()).isTrue();

        String name = "web" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 20), 36);
        browser.findElement(By.id("domain-name")).sendKeys(name);
        WebElement vifs = browser.findElement(By.id("domain-vifs"));
        vifs.clear();
        vifs.sendKeys("2");
        assertThat(browser.findElement(By.id("domain-remus")).isSelected()).isTrue();
        assertThat(browser.findElement(By.id("domain-checkpoint")).isSelected()).isTrue();
        browser.findElement(By.cssSelector("#create-domain button[type=submit]")).click();
        awaitValue("domain " + name + " DEFINED", () -> "DEFINED".equals(domainState(name)) ? true : null);
        assertThat(bufferRows(name)).isEmpty();

        clickDomainButton(name, "start");
        awaitValue("domain " + name + " RUNNING", () -> "RUNNING".equals(domainState(name)) ? true : null);
        // the counters come from a snapshot up to a second old: a buffer just plugged may show none at first
        List<Row> plugged = awaitValue("two PLUGGED buffers of " + name + " with their counters", () -> {
            List<Row> rows = bufferRows(name);
            return rows.size() == 2 && rows.stream().allMatch(r -> r.state().equals("PLUGGED")
                    && r.backlog().contains("pkts")) ? rows : null;
        });
        assertThat(plugged).extracting(Row::vif).allMatch(v -> v.matches("vif\\d+\\.[01]"));
        assertThat(plugged).extracting(Row::ifb).allMatch(i -> i.startsWith("nbifb"));
        assertThat(plugged).extracting(Row::backlog).allMatch(b -> b.contains("pkts"), "backlog read from the plug");
        assertThat(browser.findElement(By.id("error")).isDisplayed()).as("no error shown").isFalse();
        long epoch = plugged.getFirst().epoch();
        awaitValue("the checkpoint loop moving " + name + "'s epoch past " + epoch, () -> bufferRows(name).stream()
                .map(Row::epoch).filter(e -> e > epoch).findFirst().orElse(null));

        // its protection: the loop drives it, PROTECTED under the default deadline; failed over (through the API),
        // the page shows why and resumes it, and the loop takes it again
        List<String> p = awaitValue("the protection row of " + name, () -> protectionRow(name));
        assertThat(p.get(1)).isEqualTo("LOOP");
        assertThat(p.get(2)).isEqualTo("PROTECTED");
        assertThat(p.get(3)).as("the deadline this test set").isEqualTo("60.0 s (default)");
        Http api = new Http(server.port).basic("admin", PASSWORD);
        assertThat(api.post("/api/netbuf/domains/" + name + "/epochs").status()).as("the loop drives it")
                .isEqualTo(409);
        assertThat(api.post("/api/netbuf/domains/" + name + "/failover").status()).isEqualTo(200);
        awaitValue(name + " UNPROTECTED, with the reason", () -> {
            List<String> row = protectionRow(name);
            return row != null && row.get(2).equals("UNPROTECTED") && row.get(9).equals("failover requested")
                    && row.get(8).equals("1") ? true : null;
        });
        click("resume of " + name, () -> browser.findElement(By.cssSelector(
                "#protection tbody tr[data-domain='" + name + "'] button.resume")));
        awaitValue(name + " PROTECTED again", () -> "PROTECTED".equals(protectionRow(name).get(2)) ? true : null);
        awaitValue("the loop checkpointing " + name + " again", () -> bufferRows(name).stream()
                .filter(r -> r.state().equals("PLUGGED") && r.epoch() > 0).count() == 2 ? true : null);

        // a buffer's journal: every install step, intent then outcome, up to PLUGGED
        String id = plugged.getFirst().id();
        click("buffer " + id, () -> browser.findElement(By.cssSelector("#buffers tbody tr[data-id='" + id + "']")));
        List<List<String>> journal = awaitValue("the journal of buffer " + id, () -> {
            if (!browser.findElement(By.id("journal-section")).isDisplayed()
                    || !browser.findElement(By.id("journal-id")).getText().equals(id)) {
                return null;
            }
            List<List<String>> rows = table("#journal tbody tr");
            return rows.isEmpty() ? null : rows;
        });
        assertThat(journal).extracting(r -> r.get(2)).contains("INTENT", "DONE").doesNotContain("FAILED");
        assertThat(journal).extracting(r -> r.get(4)).contains("IFB_UP", "INGRESS", "REDIRECTED", "PLUGGED");
        awaitValue("buffer " + id + " shown as selected", () -> browser.findElement(By.cssSelector(
                "#buffers tbody tr[data-id='" + id + "']")).getAttribute("class").contains("selected") ? true : null);

        clickDomainButton(name, "stop");
        awaitValue("domain " + name + " DEFINED again", () -> "DEFINED".equals(domainState(name)) ? true : null);
        awaitValue("the buffers of " + name + " gone from the page", () -> bufferRows(name).isEmpty() ? true : null);
        assertThat(browser.findElement(By.id("free-buffers")).getText()).contains("torn-down (FREE) buffers not shown");
        assertThat(bufferRows(DEMO)).as("the demo domain untouched").extracting(Row::state).containsOnly("PLUGGED");
        assertThat(browser.findElement(By.id("error")).isDisplayed()).as("no error shown").isFalse();

        // Ctrl-C: the server stops the demo domain, the guest halts, the launcher removes its namespace
        browser.quit();
        browser = null;
        long stopping = System.nanoTime();
        int exit = server.interrupt();
        System.out.println("AdminPageBrowserTest: stopped " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopping)
                + " ms after SIGINT (boot took " + server.bootSeconds + " s)");
        assertThat(exit).as(server.logTail()).isEqualTo(130);
        String log = Files.readString(server.log);
        assertThat(log).contains("NETBUF_UML_STOP").contains("demo domain " + DEMO + " stopped")
                .contains("NETBUF_UML_SERVER_EXITED 143").contains("reboot: System halted");
        assertThat(Ip.namespaceExists(server.netns)).as("namespace " + server.netns + " deleted").isFalse();
        assertThat(server.processesLeft()).as("processes of this run left").isEmpty();
        try (Connection db = DriverManager.getConnection(server.dbUrl);
             ResultSet rs = db.createStatement().executeQuery("SELECT name, state FROM server_domain ORDER BY name")) {
            List<String> states = new ArrayList<>();
            while (rs.next()) {
                states.add(rs.getString(1) + " " + rs.getString(2));
            }
            assertThat(states).containsExactlyInAnyOrder(DEMO + " DEFINED", name + " DEFINED");
        }
        try (Connection db = DriverManager.getConnection(server.dbUrl);
             ResultSet rs = db.createStatement().executeQuery("SELECT COUNT(*) FROM netbuf_buffer WHERE state <> 'FREE'")) {
            rs.next();
            assertThat(rs.getInt(1)).as("buffers not torn down at shutdown").isZero();
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    record Row(String id, String domain, String vif, String ifb, String state, long epoch, String backlog) {
    }

    /** The buffer table's rows of {@code domain}, read in one script call (the page re-renders every second). */
    static List<Row> bufferRows(String domain) {
        List<Row> rows = new ArrayList<>();
        for (List<String> td : table("#buffers tbody tr")) {
            if (td.size() >= 7 && td.get(1).equals(domain)) {
                rows.add(new Row(td.get(0), td.get(1), td.get(2), td.get(3), td.get(4),
                        td.get(5).isEmpty() ? 0 : Long.parseLong(td.get(5)), td.get(6)));
            }
        }
        return rows;
    }

    @SuppressWarnings("unchecked")
    static List<List<String>> table(String rowSelector) {
        return (List<List<String>>) ((JavascriptExecutor) browser).executeScript("return [...document.querySelectorAll("
                + "arguments[0])].map(tr => [...tr.cells].map(td => td.textContent.trim()));", rowSelector);
    }

    static List<String> protectionRow(String domain) {
        return table("#protection tbody tr").stream().filter(td -> td.getFirst().equals(domain)).findFirst()
                .orElse(null);
    }

    static String domainState(String name) {
        return table("#domains tbody tr").stream().filter(td -> td.getFirst().equals(name)).map(td -> td.get(4))
                .findFirst().orElse(null);
    }

    /** Finds and clicks in one go, again if the page re-rendered the element in between. */
    static void click(String what, java.util.function.Supplier<WebElement> element) {
        awaitValue(what, () -> {
            WebElement e = element.get();
            if (!e.isEnabled() || !e.isDisplayed()) {
                return null;
            }
            e.click();
            return true;
        });
    }

    static void clickDomainButton(String name, String action) {
        click(action + " of domain " + name, () -> browser.findElement(By.cssSelector(
                "#domains tbody tr[data-name='" + name + "'] button." + action)));
    }

    /** Polls {@code probe} (the page refreshes every second) until it gives a value; fails naming what it waited for. */
    static <T> T awaitValue(String what, java.util.function.Supplier<T> probe) {
        try {
            return new WebDriverWait(browser, UI).withMessage(() -> "waiting for " + what + "; page error: "
                            + browser.findElement(By.id("error")).getText())
                    .ignoring(StaleElementReferenceException.class)
                    .ignoring(org.openqa.selenium.NoSuchElementException.class)
                    .until(d -> probe.get());
        } catch (org.openqa.selenium.TimeoutException e) {
            throw new AssertionError(e.getMessage() + "\n" + server.logTail(), e);
        }
    }
}
