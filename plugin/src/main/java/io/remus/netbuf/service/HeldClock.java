package io.remus.netbuf.service;

import java.time.Duration;
import java.time.Instant;

/**
 * How long a domain's output has been held, and its recent checkpoints. Written under the domain's lock; the
 * deadline reads {@code heldSince} without it, then checks again under it.
 */
final class HeldClock {
    static final long NOT_HELD = Long.MIN_VALUE;
    private static final int RECENT = 16;

    /** System.nanoTime when the oldest output still held began to be held, or NOT_HELD. */
    volatile long heldSince = NOT_HELD;
    /** When the open epoch began. */
    private long openedAt = NOT_HELD;
    volatile Instant lastCheckpoint;
    volatile String lastFailure;
    private final long[] recent = new long[RECENT];
    private int begins;

    /** Output held since {@code now}, as after a begin of unknown history (a restart). */
    void heldFrom(long now) {
        heldSince = now;
        openedAt = now;
    }

    /**
     * An epoch began: the one that was open is closed and still held, and the new one is held from {@code now}
     * (System.nanoTime); {@code at} is the same moment by the wall clock, read once for a whole batch of domains.
     */
    void begun(long now, Instant at) {
        if (heldSince == NOT_HELD) {
            heldSince = now;
        }
        openedAt = now;
        lastCheckpoint = at;
        synchronized (recent) {
            recent[begins++ % RECENT] = now;
        }
    }

    /** Nothing is held any more (failover, resume). */
    void released() {
        heldSince = NOT_HELD;
        openedAt = NOT_HELD;
    }

    /** The closed epoch was released: the oldest output held is the open epoch's. */
    void committed() {
        heldSince = openedAt;
    }

    /** Whether output has been held longer than {@code timeout} at {@code now} (System.nanoTime). */
    boolean heldLongerThan(Duration timeout, long now) {
        long since = heldSince;
        return since != NOT_HELD && now - since > timeout.toNanos();
    }

    /** Begins per second over the recent ones (the last 16); 0 with fewer than two. */
    double rate() {
        synchronized (recent) {
            int n = Math.min(begins, RECENT);
            if (n < 2) {
                return 0;
            }
            long last = recent[(begins - 1) % RECENT];
            long first = recent[(begins - n) % RECENT];
            return last == first ? 0 : (n - 1) * 1e9 / (last - first);
        }
    }
}
