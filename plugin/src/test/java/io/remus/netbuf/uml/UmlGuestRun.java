package io.remus.netbuf.uml;

import static org.junit.jupiter.api.Assertions.fail;

import io.remus.netbuf.guest.GuestJava;
import io.remus.netbuf.guest.GuestResults;
import io.remus.netbuf.guest.GuestTestMain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;

/**
 * One user-mode-linux boot that runs the tests of a tag inside the guest and reports them here one by one. A boot
 * failure, a module that does not load, a guest that crashes or finds no tests fails with the guest's console tail:
 * it never passes silently. {@code -Dnetbuf.uml.timeout-minutes=N} bounds the run (default 20); every other
 * {@code netbuf.*} system property is passed on to the guest JVM.
 */
public final class UmlGuestRun {

    private UmlGuestRun() {
    }

    /**
     * The tests tagged {@code tag} (only those {@code only} selects, if not blank: see {@link GuestTestMain}) in a
     * guest whose kernel has sch_plug or, without {@code withPlug}, lacks it; named {@code [label] Class.method}.
     */
    public static Stream<DynamicTest> tests(String label, String tag, String only, boolean withPlug,
                                            List<String> guestJvmOptions) throws Exception {
        Path work = Path.of("target", "uml", label + "-" + System.currentTimeMillis()).toAbsolutePath();
        Path results = work.resolve("results.json");
        int timeoutMinutes = Integer.getInteger("netbuf.uml.timeout-minutes", 20);
        // The whole heap is touched at the start, while the guest's memory is unfragmented: UML maps each guest page
        // into the host process on its own, and a heap that grows page by page over a long run (the crash matrix's
        // long form) ends up in more host mappings than vm.max_map_count (65530) allows; UML then kills the JVM
        // ("UML ran out of memory on the host side").
        List<String> jvm = new ArrayList<>(List.of("-Xms600m", "-Xmx600m", "-XX:+AlwaysPreTouch",
                "-XX:+UseSerialGC"));
        jvm.addAll(GuestJava.passedOnProperties("netbuf.uml."));
        jvm.addAll(guestJvmOptions);
        UserModeLinux.Run run = UserModeLinux.runJava(work, GuestTestMain.class.getName(),
                List.of(tag, results.toString(), only), jvm, Duration.ofMinutes(timeoutMinutes),
                UserModeLinux.Cpus.ONE_IDLE, withPlug);

        if (run.timedOut()) {
            fail("user-mode-linux did not halt within " + timeoutMinutes + " minutes\n" + run.tail());
        }
        if (!run.console().contains("NETBUF_UML_READY")) {
            fail("user-mode-linux did not boot to the test script\n" + run.tail());
        }
        if (run.console().contains("NETBUF_UML_MODULE_FAILED")) {
            fail("a kernel module failed to load inside user-mode-linux\n" + run.tail());
        }
        if (run.guestExit() != 0 || !Files.exists(results)) {
            fail("the guest test runner exited " + run.guestExit() + " without results\n" + run.tail());
        }
        return GuestResults.tests(results, label, tag, run.tail()).stream();
    }
}
