package io.remus.netbuf.lifecycle;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The crash matrix on the host kernel (no sch_plug), at every point it can reach: a child JVM installing a buffer
 * is killed with SIGKILL right after the intent and right after the kernel step of each install step up to the
 * plug, and right after the plug step's intent; a new process on the same H2 file recovers. Afterwards no ifb,
 * ingress qdisc, filter or plug qdisc is left in the namespace, every buffer row rests with no claims, recovery
 * journaled the interrupted step, and the vif takes a new install (which fails cleanly at the plug step here).
 * The plug steps themselves are in {@link UmlCrashMatrixTest}.
 */
class CrashMatrixTest {

    static final CrashHarness.Options HOST = new CrashHarness.Options(Path.of("target", "h2-crash"),
            List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"), Duration.ofSeconds(60), false);

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {
            "after-intent:IFB_UP", "after-kernel:IFB_UP",
            "after-intent:INGRESS_ADD", "after-kernel:INGRESS_ADD",
            "after-intent:REDIRECT_ADD", "after-kernel:REDIRECT_ADD",
            "after-intent:PLUG_ADD"})
    void killedAtTheCrashPointThenRecoveredLeavesNothing(String point) throws Exception {
        CrashHarness.run(CrashHarness.CrashPoint.parse(point), HOST);
    }
}
