package io.remus.netbuf.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A value read at most once per max age, by one reader at a time, again at once after a change. */
class SnapshotTest {

    static final long AGE = 1_000;

    final AtomicLong clock = new AtomicLong(5 * AGE);
    final AtomicLong changes = new AtomicLong();
    final AtomicInteger reads = new AtomicInteger();
    final Snapshot<Integer> snapshot = new Snapshot<>(AGE, clock::get, changes::get, reads::incrementAndGet);

    @Test
    void aValueServesUntilItIsMaxAgeOld() {
        assertThat(snapshot.get()).isEqualTo(1);
        clock.addAndGet(AGE - 1);
        assertThat(snapshot.get()).as("just under the max age").isEqualTo(1);
        clock.addAndGet(1);
        assertThat(snapshot.get()).as("at the max age: read again").isEqualTo(2);
        assertThat(snapshot.get()).isEqualTo(2);
    }

    @Test
    void aChangeMakesTheNextCallReadAgainAtOnce() {
        assertThat(snapshot.get()).isEqualTo(1);
        changes.incrementAndGet();
        assertThat(snapshot.get()).isEqualTo(2);
        assertThat(snapshot.get()).as("no change since").isEqualTo(2);
    }

    @Test
    void aChangeDuringTheReadMakesTheNextCallReadAgain() {
        Snapshot<Integer> changedWhileRead = new Snapshot<>(AGE, clock::get, changes::get, () -> {
            int n = reads.incrementAndGet();
            if (n == 1) {
                changes.incrementAndGet(); // a buffer changed after the read saw its row
            }
            return n;
        });
        assertThat(changedWhileRead.get()).isEqualTo(1);
        assertThat(changedWhileRead.get()).isEqualTo(2);
        assertThat(changedWhileRead.get()).isEqualTo(2);
    }

    @Test
    void oneReaderAtATimeTheOthersTakeItsValue() throws Exception {
        CountDownLatch reading = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger inRead = new AtomicInteger();
        AtomicInteger mostInRead = new AtomicInteger();
        Snapshot<Integer> slow = new Snapshot<>(AGE, clock::get, () -> {
            mostInRead.accumulateAndGet(inRead.incrementAndGet(), Math::max);
            reading.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            inRead.decrementAndGet();
            return reads.incrementAndGet();
        });
        List<Thread> callers = new ArrayList<>();
        List<Integer> seen = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 20; i++) {
            callers.add(Thread.ofPlatform().start(() -> seen.add(slow.get())));
        }
        assertThat(reading.await(10, TimeUnit.SECONDS)).isTrue();
        Thread.sleep(50); // the other 19 reach the lock meanwhile
        release.countDown();
        for (Thread t : callers) {
            t.join();
        }
        assertThat(reads.get()).isEqualTo(1);
        assertThat(mostInRead.get()).isEqualTo(1);
        assertThat(seen).hasSize(20).containsOnly(1);
    }

    @Test
    void aFailedReadIsThrownToEveryCallerUntilMaxAgeAndNotRepeated() {
        AtomicInteger failures = new AtomicInteger();
        Snapshot<Integer> failing = new Snapshot<>(AGE, clock::get, changes::get, () -> {
            failures.incrementAndGet();
            throw new IllegalStateException("netlink said no");
        });
        for (int i = 0; i < 20; i++) {
            assertThatThrownBy(failing::get).hasMessage("netlink said no");
        }
        assertThat(failures.get()).isEqualTo(1);
        clock.addAndGet(AGE);
        assertThatThrownBy(failing::get).hasMessage("netlink said no");
        assertThat(failures.get()).isEqualTo(2);
        changes.incrementAndGet();
        assertThatThrownBy(failing::get).as("a change reads again, failed or not").hasMessage("netlink said no");
        assertThat(failures.get()).isEqualTo(3);
    }
}
