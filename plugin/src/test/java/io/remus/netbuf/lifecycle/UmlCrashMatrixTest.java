package io.remus.netbuf.lifecycle;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The crash matrix at the plug steps, on a kernel with sch_plug (user-mode-linux 6.1): a child JVM killed with
 * SIGKILL right after the plug step of an install, and, for an install followed by a teardown, right after the
 * intent and right after the kernel step of every teardown step; a new process on the same H2 file recovers.
 * Afterwards nothing of the buffer is left in the namespace, every buffer row rests with no claims, recovery
 * journaled the interrupted step, and a new install on the vif reaches PLUGGED and tears down.
 */
@Tag("uml-guest")
class UmlCrashMatrixTest {

    /** A JVM start is seconds inside UML: a small heap, the serial GC, C1 only, and the CDS archive. */
    static final CrashHarness.Options UML = new CrashHarness.Options(
            Path.of(System.getProperty("java.io.tmpdir"), "netbuf-crash-h2"),
            List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"),
            Duration.ofSeconds(240), true);

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {
            "install/after-kernel:PLUG_ADD",
            "install-then-teardown/after-intent:PLUG_RELEASE_INDEFINITE",
            "install-then-teardown/after-kernel:PLUG_RELEASE_INDEFINITE",
            "install-then-teardown/after-intent:PLUG_DELETE",
            "install-then-teardown/after-kernel:PLUG_DELETE",
            "install-then-teardown/after-intent:REDIRECT_DELETE",
            "install-then-teardown/after-kernel:REDIRECT_DELETE",
            "install-then-teardown/after-intent:INGRESS_DELETE",
            "install-then-teardown/after-kernel:INGRESS_DELETE",
            "install-then-teardown/after-intent:IFB_RELEASE",
            "install-then-teardown/after-kernel:IFB_RELEASE"})
    void killedAtTheCrashPointThenRecoveredLeavesNothing(String point) throws Exception {
        CrashHarness.run(CrashHarness.CrashPoint.parse(point), UML);
    }
}
