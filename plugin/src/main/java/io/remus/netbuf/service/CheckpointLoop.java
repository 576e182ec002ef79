package io.remus.netbuf.service;

import io.micrometer.core.instrument.Timer;
import io.remus.netbuf.libc.CheckpointPriority;
import io.remus.netbuf.persistence.DomainProtection.Driver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
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
 * later tick.
 *
 * <p>A domain fails alone: whatever its checkpoint throws (a kernel or database error, an {@link Error}), the loop
 * drops it and fails it over (its output released: nobody checkpoints it any more), and the other domains' ticks go
 * on. If the batch as a whole throws, each domain is checkpointed on its own, so only the ones that fail are failed
 * over. Nothing a tick throws stops the timer; an {@link Error} is kept for health to report.
 */
public class CheckpointLoop implements ProtectionListener, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CheckpointLoop.class);
    private static final long NONE_AWAITING = Long.MIN_VALUE;

    /** What the loop is doing for one domain. */
    public record Status(boolean running, long lastEpoch, String lastError) {
    }

    /** One checkpoint of several domains; {@link NetbufService#checkpoint} in production. */
    @FunctionalInterface
    public interface Checkpointer {
        List<CheckpointResult> checkpoint(List<String> domains);
    }

    private final NetbufService service;
    private final Checkpointer checkpointer;
    private final Duration interval;
    private final Duration ackDelay;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().daemon().name("netbuf-checkpoint").unstarted(() -> {
                CheckpointPriority.applyToCallingThread();
                r.run();
            }));
    /** Failovers and the domains' comings and goings, off the tick (which must not wait for them). */
    private final ExecutorService background = Executors.newSingleThreadExecutor(r ->
            Thread.ofPlatform().daemon().name("netbuf-loop-failover").unstarted(r));
    private final Map<String, Status> status = new ConcurrentHashMap<>();
    /**
     * The loop's domains, each with the time (System.nanoTime) its awaiting epoch was closed, or NONE_AWAITING.
     * Guarded by itself.
     */
    private final Map<String, Long> begunAt = new HashMap<>();
    private ScheduledFuture<?> ticks;
    private volatile Throwable error;
    /** Each tick that checkpointed something: what the loop costs the host, as its domains grow. */
    private final Timer tickTime;

    public CheckpointLoop(NetbufService service, Duration interval, Duration ackDelay) {
        this(service, service::checkpoint, interval, ackDelay);
    }

    public CheckpointLoop(NetbufService service, Checkpointer checkpointer, Duration interval, Duration ackDelay) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("checkpoint interval must be positive: " + interval);
        }
        this.service = service;
        this.checkpointer = checkpointer;
        this.interval = interval;
        this.ackDelay = ackDelay;
        this.tickTime = Timer.builder("netbuf.checkpoint.tick")
                .description("one tick of the built-in checkpoint loop: all its due domains checkpointed together")
                .register(service.meters());
        service.addListener(this);
    }

    /**
     * Starts checkpointing {@code domain} every interval; a second start is a no-op.
     *
     * @throws DriverConflictException if the checkpoint API drives the domain
     */
    public void start(String domain) {
        Driver driver = service.protection(domain).driver();
        if (driver != Driver.LOOP) {
            throw new DriverConflictException(domain, driver, "the built-in checkpoint loop does not take it");
        }
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

    /** The last {@link Error} a tick threw, for health; null if none. */
    public Throwable error() {
        return error;
    }

    @Override
    public void failedOver(String domain, String reason) {
        try {
            background.execute(() -> {
                synchronized (begunAt) {
                    if (begunAt.remove(domain) != null) {
                        status.computeIfPresent(domain, (d, s) -> new Status(false, s.lastEpoch(),
                                "failed over: " + reason));
                    }
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            // the loop is closed (a server stop fails its domains over afterwards): it checkpoints nothing any more
        }
    }

    @Override
    public void resumed(String domain, Driver driver) {
        if (driver == Driver.LOOP) {
            background.execute(() -> start(domain));
        }
    }

    private void tick() {
        try {
            synchronized (begunAt) {
                tickLocked();
            }
        } catch (Throwable t) { // a throw would end scheduleAtFixedRate silently, black-holing every domain
            error = t;
            log.error("checkpoint loop tick failed; the loop goes on: {}", t.toString(), t);
        }
    }

    private void tickLocked() {
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
        List<CheckpointResult> results = checkpointEach(due);
        long begun = System.nanoTime();
        tickTime.record(begun - now, TimeUnit.NANOSECONDS);
        for (CheckpointResult r : results) {
            if (r.succeeded()) {
                // the epoch just closed (the one before the new one) awaits the simulated ack; the very first
                // begin closes none
                begunAt.put(r.domain(), r.begun() > 1 ? begun : NONE_AWAITING);
                status.put(r.domain(), new Status(true, r.begun(), null));
            } else {
                drop(r.domain(), r.failure());
            }
        }
    }

    /** All of them in one batch; if the batch itself throws, each on its own, so that only the failing ones fail. */
    private List<CheckpointResult> checkpointEach(List<String> due) {
        try {
            return checkpointer.checkpoint(due);
        } catch (Throwable batch) {
            remember(batch);
            if (due.size() == 1) {
                return List.of(CheckpointResult.failed(due.getFirst(), asRuntime(batch)));
            }
            log.warn("checkpoint of {} domains failed as a whole ({}); checkpointing each on its own", due.size(),
                    batch.toString());
            List<CheckpointResult> results = new ArrayList<>(due.size());
            for (String domain : due) {
                try {
                    results.add(checkpointer.checkpoint(List.of(domain)).getFirst());
                } catch (Throwable t) {
                    remember(t);
                    results.add(CheckpointResult.failed(domain, asRuntime(t)));
                }
            }
            return results;
        }
    }

    /** The loop no longer checkpoints the domain; unless it was failed over already, it is now. */
    private void drop(String domain, RuntimeException failure) {
        begunAt.remove(domain);
        String message = failure.getMessage();
        Status last = status.getOrDefault(domain, new Status(false, 0, null));
        status.put(domain, new Status(false, last.lastEpoch(), message));
        if (failure instanceof DomainUnprotectedException) {
            return; // failed over by someone else (its deadline): nothing more to release
        }
        log.warn("checkpoint loop failed for domain {}, failing it over: {}", domain, message);
        background.execute(() -> {
            try {
                service.noteFailure(domain, "checkpoint loop failed: " + message);
                service.failover(domain, FailoverReason.LOOP_FAILED, "checkpoint loop failed: " + message);
            } catch (RuntimeException e) {
                log.error("domain {}: failover after its checkpoint failed did not complete: {}", domain,
                        e.getMessage(), e);
            }
        });
    }

    private void remember(Throwable t) {
        if (t instanceof Error) {
            error = t;
        }
    }

    private static RuntimeException asRuntime(Throwable t) {
        return t instanceof RuntimeException r ? r : new IllegalStateException(t.toString(), t);
    }

    @Override
    public void close() {
        synchronized (begunAt) {
            begunAt.keySet().forEach(d ->
                    status.computeIfPresent(d, (k, s) -> new Status(false, s.lastEpoch(), s.lastError())));
            begunAt.clear();
        }
        timer.shutdownNow();
        background.shutdown();
        try {
            background.awaitTermination(10, TimeUnit.SECONDS); // a failover under way finishes
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
