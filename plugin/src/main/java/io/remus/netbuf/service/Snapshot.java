package io.remus.netbuf.service;

import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A value read again at most once per {@code maxAgeNanos}, however many threads ask for it: one reader at a time,
 * the others wait for its result rather than read too. A failed read is kept as long as a value would be (and
 * thrown to each caller), so a source that cannot be read is not asked again by every caller. With a change count
 * to watch, the next call reads again at once when the count has moved since the last read began.
 */
final class Snapshot<T> {

    /** A value or a failure, read when the clock said {@code at}, the change count then {@code changes}. */
    private record Taken<T>(long at, long changes, T value, RuntimeException failure) {
    }

    private final long maxAgeNanos;
    private final LongSupplier clock;
    private final LongSupplier changes;
    private final Supplier<T> read;
    private final Object reading = new Object();
    private volatile Taken<T> taken;

    /** A value {@code read} at most once per {@code maxAgeNanos} as {@code clock} (nanoseconds) counts them. */
    Snapshot(long maxAgeNanos, LongSupplier clock, Supplier<T> read) {
        this(maxAgeNanos, clock, () -> 0, read);
    }

    /** The same, and read again at once after {@code changes} has moved. */
    Snapshot(long maxAgeNanos, LongSupplier clock, LongSupplier changes, Supplier<T> read) {
        this.maxAgeNanos = maxAgeNanos;
        this.clock = clock;
        this.changes = changes;
        this.read = read;
    }

    /** The value, read again if it is {@code maxAgeNanos} old or the change count moved; throws a kept failure. */
    T get() {
        Taken<T> t = taken;
        if (!current(t)) {
            synchronized (reading) {
                t = taken;
                if (!current(t)) {
                    t = take();
                    taken = t;
                }
            }
        }
        if (t.failure() != null) {
            throw t.failure();
        }
        return t.value();
    }

    private Taken<T> take() {
        long changesBefore = changes.getAsLong(); // before the read: a change during it makes the next call read
        T value = null;
        RuntimeException failure = null;
        try {
            value = read.get();
        } catch (RuntimeException e) {
            failure = e;
        }
        return new Taken<>(clock.getAsLong(), changesBefore, value, failure);
    }

    private boolean current(Taken<T> t) {
        return t != null && t.changes() == changes.getAsLong() && clock.getAsLong() - t.at() < maxAgeNanos;
    }
}
