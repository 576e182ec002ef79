package io.remus.netbuf.service;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one timer for every domain's ack deadline, whoever drives its epochs: every {@code period} it fails over the
 * domains whose oldest held output has waited too long ({@link NetbufService#failOverdue}). Nothing it meets stops
 * it: a failure is logged and kept for health, and the next scan runs.
 */
public class HeldOutputDeadline implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HeldOutputDeadline.class);

    private final NetbufService service;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().daemon().name("netbuf-deadline").unstarted(r));
    private volatile Throwable lastFailure;

    public HeldOutputDeadline(NetbufService service, Duration period) {
        this.service = service;
        timer.scheduleWithFixedDelay(this::scan, period.toNanos(), period.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void scan() {
        try {
            service.failOverdue(System.nanoTime());
        } catch (Throwable t) { // an Error too: the timer must not die unseen, a dead one black-holes every guest
            lastFailure = t;
            log.error("netbuf deadline scan failed: {}", t.toString(), t);
        }
    }

    /** The last failure of a scan, for health; null if none. */
    public Throwable lastFailure() {
        return lastFailure;
    }

    public boolean running() {
        return !timer.isShutdown();
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
