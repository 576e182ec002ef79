package io.remus.netbuf.service;

import java.time.Duration;
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
 * commits the epoch awaiting an ack (once the simulated ack delay has passed) and begins the next one, so the
 * whole flow runs on one machine. A failure stops the loop for that domain and is kept for the admin to see; the
 * domain's buffers stay as the failure left them until failover or stop.
 */
public class CheckpointLoop implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CheckpointLoop.class);

    /** What the loop is doing for one domain. */
    public record Status(boolean running, long lastEpoch, String lastError) {
    }

    private final NetbufService service;
    private final Duration interval;
    private final Duration ackDelay;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().daemon().name("netbuf-checkpoint").unstarted(r));
    private final Map<String, ScheduledFuture<?>> loops = new ConcurrentHashMap<>();
    private final Map<String, Status> status = new ConcurrentHashMap<>();
    private final Map<String, Long> awaitingSince = new ConcurrentHashMap<>();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();

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
        loops.computeIfAbsent(domain, d -> {
            status.put(d, new Status(true, 0, null));
            return timer.scheduleAtFixedRate(() -> tick(d), 0, interval.toNanos(), TimeUnit.NANOSECONDS);
        });
    }

    /** Stops checkpointing {@code domain}; returns once no tick for it is running or will run. */
    public void stop(String domain) {
        synchronized (lock(domain)) {
            ScheduledFuture<?> loop = loops.remove(domain);
            if (loop != null) {
                loop.cancel(false);
                status.computeIfPresent(domain, (d, s) -> new Status(false, s.lastEpoch(), s.lastError()));
            }
            awaitingSince.remove(domain);
        }
    }

    private Object lock(String domain) {
        return locks.computeIfAbsent(domain, d -> new Object());
    }

    public Optional<Status> status(String domain) {
        return Optional.ofNullable(status.get(domain));
    }

    public Duration interval() {
        return interval;
    }

    private void tick(String domain) {
        synchronized (lock(domain)) {
            if (loops.containsKey(domain)) {
                checkpoint(domain);
            }
        }
    }

    private void checkpoint(String domain) {
        try {
            long awaiting = service.epochs(domain).awaitingEpoch();
            if (awaiting != 0) {
                long since = awaitingSince.getOrDefault(domain, 0L);
                if (System.nanoTime() - since < ackDelay.toNanos()) {
                    return; // the simulated backup has not acknowledged yet
                }
                service.commitEpoch(domain, awaiting);
            }
            long epoch = service.beginEpoch(domain);
            awaitingSince.put(domain, System.nanoTime());
            status.put(domain, new Status(true, epoch, null));
        } catch (RuntimeException e) {
            log.warn("checkpoint loop for domain {} stopped: {}", domain, e.getMessage());
            ScheduledFuture<?> loop = loops.remove(domain);
            if (loop != null) {
                loop.cancel(false);
            }
            Status last = status.getOrDefault(domain, new Status(false, 0, null));
            status.put(domain, new Status(false, last.lastEpoch(), e.getMessage()));
        }
    }

    @Override
    public void close() {
        loops.keySet().forEach(this::stop);
        timer.shutdownNow();
    }
}
