package io.remus.netbuf.service;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The built-in Remus checkpoint loop, for domains that ask for it, with a simulated backup: every interval it
 * checkpoints all its domains together ({@link NetbufService#checkpoint}: one batch of plug changes and one
 * database transaction for all of them), committing each domain's epoch awaiting an ack once the simulated ack
 * delay has passed and beginning the next one. A domain the simulated backup has not acknowledged yet waits for a
 * later tick. A failure stops the loop for that domain only and is kept for the admin to see; the domain's buffers
 * stay as the failure left them until failover or stop.
 */
public class CheckpointLoop implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CheckpointLoop.class);
    private static final long NONE_AWAITING = Long.MIN_VALUE;

    /** What the loop is doing for one domain. */
    public record Status(boolean running, long lastEpoch, String lastError) {
    }

    private final NetbufService service;
    private final Duration interval;
    private final Duration ackDelay;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().daemon().name("netbuf-checkpoint").unstarted(r));
    private final Map<String, Status> status = new ConcurrentHashMap<>();
    /**
     * The loop's domains, each with the time (System.nanoTime) its awaiting epoch was closed, or NONE_AWAITING.
     * Guarded by itself.
     */
    private final Map<String, Long> begunAt = new HashMap<>();
    private ScheduledFuture<?> ticks;

    public CheckpointLoop(NetbufService service, Duration interval, Duration ackDelay) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("checkpoint interval must be positive: " + interval);
        }
        this.service = service;
        this.interval = interval;
        this.ackDelay = ackDelay;
    }

    /** Starts checkpointing {@code domain} every interval; a second start is a no-op. */
    public void start(String domain) {
        synchronized (begunAt) {
            if (begunAt.putIfAbsent(domain, NONE_AWAITING) == null) {
                status.put(domain, new Status(true, 0, null));
            }
            if (ticks == null) {
                ticks = timer.scheduleAtFixedRate(this::tick, 0, interval.toNanos(), TimeUnit.NANOSECONDS);
            }
        }
    }

    /** Stops checkpointing {@code domain}; returns once no tick for it is running or will run. */
    public void stop(String domain) {
        synchronized (begunAt) { // a tick holds it throughout
            if (begunAt.remove(domain) != null) {
                status.computeIfPresent(domain, (d, s) -> new Status(false, s.lastEpoch(), s.lastError()));
            }
        }
    }

    public Optional<Status> status(String domain) {
        return Optional.ofNullable(status.get(domain));
    }

    public Duration interval() {
        return interval;
    }

    private void tick() {
        synchronized (begunAt) {
            long now = System.nanoTime();
            List<String> due = new ArrayList<>();
            begunAt.forEach((domain, at) -> {
                if (at == NONE_AWAITING || now - at >= ackDelay.toNanos()) {
                    due.add(domain);
                }
            });
            if (due.isEmpty()) {
                return;
            }
            List<CheckpointResult> results;
            try {
                results = service.checkpoint(due);
            } catch (RuntimeException e) { // the database could not even be read: every domain's tick failed
                results = due.stream().map(d -> CheckpointResult.failed(d, e)).toList();
            }
            long begun = System.nanoTime();
            for (CheckpointResult r : results) {
                if (r.succeeded()) {
                    // the epoch just closed (the one before the new one) awaits the simulated ack; the very first
                    // begin closes none
                    begunAt.put(r.domain(), r.begun() > 1 ? begun : NONE_AWAITING);
                    status.put(r.domain(), new Status(true, r.begun(), null));
                } else {
                    log.warn("checkpoint loop for domain {} stopped: {}", r.domain(), r.failure().getMessage());
                    begunAt.remove(r.domain());
                    Status last = status.getOrDefault(r.domain(), new Status(false, 0, null));
                    status.put(r.domain(), new Status(false, last.lastEpoch(), r.failure().getMessage()));
                }
            }
        }
    }

    @Override
    public void close() {
        synchronized (begunAt) {
            begunAt.keySet().forEach(d ->
                    status.computeIfPresent(d, (k, s) -> new Status(false, s.lastEpoch(), s.lastError())));
            begunAt.clear();
        }
        timer.shutdownNow();
    }
}
