package io.remus.netbuf.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The host benches in their short form: each runs end to end against its baseline and prints its figures. A
 * smoke check that the bench works, not a timed assertion: no verdict is taken from the figures (the real run is
 * {@code make bench}).
 */
class BenchSmokeTest {

    @Test
    void hostBenchesRun() {
        Path work = Path.of("target", "bench-smoke").toAbsolutePath();
        Bench.Report report = new Bench.Report();
        Path c = CBaseline.compile(work);
        HostBench.run(Bench.Sizes.forSmokeTest(), c, report);
        RecoveryBench.run(Bench.Sizes.forSmokeTest(), work.resolve("h2"), report);
        assertThat(String.join("\n", report.lines))
                .contains("link set up", "ingress qdisc add + delete", "FFM/C = ")
                .contains("recovery of 16 installs", "recovery/undo alone = ");
    }
}
