package io.remus.netbuf.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.PlugStats;
import io.remus.netbuf.persistence.BufferRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The listing's and the metrics' counters: one snapshot, read from the kernel at most once a second. */
class PlugStatsReaderTest {

    static final long SECOND = PlugStatsReader.MAX_AGE_NANOS;

    final AtomicLong clock = new AtomicLong(5 * SECOND);
    final AtomicInteger reads = new AtomicInteger();
    final BufferRecord plugged = buffer(1, BufferState.PLUGGED);
    final BufferRecord released = buffer(2, BufferState.RELEASED);
    final BufferRecord free = buffer(3, BufferState.FREE);

    PlugStatsReader reader = new PlugStatsReader(List::of, buffers -> {
        int n = reads.incrementAndGet();
        return Map.of(1L, new PlugStats(n, 0, 0, 0, 0), 2L, new PlugStats(n, 0, 0, 0, 0),
                3L, new PlugStats(n, 0, 0, 0, 0));
    }, clock::get);

    @Test
    void twentyPollersCauseOneReadASecond() throws Exception {
        for (int second = 0; second < 3; second++) {
            List<Thread> pollers = new ArrayList<>();
            for (int p = 0; p < 20; p++) {
                pollers.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < 200; i++) {
                        reader.stats(List.of(plugged, released, free));
                        reader.stats(plugged);
                    }
                }));
            }
            for (int step = 0; step < 9; step++) {
                clock.addAndGet(SECOND / 10); // 0.9 s in all: the snapshot read at the start of the second serves
                Thread.sleep(2);
            }
            for (Thread t : pollers) {
                t.join();
            }
            assertThat(reads.get()).as("reads after %d s of 20 pollers", second + 1).isEqualTo(second + 1);
            clock.addAndGet(SECOND / 10);
        }
        assertThat(reader.stats(List.of(plugged, released, free)))
                .as("the counters of the buffers with a plug, from the fourth read")
                .containsOnlyKeys(1L, 2L).extractingByKey(1L).extracting(PlugStats::sentBytes).isEqualTo(4L);
        assertThat(reader.stats(free)).as("a FREE buffer has no plug, whatever the snapshot says").isEmpty();
    }

    @Test
    void aFailedReadIsThrownToEveryCallerForASecondAndNotRepeated() {
        AtomicInteger failures = new AtomicInteger();
        PlugStatsReader failing = new PlugStatsReader(List::of, buffers -> {
            failures.incrementAndGet();
            throw new IllegalStateException("netlink said no");
        }, clock::get);
        for (int i = 0; i < 20; i++) {
            assertThatThrownBy(() -> failing.stats(List.of(plugged))).hasMessage("netlink said no");
        }
        assertThat(failures.get()).isEqualTo(1);
        assertThat(failing.stats(List.of(free))).as("no buffer with a plug: nothing to read").isEmpty();
        clock.addAndGet(SECOND);
        assertThatThrownBy(() -> failing.stats(plugged)).hasMessage("netlink said no");
        assertThat(failures.get()).isEqualTo(2);
    }

    /** The metrics' buffers by state and their counters: one read of the rows and one of the kernel a second. */
    @Test
    void theLiveBuffersAndTheirCountersComeFromOneRead() {
        AtomicInteger rowReads = new AtomicInteger();
        List<List<BufferRecord>> readFor = new ArrayList<>();
        PlugStatsReader live = new PlugStatsReader(() -> {
            rowReads.incrementAndGet();
            return List.of(plugged, released);
        }, buffers -> {
            readFor.add(buffers);
            return Map.of(1L, new PlugStats(7, 0, 0, 0, 0));
        }, clock::get);
        for (int i = 0; i < 10; i++) {
            assertThat(live.live().buffers()).containsExactly(plugged, released);
            assertThat(live.stats(List.of(plugged, released))).containsOnlyKeys(1L);
        }
        assertThat(rowReads.get()).isEqualTo(1);
        assertThat(readFor).as("the counters read for the rows just read").containsExactly(List.of(plugged, released));
        clock.addAndGet(SECOND);
        assertThat(live.live().stats()).containsOnlyKeys(1L);
        assertThat(rowReads.get()).isEqualTo(2);
    }

    private static BufferRecord buffer(long id, BufferState state) {
        return new BufferRecord(id, "dom1", "vif1." + id, state, null, "nbifb" + id, true, 4096, 3, 1, 0x4e420000,
                0, null, null, null, null);
    }
}
