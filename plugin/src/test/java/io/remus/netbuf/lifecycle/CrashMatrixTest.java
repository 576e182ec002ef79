package io.remus.netbuf.lifecycle;

import io.remus.netbuf.netlink.KernelPlug;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The crash matrix on the running kernel, at every install point it can reach: a child JVM installing buffers on
 * {@value CrashHarness#DEFAULT_BUFFERS} vifs at once is killed with SIGKILL with all of them right after the intent,
 * or right after the kernel step, of one install step (without sch_plug, up to the plug step's intent); a new
 * process on the same H2 file recovers. Afterwards no ifb, ingress qdisc, filter or plug qdisc is left in the
 * namespace, every buffer row rests with no claims, recovery journaled the interrupted step, and each vif takes a
 * new install (which, without sch_plug, fails cleanly at the plug step). The teardown's points are in
 * {@link UmlCrashMatrixTest}. Then recovery itself killed at each of its undo steps. Each point once;
 * {@code -Dnetbuf.crash.repeats=20} kills 20 children at each.
 */
class CrashMatrixTest {

    static final CrashHarness.Options HOST = new CrashHarness.Options(Path.of("target", "h2-crash"),
            List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"), Duration.ofSeconds(60), KernelPlug.present(),
            CrashHarness.BUFFERS);

    static Stream<Arguments> points() {
        // every point of the install from the table; without sch_plug, not the one after ADD_PLUG's kernel call
        return CrashHarness.matrix(CrashHarness.installPoints().stream()
                .filter(p -> KernelPlug.present() || !p.equals(io.remus.netbuf.model.BufferEvent.ADD_PLUG.afterKernel()))
                .toArray(String[]::new));
    }

    @ParameterizedTest(name = "[{index}] {0} #{1}")
    @MethodSource("points")
    void killedAtTheCrashPointThenRecoveredLeavesNothing(String point, int repetition) throws Exception {
        CrashHarness.run(CrashHarness.CrashPoint.parse(point), repetition, HOST);
    }

    /** Recovery's own steps on the host: each undo of a crashed install, after its intent and after the kernel. */
    static Stream<Arguments> recoveryPoints() {
        return CrashHarness.matrix(
                "after-intent:REMOVE_REDIRECT", "after-kernel:REMOVE_REDIRECT",
                "after-intent:REMOVE_INGRESS", "after-kernel:REMOVE_INGRESS",
                "after-intent:RELEASE_IFB", "after-kernel:RELEASE_IFB");
    }

    /**
     * A crash during recovery: the children killed after the kernel step of ADD_REDIRECT (every host install step
     * done), then a first recovery in another child killed at the point in its first undo; the next recovery
     * leaves nothing, as above.
     */
    @ParameterizedTest(name = "[{index}] recovery killed {0} #{1}")
    @MethodSource("recoveryPoints")
    void aRecoveryKilledAtTheCrashPointIsRolledBackByTheNext(String recoveryPoint, int repetition) throws Exception {
        CrashHarness.run(CrashHarness.CrashPoint.parse("after-kernel:ADD_REDIRECT"), recoveryPoint, repetition, HOST);
    }
}
