package io.remus.netbuf.xen;

import static org.junit.jupiter.api.Assertions.fail;

import io.remus.netbuf.guest.GuestJava;
import io.remus.netbuf.guest.GuestResults;
import io.remus.netbuf.guest.GuestTestMain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;

/**
 * Boots Xen, dom0 and the domU under QEMU ({@link XenUnderQemu}) and runs the tests tagged {@value #TAG} of this
 * JVM's test class path in dom0, each reported back as a dynamic test. A boot, module, daemon or domU failure, a
 * crash on the console, or a stage past its deadline fails at once naming the stage, with the console tails: it
 * never passes silently. System properties: {@code netbuf.xen.class=FQCN[#method][,...]} runs these dom0 classes
 * or methods instead of {@code defaultSelection}; {@code netbuf.xen.cpus=LIST} pins QEMU ({@code taskset -c},
 * default the last online CPU); {@code netbuf.xen.boot-seconds=N} bounds the boot to dom0 ready (default 300),
 * {@code netbuf.xen.vif-seconds} to the vif in dom0 and connected (600), {@code netbuf.xen.timeout-minutes} the
 * whole run (20). These {@code netbuf.xen.*} are the harness's and stay here; every other {@code netbuf.*} property
 * is passed on to the dom0 JVM (the dom0 tests' own are {@code netbuf.dom0.*}), and
 * {@value #DOMU_CONFIG_PROPERTY} is set there to the domU's xl config.
 */
public final class XenDom0Run {

    public static final String TAG = "xen-dom0";
    /** In the dom0 JVM: the path of the domU's xl config, for a test that destroys and creates it again. */
    public static final String DOMU_CONFIG_PROPERTY = "netbuf.dom0.domu-config";

    private XenDom0Run() {
    }

    /**
     * QEMU's default CPU: one, as in the measured 10 runs of 10 (the other CPUs stay for this JVM and the rest of
     * the machine); the last online one, e.g. 1 of "0-1".
     */
    static String lastOnlineCpu() throws IOException {
        String online = Files.readString(Path.of("/sys/devices/system/cpu/online")).strip();
        String last = online.substring(online.lastIndexOf(',') + 1);
        return last.substring(last.lastIndexOf('-') + 1);
    }

    /** Runs in dom0 the {@value #TAG} tests {@code defaultSelection} selects (a class, a method, or blank: all). */
    public static Stream<DynamicTest> tests(String defaultSelection) throws IOException, InterruptedException {
        Path work = Path.of("target", "xen", "tests-" + System.currentTimeMillis()).toAbsolutePath();
        Path results = work.resolve("results.json");
        String only = System.getProperty("netbuf.xen.class", defaultSelection);
        String cpus = System.getProperty("netbuf.xen.cpus", lastOnlineCpu());
        XenUnderQemu.Timeouts timeouts = new XenUnderQemu.Timeouts(
                Duration.ofSeconds(Integer.getInteger("netbuf.xen.boot-seconds", 300)),
                Duration.ofSeconds(Integer.getInteger("netbuf.xen.vif-seconds", 600)),
                Duration.ofMinutes(Integer.getInteger("netbuf.xen.timeout-minutes", 20)));
        // dom0 has 1 GiB; C1 only: under TCG a JVM's C2 compilations cost more than they give in a short run.
        // ThreadPriorityPolicy=1 (root): Java's priorities become nice values, the xl remus follower's thread -5
        List<String> jvm = new ArrayList<>(List.of("-Xms256m", "-Xmx512m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-XX:ThreadPriorityPolicy=1", "-D" + DOMU_CONFIG_PROPERTY + "=" + XenUnderQemu.domuConfig(work)));
        jvm.addAll(GuestJava.passedOnProperties("netbuf.xen."));
        XenUnderQemu.Run run = XenUnderQemu.runJava(work, GuestTestMain.class.getName(),
                List.of(TAG, results.toString(), only), jvm, timeouts, cpus);
        System.out.println("[xen] on CPUs " + cpus + ": " + run.timings() + (run.vif().isEmpty() ? ""
                : "; domU's vif " + run.vif()));

        if (run.failure().isPresent()) {
            fail("Xen under QEMU: " + run.failure().get() + " (reached " + run.reached() + "; " + run.timings()
                    + ")\n" + run.tail());
        }
        if (run.mainExit() != 0 || !Files.exists(results)) {
            fail("the dom0 test runner exited " + run.mainExit() + " without results\n" + run.tail());
        }
        return GuestResults.tests(results, "xen dom0", TAG, run.tail()).stream();
    }
}
