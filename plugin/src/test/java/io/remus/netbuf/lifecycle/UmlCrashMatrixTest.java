package io.remus.netbuf.lifecycle;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The crash matrix at the plug steps, on a kernel with sch_plug (user-mode-linux 6.1): a child JVM with buffers on
 * {@value CrashHarness#DEFAULT_BUFFERS} vifs, killed with SIGKILL with all of them right after the plug step of an
 * install, and, for installs followed by teardowns, right after the intent and right after the kernel step of every
 * teardown step; a new process on the same H2 file recovers. Afterwards nothing of any buffer is left in the
 * namespace, every buffer row rests with no claims, recovery journaled the interrupted step, and a new install on
 * each vif reaches PLUGGED and tears down. Then recovery killed at its plug step. Each point once; {@code -Dnetbuf.crash.repeats=20} kills 20 children at
 * each.
 */
@Tag("uml-guest")
class UmlCrashMatrixTest {

    /** A JVM start is seconds inside UML: a small heap, the serial GC, C1 only, and the CDS archive. */
    static final CrashHarness.Options UML = new CrashHarness.Options(
            Path.of(System.getProperty("java.io.tmpdir"), "netbuf-crash-h2"),
            List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"),
            Duration.ofSeconds(240), true, CrashHarness.BUFFERS);

    static Stream<Arguments> points() {
        // the install's points before its plug are CrashMatrixTest's, on the host
        java.util.List<String> points = new java.util.ArrayList<>(List.of("install/after-kernel:ADD_PLUG"));
        points.addAll(CrashHarness.teardownPoints());
        return CrashHarness.matrix(points.toArray(String[]::new));
    }

    @ParameterizedTest(name = "[{index}] {0} #{1}")
    @MethodSource("points")
    void killedAtTheCrashPointThenRecoveredLeavesNothing(String point, int repetition) throws Exception {
        CrashHarness.run(CrashHarness.CrashPoint.parse(point), repetition, UML);
    }

    /** Recovery's plug step (the others are in {@link CrashMatrixTest}), after its intent and after the kernel. */
    static Stream<Arguments> recoveryPoints() {
        return CrashHarness.matrix("after-intent:REMOVE_PLUG", "after-kernel:REMOVE_PLUG");
    }

    /**
     * A crash during recovery: the children killed after the kernel step of ADD_PLUG, then a first recovery killed
     * at the point of its first undo; the next recovery leaves nothing.
     */
    @ParameterizedTest(name = "[{index}] recovery killed {0} #{1}")
    @MethodSource("recoveryPoints")
    void aRecoveryKilledAtTheCrashPointIsRolledBackByTheNext(String recoveryPoint, int repetition) throws Exception {
        CrashHarness.run(CrashHarness.CrashPoint.parse("after-kernel:ADD_PLUG"), recoveryPoint, repetition, UML);
    }
}
