package io.remus.netbuf.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The benches that need sch_plug in their short form, inside user-mode-linux: each runs end to end against its
 * baseline and prints its figures. A smoke check that the bench works, not a timed assertion.
 */
@Tag("uml-guest")
class UmlBenchSmokeTest {

    @Test
    void umlBenchesRun() throws Exception {
        Path work = Path.of(System.getProperty("java.io.tmpdir"), "bench-smoke");
        Bench.Report report = new Bench.Report();
        NetbufBench.guest(Bench.Sizes.forSmokeTest(), CBaseline.compile(work), report);
        assertThat(String.join("\n", report.lines))
                .contains("one checkpoint", "FFM/C = ", "tc exec/FFM = ", "bytes/op")
                .contains("one epoch", "FFM batch/C batch = ", "one by one/FFM batch = ", "C one by one/C batch = ")
                .contains("installed + uninstalled")
                .contains("live heap after a full GC", "allocated per checkpoint on the hot path")
                .contains("clients poll the buffer listing", "tick p99 with 20 clients polling every 1000 ms/without = ")
                .contains("teardown per buffer", "the kernel part alone");
    }
}
