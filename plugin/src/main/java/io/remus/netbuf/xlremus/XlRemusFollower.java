package io.remus.netbuf.xlremus;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.remus.netbuf.libc.CheckpointPriority;
import io.remus.netbuf.persistence.DomainProtection;
import io.remus.netbuf.persistence.DomainProtection.Driver;
import io.remus.netbuf.service.CheckpointResult;
import io.remus.netbuf.service.DomainUnprotectedException;
import io.remus.netbuf.service.DriverConflictException;
import io.remus.netbuf.service.FailoverReason;
import io.remus.netbuf.service.NetbufService;
import io.remus.netbuf.service.ProtectionListener;
import io.remus.netbuf.xenstore.Xenstore;
import io.remus.netbuf.xenstore.XenstoreConnection;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Output commit for {@code xl remus -n}, whose libxl (Debian's) cannot buffer: the checkpoints are followed from
 * dom0. For a PVH or HVM guest every checkpoint starts with libxl writing {@code control/shutdown = suspend} in the
 * guest's xenstore directory; the guest acknowledges (writes {@code ""}) and suspends; libxl copies its dirty pages
 * and resumes it, and asks for the next suspend only once that checkpoint is committed. So each suspend request is
 * one checkpoint of the domain's buffers ({@link NetbufService#checkpoint}): the epoch closed at the previous request
 * is released (its checkpoint is committed, or libxl would not ask again) and the open epoch is closed.
 *
 * <p>The one rule: output is never released before the checkpoint whose state includes having sent it is committed.
 * A close before the guest suspends is early, and safe (frames sent meanwhile wait one more epoch); a close after it
 * resumed would put frames of the next checkpoint's state into the epoch released at the next request. So the close
 * runs at once on this class's own thread, and afterwards the request is read again: if the guest has acknowledged
 * it already, or the close took longer than {@code netbuf.xl-remus.late-after} (50 ms), it may have come late, and the next request is let
 * pass without a checkpoint, which holds that epoch one more checkpoint (sch_plug keeps one closed epoch only, so
 * the epoch cannot be kept back while the next is closed). Latency pays for a late close, never correctness. A
 * request seen only after its acknowledgement is not followed: the open epoch then spans two checkpoints, which is
 * late release, never early.
 *
 * <p>When the requests stop (xl killed, the backup lost, the domain gone) the domain's ack deadline releases its
 * output ({@code netbuf.checkpoint.ack-timeout}); a request after that failover (xl remus run again) resumes the
 * protection first. One xenstore connection and one thread serve every followed domain.
 */
public class XlRemusFollower implements ProtectionListener, AutoCloseable {

    private static final String SUSPEND = "suspend";
    private static final String TOKEN_PREFIX = "netbuf-xl-remus:";
    private static final int POLL_MILLIS = 500;
    private static final Logger log = LoggerFactory.getLogger(XlRemusFollower.class);

    /**
     * What the follower has seen of one domain (of one domid: a domain created again starts from 0).
     *
     * @param requests     suspend requests seen
     * @param checkpoints  requests followed by a checkpoint of the buffers
     * @param lateCloses   closes that may have come after the guest suspended
     * @param heldOver     requests let pass without a checkpoint after a late close (its epoch held one more)
     * @param missed       requests seen only after the guest had acknowledged them (not followed: the open epoch
     *                     runs on to the next request)
     * @param resumes      protection resumed at a request after a failover
     * @param holdP50Millis the median, over the last {@value #RECENT} epochs released, of how long an epoch's
     *                     output was held (from the epoch's opening to its release); null before the first
     * @param closeP50Millis the median, over the last {@value #RECENT} checkpoints, of the time from the request
     *                     read to the epoch closed on every vif
     */
    public record Status(String domain, int domid, long requests, long checkpoints, long lateCloses, long heldOver,
                         long missed, long resumes, Double holdP50Millis, Double holdP99Millis, Double closeP50Millis,
                         Double closeP99Millis, Instant lastRequest, String lastError) {
    }

    static final int RECENT = 1024;

    private final NetbufService service;
    private final Supplier<XenstoreConnection> connect;
    /** A close that took longer than this (from the request read to the plug change done) is taken as late. */
    private final Duration lateAfter;
    private final Timer holdTime;
    private final Timer closeTime;
    private final Counter checkpoints;
    private final Counter lateCloses;
    private final Map<String, Followed> byToken = new ConcurrentHashMap<>();
    private final Map<String, Status> statuses = new ConcurrentHashMap<>();
    private final Object lock = new Object();
    private XenstoreConnection xenstore;
    private Thread thread;
    private volatile boolean closed;

    public XlRemusFollower(NetbufService service, MeterRegistry meters, Duration lateAfter) {
        this(service, Xenstore::open, meters, lateAfter);
    }

    XlRemusFollower(NetbufService service, Supplier<XenstoreConnection> connect, MeterRegistry meters,
                    Duration lateAfter) {
        this.service = service;
        this.connect = connect;
        this.lateAfter = lateAfter;
        this.holdTime = Timer.builder("netbuf.xl_remus.hold")
                .description("how long an epoch's output was held, from its epoch's opening to its release")
                .publishPercentileHistogram().register(meters);
        this.closeTime = Timer.builder("netbuf.xl_remus.close")
                .description("from a suspend request read in xenstore to the epoch closed on every vif")
                .publishPercentileHistogram().register(meters);
        this.checkpoints = Counter.builder("netbuf.xl_remus.checkpoints")
                .description("suspend requests of xl remus followed by a checkpoint of the buffers").register(meters);
        this.lateCloses = Counter.builder("netbuf.xl_remus.late_closes")
                .description("closes that may have come after the guest suspended: their epoch held one more"
                        + " checkpoint").register(meters);
        service.addListener(this);
    }

    /**
     * Follows {@code xl remus}'s suspend requests of the Xen domain {@code domid}, buffered as {@code domain}
     * (driver {@link Driver#XL_REMUS}). A second call for the same domain and domid is a no-op.
     *
     * @throws io.remus.netbuf.xenstore.XenstoreException naming the fix if xenstored cannot be reached
     */
    public void follow(String domain, int domid) {
        Driver driver = service.protection(domain).driver();
        if (driver != Driver.XL_REMUS) {
            throw new DriverConflictException(domain, driver, "the xl remus follower does not take it");
        }
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("the xl remus follower is closed");
            }
            Followed existing = byToken.get(TOKEN_PREFIX + domain);
            if (existing != null && existing.domid == domid) {
                return;
            }
            unfollow(domain);
            if (xenstore == null) {
                xenstore = connect.get();
                // Java's thread priorities do nothing on Linux; the checkpoint's nice value does
                thread = Thread.ofPlatform().name("netbuf-xl-remus").daemon().start(() -> {
                    CheckpointPriority.applyToCallingThread();
                    run();
                });
            }
            Followed f = new Followed(domain, domid, service.epochs(domain).awaitingEpoch() != 0);
            byToken.put(f.token, f);
            xenstore.watch(f.path, f.token);
            f.publish();
            log.info("xl remus: following domain {} ({}): a checkpoint of its buffers at each suspend request in {}",
                    domain, domid, f.path);
        }
    }

    /** Stops following {@code domain}; returns once no checkpoint of it is under way. */
    public void unfollow(String domain) {
        synchronized (lock) {
            Followed f = byToken.remove(TOKEN_PREFIX + domain);
            if (f == null) {
                return;
            }
            synchronized (f) { // a checkpoint of it under way ends first
                f.following = false;
            }
            try {
                xenstore.unwatch(f.path, f.token);
            } catch (RuntimeException e) {
                log.debug("xl remus: unwatching {}: {}", f.path, e.getMessage());
            }
        }
    }

    public Optional<Status> status(String domain) {
        return Optional.ofNullable(statuses.get(domain));
    }

    private void run() {
        while (!closed) {
            XenstoreConnection xs;
            synchronized (lock) {
                xs = xenstore;
            }
            try {
                xs.awaitEvent(POLL_MILLIS).ifPresent(e -> {
                    Followed f = byToken.get(e.token());
                    if (f != null) {
                        handle(xs, f);
                    }
                });
            } catch (RuntimeException e) {
                if (closed) {
                    return;
                }
                // xenstored gone or the connection broken: nothing is followed; the deadline releases the output
                log.error("xl remus: reading xenstore failed ({}); suspend requests are not followed, held output"
                        + " is released by each domain's ack deadline", e.getMessage(), e);
                byToken.values().forEach(f -> f.error("xenstore: " + e.getMessage()));
                sleep(POLL_MILLIS);
            }
        }
    }

    /** One watch event of a followed domain's {@code control/shutdown}. */
    private void handle(XenstoreConnection xs, Followed f) {
        synchronized (f) {
            if (!f.following) {
                return;
            }
            long read = System.nanoTime();
            String value = xs.read(f.path).orElse("");
            String failedOver = f.failedOver;
            if (failedOver != null) {
                // the epochs start anew at the resume the next checkpoint makes: nothing awaits release
                f.failedOver = null;
                f.holdOver = false;
                f.awaitingOpenedAt = 0;
                f.openedAt = 0;
                f.lastError = "failed over: " + failedOver;
            }
            if (!value.equals(SUSPEND)) {
                if (value.isEmpty() && f.requestOpen) {
                    f.requestOpen = false; // the guest's acknowledgement of the request followed
                } else if (value.isEmpty() && f.seenAny && !f.missedAckDue) {
                    // a write of "" with no request seen: most likely a request and its ack both written before
                    // this read (its ack's event comes next); the open epoch then runs on to the next request
                    // (safe: released later, not early)
                    f.missed++;
                    f.missedAckDue = true;
                } else if (value.isEmpty()) {
                    f.missedAckDue = false;
                }
                f.seenAny = true;
                f.publish();
                return;
            }
            f.seenAny = true;
            f.missedAckDue = false;
            if (f.requestOpen) {
                return; // the same request, seen again
            }
            f.requestOpen = true;
            f.requests++;
            f.lastRequest = Instant.now();
            if (f.holdOver) {
                f.holdOver = false;
                f.heldOver++;
                f.publish();
                return;
            }
            checkpoint(xs, f, read);
            f.publish();
        }
    }

    private void checkpoint(XenstoreConnection xs, Followed f, long read) {
        CheckpointResult r;
        try {
            r = service.checkpoint(List.of(f.domain)).getFirst();
            if (!r.succeeded() && r.failure() instanceof DomainUnprotectedException) {
                // failed over (its deadline, or by hand) and xl remus asks again: the backup is back
                service.resume(f.domain);
                f.resumes++;
                log.info("xl remus: domain {} was failed over and xl remus checkpoints it again: protection resumed",
                        f.domain);
                r = service.checkpoint(List.of(f.domain)).getFirst();
            }
        } catch (RuntimeException e) {
            r = new CheckpointResult(f.domain, 0, 0, e);
        }
        long closedAt = System.nanoTime();
        if (!r.succeeded()) {
            String message = r.failure().getMessage();
            f.error("checkpoint at suspend request " + f.requests + " failed: " + message);
            log.warn("xl remus: domain {}: the checkpoint at a suspend request failed, failing it over: {}", f.domain,
                    message);
            try {
                service.failover(f.domain, FailoverReason.FOLLOWER_FAILED, "xl remus follower: checkpoint failed: "
                        + message);
            } catch (RuntimeException e) {
                log.error("xl remus: domain {}: failover after a failed checkpoint did not complete: {}", f.domain,
                        e.getMessage(), e);
            }
            return;
        }
        checkpoints.increment();
        f.checkpoints++;
        f.lastError = null;
        closeTime.record(closedAt - read, TimeUnit.NANOSECONDS);
        f.closes.add(closedAt - read);
        if (r.committed() != 0 && f.awaitingOpenedAt != 0) {
            holdTime.record(closedAt - f.awaitingOpenedAt, TimeUnit.NANOSECONDS);
            f.holds.add(closedAt - f.awaitingOpenedAt);
        }
        f.awaitingOpenedAt = r.begun() > 1 ? f.openedAt : 0;
        f.openedAt = closedAt;
        boolean stillRequested = SUSPEND.equals(xs.read(f.path).orElse(""));
        if (!stillRequested || closedAt - read > lateAfter.toNanos()) {
            f.holdOver = true;
            f.lateCloses++;
            lateCloses.increment();
        }
    }

    /** Called under the service's domain lock: only flags it, the follower's thread does the rest. */
    @Override
    public void failedOver(String domain, String reason) {
        Followed f = byToken.get(TOKEN_PREFIX + domain);
        if (f != null) {
            f.failedOver = reason;
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            byToken.clear();
            if (thread != null) {
                thread.interrupt();
                try {
                    thread.join(POLL_MILLIS * 4L);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (xenstore != null) {
                xenstore.close();
                xenstore = null;
            }
        }
    }

    private static void sleep(int millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One followed domain; guarded by itself. */
    private final class Followed {
        final String domain;
        final int domid;
        final String path;
        final String token;
        volatile boolean following = true;
        /** Why the domain was failed over since the last event, or null. */
        volatile String failedOver;
        /** A suspend request was followed and its acknowledgement not seen yet. */
        boolean requestOpen;
        /** The last close may have come late: the next request takes no checkpoint. */
        boolean holdOver;
        boolean seenAny;
        /** A missed request was counted at the first of its two events: the second is its ack. */
        boolean missedAckDue;
        long requests;
        long checkpoints;
        long lateCloses;
        long heldOver;
        long missed;
        long resumes;
        Instant lastRequest;
        String lastError;
        /** System.nanoTime when the open epoch, and the one awaiting release, were opened; 0 if unknown. */
        long openedAt;
        long awaitingOpenedAt;
        /** Hold times of the last RECENT epochs released; close times of the last RECENT checkpoints. */
        final Recent holds = new Recent();
        final Recent closes = new Recent();

        Followed(String domain, int domid, boolean epochAwaiting) {
            this.domain = domain;
            this.domid = domid;
            this.path = "/local/domain/" + domid + "/control/shutdown";
            this.token = TOKEN_PREFIX + domain;
            // an epoch closed before this follower started (a restart) may have closed late: hold it over once
            this.holdOver = epochAwaiting;
        }

        void error(String message) {
            synchronized (this) {
                lastError = message;
                publish();
            }
        }

        void publish() {
            statuses.put(domain, new Status(domain, domid, requests, checkpoints, lateCloses, heldOver, missed,
                    resumes, holds.millis(0.5), holds.millis(0.99), closes.millis(0.5), closes.millis(0.99),
                    lastRequest, lastError));
        }
    }

    /** The last RECENT durations (ns), a ring. */
    private static final class Recent {
        private final long[] values = new long[RECENT];
        private long count;

        void add(long nanos) {
            values[(int) (count++ % RECENT)] = nanos;
        }

        /** The {@code quantile} of them in milliseconds; null if there are none. */
        Double millis(double quantile) {
            int n = (int) Math.min(count, RECENT);
            if (n == 0) {
                return null;
            }
            long[] sorted = java.util.Arrays.copyOf(values, n);
            java.util.Arrays.sort(sorted);
            return sorted[Math.max(0, Math.min(n - 1, (int) Math.ceil(quantile * n) - 1))] / 1e6;
        }
    }
}
