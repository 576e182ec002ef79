package io.remus.netbuf.service;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.remus.netbuf.lifecycle.BufferLifecycle;
import io.remus.netbuf.lifecycle.NetbufException;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugAction;
import io.remus.netbuf.netlink.PlugStats;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.DomainEpochs;
import io.remus.netbuf.persistence.DomainProtection;
import io.remus.netbuf.persistence.DomainProtection.Driver;
import io.remus.netbuf.persistence.DomainStore;
import io.remus.netbuf.persistence.NetbufDatabaseException;
import io.remus.netbuf.service.PlugBatches.Part;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Java API a Remus checkpointer calls, per domain: protect its vifs, begin an epoch at each checkpoint, commit
 * an epoch when the backup acknowledges it, fail over when the backup is lost, stop. A domain's buffers move
 * together, under one lock per domain; {@link #checkpoint} moves many domains in one batch, as the built-in loop
 * does.
 *
 * <p>Epochs follow sch_plug: {@link #beginEpoch} plugs {@code buffer} on every vif, which closes the open epoch
 * (its output is now held until acknowledged) and opens the next; {@link #commitEpoch} releases the closed epoch
 * with {@code release_one}. The plug counts only one closed epoch, so one checkpoint may be in flight at a time:
 * a begin while an epoch awaits its ack is refused.
 *
 * <p>Output is never held forever: each domain has an ack deadline, and {@link #failOverdue} (run by
 * {@link HeldOutputDeadline}) fails over a domain whose oldest held output has waited longer. A failed-over domain
 * is UNPROTECTED until {@link #resume}. Each domain has one driver, the built-in loop or the checkpoint API.
 */
public class NetbufService {

    private static final Logger log = LoggerFactory.getLogger(NetbufService.class);
    /** The longest ack deadline a domain may have. */
    public static final Duration MAX_ACK_TIMEOUT = Duration.ofHours(1);
    /** The shortest: a deadline below the kernel's and the database's own latency would fail healthy domains. */
    public static final Duration MIN_ACK_TIMEOUT = Duration.ofMillis(10);
    private static final long LISTING_MAX_AGE_NANOS = 1_000_000_000L;

    private final BufferLifecycle lifecycle;
    private final BufferStore buffers;
    private final DomainStore domains;
    private final DomainLocks locks = new DomainLocks();
    private final PlugBatches plugs;
    private final PlugStatsReader plugStats;
    private final MeterRegistry meters;
    private final Duration defaultAckTimeout;
    private final ConcurrentMap<String, DomainProtection> protections = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, HeldClock> clocks = new ConcurrentHashMap<>();
    private final List<ProtectionListener> listeners = new CopyOnWriteArrayList<>();
    private final Snapshot<List<ListedBuffer>> listing;

    public NetbufService(BufferLifecycle lifecycle, DomainStore domains, Netlink netlink, MeterRegistry meters) {
        this(lifecycle, domains, netlink, meters, Duration.ofSeconds(2), true);
    }

    /**
     * @param netlink        the lifecycle's socket, which also reads the listings' counters; checkpoints go through
     *                       its {@link Netlink#hotPath} socket
     * @param copyHeldFrames whether each checkpointed vif gets a null tap ({@link Netlink#openNullTap}), so that the
     *                       frames a Xen guest sends are copied out of its pages as they enter the buffer and
     *                       netback completes them at once ({@code netbuf.copy-held-frames})
     */
    public NetbufService(BufferLifecycle lifecycle, DomainStore domains, Netlink netlink, MeterRegistry meters,
                         Duration defaultAckTimeout, boolean copyHeldFrames) {
        checkAckTimeout(defaultAckTimeout, "netbuf.checkpoint.ack-timeout");
        this.defaultAckTimeout = defaultAckTimeout;
        this.meters = meters;
        this.lifecycle = lifecycle;
        this.buffers = lifecycle.store();
        this.domains = domains;
        this.plugs = new PlugBatches(netlink.hotPath(), copyHeldFrames, buffers, domains,
                (domain, failure) -> clock(domain).lastFailure = failure, meters);
        this.plugStats = new PlugStatsReader(netlink, buffers::holdingVif);
        this.listing = new Snapshot<>(LISTING_MAX_AGE_NANOS, System::nanoTime, buffers::writes, this::readListing);
        for (FailoverReason r : FailoverReason.values()) {
            failovers(r);
        }
        domains.allProtections().forEach(p -> protections.put(p.domain(), p));
        // output a previous run left held (its epochs open) is timed from now: its deadline starts with this run
        long now = System.nanoTime();
        Set<String> buffered = new HashSet<>();
        buffers.holdingVif().forEach(b -> buffered.add(b.domain()));
        for (DomainEpochs e : domains.all()) {
            if (e.openEpoch() != 0 && protection(e.domain()).state() == DomainProtection.State.PROTECTED
                    && buffered.contains(e.domain())) {
                clock(e.domain()).heldFrom(now);
            }
        }
    }

    /** The registry the service's meters are in; the checkpoint loop adds its own. */
    public MeterRegistry meters() {
        return meters;
    }

    public void addListener(ProtectionListener listener) {
        listeners.add(listener);
    }

    /** {@link #protect(String, List, Driver)} for a domain the checkpoint API drives. */
    public List<BufferRecord> protect(String domain, List<InterfaceName> vifs) {
        return protect(domain, vifs, Driver.API);
    }

    /**
     * Installs a buffer on each vif of {@code domain}, driven by {@code driver}, each step for all of them at once
     * ({@link BufferLifecycle#install(String, List)}). All or nothing: if a step fails on one vif, every vif is rolled
     * back; if the domain's rows cannot be written, the buffers are torn down again; either failure is thrown.
     */
    public List<BufferRecord> protect(String domain, List<InterfaceName> vifs, Driver driver) {
        return locks.locked(domain, () -> {
            List<BufferRecord> installed = lifecycle.install(domain, vifs);
            try {
                domains.save(DomainEpochs.fresh(domain));
                DomainProtection old = protections.get(domain); // the service writes every row: its copy is current
                DomainProtection p = old != null ? old.protectedAgainBy(driver)
                        : DomainProtection.protectedBy(domain, driver, null);
                domains.save(p);
                protections.put(domain, p);
                clocks.remove(domain);
            } catch (RuntimeException e) {
                try {
                    lifecycle.teardown(installed, false);
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
            return installed;
        });
    }

    /** Checkpoint: closes the open epoch on every vif of the domain and opens the next. Returns its number. */
    public long beginEpoch(String domain) {
        return locks.locked(domain, () -> {
            refuseUnlessApiDriven(domain, "begin refused");
            DomainEpochs e = epochs(domain);
            refuseAfterFailure(e);
            if (e.awaitingEpoch() != 0) {
                throw new EpochRefusedException("domain " + domain + ": epoch " + e.awaitingEpoch()
                        + " is still waiting for the backup's ack; commit it before beginning another");
            }
            Part part = new Part(domain, e.begun(), plugged(domain, live(domain)));
            try {
                domains.save(part.epochs());
            } catch (NetbufDatabaseException notRecorded) {
                throw notRecorded.in(beginRefused(e));
            }
            plugs.plugOne(part, PlugAction.BUFFER);
            clock(domain).begun(System.nanoTime(), Instant.now());
            return part.epochs().openEpoch();
        });
    }

    /** The backup acknowledged {@code epoch}: release its output on every vif of the domain. */
    public void commitEpoch(String domain, long epoch) {
        locks.locked(domain, () -> {
            refuseUnlessApiDriven(domain, "commit refused");
            DomainEpochs e = epochs(domain);
            if (e.awaitingEpoch() == 0 || e.awaitingEpoch() != epoch) {
                throw new EpochRefusedException("domain " + domain + ": epoch " + epoch + " is not awaiting an ack"
                        + (e.awaitingEpoch() == 0 ? " (none is)" : " (epoch " + e.awaitingEpoch() + " is)")
                        + (epoch == e.openEpoch() ? "; it is still open: begin the next epoch to close it" : ""));
            }
            plugs.plugOne(new Part(domain, e, plugged(domain, live(domain))), PlugAction.RELEASE_ONE);
            clock(domain).committed();
            try {
                domains.save(e.committed());
            } catch (NetbufDatabaseException notRecorded) {
                throw notRecorded.in(commitNotRecorded(e));
            }
            return null;
        });
    }

    /**
     * One checkpoint of several domains at once, as the built-in loop takes them: for each, the epoch awaiting the
     * backup's ack (if one does) is committed and the next one begun. The kernel gets one batch of
     * {@code release_one} for all their vifs, then one of {@code buffer}; the database one transaction between the
     * two, which records the commits (after their kernel step) and the new epochs (before theirs), in the same
     * order {@link #commitEpoch} and {@link #beginEpoch} keep. A domain that is refused, whose plug change fails or
     * one of whose plug controls cannot be opened fails alone, as it would on its own; the others go on.
     */
    public List<CheckpointResult> checkpoint(Collection<String> domainNames) {
        return locks.lockedAll(domainNames, this::checkpointLocked);
    }

    private List<CheckpointResult> checkpointLocked(List<String> names) {
        Map<String, DomainEpochs> epochs = new HashMap<>();
        names.forEach(name -> domains.find(name).ifPresent(e -> epochs.put(name, e)));

        Map<String, CheckpointResult> results = new LinkedHashMap<>();
        List<Part> parts = new ArrayList<>();
        for (String name : names) {
            DomainEpochs e = epochs.getOrDefault(name, DomainEpochs.fresh(name));
            try {
                refuseUnprotected(name, "checkpoint refused");
                refuseAfterFailure(e);
                parts.add(new Part(name, e, plugged(name, live(name))));
            } catch (RuntimeException refused) {
                results.put(name, CheckpointResult.failed(name, refused));
            }
        }

        List<Part> acknowledged = parts.stream().filter(p -> p.epochs().awaitingEpoch() != 0).toList();
        Map<String, EpochFailedException> failures = plugs.plugAll(acknowledged, PlugAction.RELEASE_ONE);
        failures.forEach((name, f) -> results.put(name, CheckpointResult.failed(name, f)));
        for (Part p : acknowledged) {
            if (!failures.containsKey(p.domain())) {
                clock(p.domain()).committed();
            }
        }

        List<Part> next = new ArrayList<>();
        for (Part p : parts) {
            if (!failures.containsKey(p.domain())) {
                DomainEpochs e = p.epochs();
                next.add(new Part(p.domain(), (e.awaitingEpoch() != 0 ? e.committed() : e).begun(), p.plugged()));
            }
        }
        try {
            domains.saveAll(next.stream().map(Part::epochs).toList());
        } catch (NetbufDatabaseException notRecorded) {
            for (Part p : next) {
                DomainEpochs e = epochs.getOrDefault(p.domain(), DomainEpochs.fresh(p.domain()));
                results.put(p.domain(), CheckpointResult.failed(p.domain(), notRecorded.in(
                        e.awaitingEpoch() != 0 ? commitNotRecorded(e) + "; " + beginRefused(e) : beginRefused(e))));
            }
            return names.stream().map(results::get).toList();
        }

        failures = plugs.plugAll(next, PlugAction.BUFFER);
        long now = System.nanoTime();
        Instant at = Instant.now(); // once for all: a clock read is a system call where there is no vDSO (UML)
        for (Part p : next) {
            EpochFailedException f = failures.get(p.domain());
            if (f == null) {
                clock(p.domain()).begun(now, at);
            }
            long committedEpoch = epochs.getOrDefault(p.domain(), DomainEpochs.fresh(p.domain())).awaitingEpoch();
            results.put(p.domain(), f != null ? CheckpointResult.failed(p.domain(), f)
                    : CheckpointResult.done(p.domain(), committedEpoch, p.epochs().openEpoch()));
        }
        return names.stream().map(results::get).toList();
    }

    /** The backup is lost, as someone says through the failover API: {@link #failover(String, FailoverReason, String)}. */
    public List<BufferRecord> failover(String domain) {
        return failover(domain, FailoverReason.REQUESTED, "failover requested");
    }

    /**
     * The backup is lost: everything held is released indefinitely on all the domain's vifs in one batch
     * (PLUGGED → RELEASED, each journaled with {@code reason}), and the domain runs on UNPROTECTED until
     * {@link #resume}. A domain already failed over is left as it is.
     *
     * @return the domain's buffers afterwards
     * @throws NetbufException if a vif's release failed (the others are released; the domain is UNPROTECTED)
     */
    public List<BufferRecord> failover(String domain, FailoverReason kind, String reason) {
        return locks.locked(domain, () -> failoverLocked(domain, kind, reason));
    }

    private List<BufferRecord> failoverLocked(String domain, FailoverReason kind, String reason) {
        List<BufferRecord> live = live(domain);
        if (live.isEmpty()) {
            throw new DomainNotBufferedException(domain);
        }
        List<BufferRecord> plugged = live.stream().filter(b -> b.state() == BufferState.PLUGGED).toList();
        if (plugged.isEmpty() && protection(domain).state() == DomainProtection.State.UNPROTECTED) {
            return live;
        }
        // UNPROTECTED, nothing held, before the kernel lets the output go: whoever sees the frames sees the failover
        DomainProtection p = protection(domain).failedOver(reason, Instant.now());
        protections.put(domain, p);
        clock(domain).released();
        failovers(kind).increment();
        RuntimeException releaseFailed = null;
        try {
            lifecycle.releaseAll(plugged, "failover: " + reason);
        } catch (RuntimeException e) {
            releaseFailed = e;
        }
        plugs.closeDomain(domain);
        try {
            domains.save(p);
            domains.save(epochs(domain).settled());
        } catch (NetbufDatabaseException notRecorded) {
            if (releaseFailed == null) {
                releaseFailed = notRecorded;
            } else {
                releaseFailed.addSuppressed(notRecorded);
            }
        }
        log.warn("domain {} failed over, its output released on {}: {}", domain,
                plugged.stream().map(BufferRecord::vif).toList(), reason);
        listeners.forEach(l -> l.failedOver(domain, reason));
        if (releaseFailed != null) {
            throw releaseFailed;
        }
        return live(domain);
    }

    /**
     * Protects a failed-over domain again, without a teardown: its buffers go RELEASED → PLUGGED (journaled), its
     * epochs start anew (the next begin opens epoch 1), and its driver takes it again.
     *
     * @throws EpochRefusedException if the domain is not failed over, or has buffers that are not RELEASED
     */
    public List<BufferRecord> resume(String domain) {
        List<BufferRecord> resumed = locks.locked(domain, () -> {
            DomainProtection p = protection(domain);
            List<BufferRecord> live = live(domain);
            if (live.isEmpty()) {
                throw new DomainNotBufferedException(domain);
            }
            if (p.state() != DomainProtection.State.UNPROTECTED) {
                throw new EpochRefusedException("domain " + domain + " is not failed over: it is "
                        + p.state() + "; there is nothing to resume");
            }
            List<String> notReleased = live.stream().filter(b -> b.state() != BufferState.RELEASED)
                    .map(b -> b.vif() + " " + b.state()).toList();
            if (!notReleased.isEmpty()) {
                throw new EpochRefusedException("domain " + domain + " cannot resume: buffers not RELEASED "
                        + notReleased + "; stop the domain and start it again");
            }
            List<BufferRecord> out = lifecycle.resumeAll(live);
            DomainProtection resumedP = p.resumed();
            domains.save(epochs(domain).settled());
            domains.save(resumedP);
            protections.put(domain, resumedP);
            clock(domain).released();
            return out;
        });
        Driver driver = protection(domain).driver();
        listeners.forEach(l -> l.resumed(domain, driver));
        return resumed;
    }

    /**
     * The domain stops: every buffer passes through RELEASED (nothing held is dropped) and is torn down; a FAILED
     * buffer has what is left of it removed.
     */
    public void stop(String domain) {
        tearDown(domain, false);
    }

    /**
     * The domain is gone (destroyed, or its host died): its buffers are torn down and what they hold is dropped
     * with it, never let out: that output was never committed to a backup (which, if there is one, sends it again).
     */
    public void gone(String domain) {
        tearDown(domain, true);
    }

    private void tearDown(String domain, boolean dropHeld) {
        locks.locked(domain, () -> {
            RuntimeException first = null;
            clocks.remove(domain);
            plugs.closeDomain(domain);
            try {
                lifecycle.teardown(live(domain), dropHeld);
            } catch (RuntimeException e) {
                first = e;
            }
            try {
                domains.save(epochs(domain).settled());
            } catch (NetbufDatabaseException notRecorded) {
                if (first == null) {
                    throw notRecorded;
                }
                first.addSuppressed(notRecorded);
            }
            if (first != null) {
                throw first;
            }
            return null;
        });
    }

    // ---------------------------------------------------------------- the deadline

    /**
     * Fails over every domain whose oldest held output has waited longer than its ack deadline at {@code now}
     * (System.nanoTime), each on its own: one that fails does not keep the others from theirs. Never early: the
     * age is checked again under the domain's lock, after any commit in flight.
     */
    public void failOverdue(long now) {
        List<String> overdue = new ArrayList<>();
        clocks.forEach((domain, clock) -> {
            if (clock.heldLongerThan(ackTimeout(domain), now)) {
                overdue.add(domain);
            }
        });
        for (String domain : overdue) {
            try {
                failIfOverdue(domain);
            } catch (RuntimeException e) {
                log.error("domain {}: failover after its ack deadline failed: {}", domain, e.getMessage(), e);
            }
        }
    }

    private void failIfOverdue(String domain) {
        locks.locked(domain, () -> {
            HeldClock clock = clocks.get(domain);
            long now = System.nanoTime();
            Duration timeout = ackTimeout(domain);
            if (clock == null || !clock.heldLongerThan(timeout, now)) {
                return null;
            }
            DomainEpochs e = epochs(domain);
            String what = e.awaitingEpoch() != 0 ? "epoch " + e.awaitingEpoch() + " not acknowledged"
                    : "no checkpoint since epoch " + e.openEpoch() + " began";
            failoverLocked(domain, FailoverReason.ACK_OVERDUE, String.format(java.util.Locale.ROOT,
                    "backup ack overdue: output held %.1f s, deadline %s (%s)", (now - clock.heldSince) / 1e9,
                    seconds(timeout), what));
            return null;
        });
    }

    /** Sets the domain's own ack deadline; null goes back to the configured default. */
    public DomainProtection setAckTimeout(String domain, Duration timeout) {
        if (timeout != null) {
            checkAckTimeout(timeout, "ack timeout of domain " + domain);
        }
        return locks.locked(domain, () -> {
            if (live(domain).isEmpty()) {
                throw new DomainNotBufferedException(domain);
            }
            DomainProtection p = protection(domain).withAckTimeout(timeout);
            domains.save(p);
            protections.put(domain, p);
            return p;
        });
    }

    public Duration ackTimeout(String domain) {
        Duration own = protection(domain).ackTimeout();
        return own != null ? own : defaultAckTimeout;
    }

    public Duration defaultAckTimeout() {
        return defaultAckTimeout;
    }

    private static void checkAckTimeout(Duration timeout, String what) {
        if (timeout.compareTo(MIN_ACK_TIMEOUT) < 0 || timeout.compareTo(MAX_ACK_TIMEOUT) > 0) {
            throw new IllegalArgumentException(what + " must be between " + MIN_ACK_TIMEOUT.toMillis() + " ms and "
                    + MAX_ACK_TIMEOUT.toHours() + " h; got " + timeout.toMillis() + " ms");
        }
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    // ---------------------------------------------------------------- what the admin sees

    /** The domain's protection: recorded, or (never recorded: buffered by an earlier version) PROTECTED by the API. */
    public DomainProtection protection(String domain) {
        DomainProtection p = protections.get(domain);
        return p != null ? p : DomainProtection.protectedBy(domain, Driver.API, null);
    }

    /** The status of every domain that holds a vif now, by name. */
    public List<DomainStatus> statuses() {
        Map<String, DomainEpochs> epochs = new HashMap<>();
        domains.all().forEach(e -> epochs.put(e.domain(), e));
        return buffers.holdingVif().stream().map(BufferRecord::domain).distinct().sorted()
                .map(d -> status(d, epochs.getOrDefault(d, DomainEpochs.fresh(d)))).toList();
    }

    public DomainStatus status(String domain) {
        return status(domain, epochs(domain));
    }

    private DomainStatus status(String domain, DomainEpochs epochs) {
        HeldClock clock = clocks.get(domain);
        long since = clock == null ? HeldClock.NOT_HELD : clock.heldSince;
        Duration heldFor = since == HeldClock.NOT_HELD ? null : Duration.ofNanos(System.nanoTime() - since);
        return new DomainStatus(domain, protection(domain), ackTimeout(domain), epochs, heldFor,
                clock == null ? null : clock.lastCheckpoint, clock == null ? 0 : clock.rate(),
                clock == null ? null : clock.lastFailure);
    }

    /** Records a failure of the domain's checkpoints that the service itself did not see (the loop's). */
    public void noteFailure(String domain, String failure) {
        clock(domain).lastFailure = failure;
    }

    /** A buffer as the listing shows it: its row, its plug's counters (null without) and its domain's open epoch. */
    public record ListedBuffer(BufferRecord buffer, PlugStats stats, long openEpoch) {
    }

    /**
     * Every buffer, as {@code GET /api/netbuf/buffers} lists it: the rows, the domains' epochs in one read, the
     * counters from the once-a-second snapshot ({@link #stats(Collection)}). Read at most once a second however many
     * clients poll, and again at once after any write to the buffers' rows ({@link BufferStore#writes}: a protect,
     * stop, failover or resume, a recovery): a listing shows those at once, and its epochs and counters up to a
     * second old. Takes no lock of the checkpoint's. A listing does not fail
     * because the kernel could not be read: its buffers come without counters then; a database that cannot be
     * read fails it, for the second, as the counters' snapshot keeps a failed dump.
     */
    public List<ListedBuffer> listing() {
        return listing.get();
    }

    private List<ListedBuffer> readListing() {
        List<BufferRecord> all = buffers.all();
        Map<Long, PlugStats> stats;
        try {
            stats = plugStats.stats(all);
        } catch (RuntimeException e) {
            log.warn("cannot read the plug counters for the buffer listing: {}", e.getMessage());
            stats = Map.of();
        }
        Map<String, Long> openEpochs = new HashMap<>();
        domains.all().forEach(e -> openEpochs.put(e.domain(), e.openEpoch()));
        Map<Long, PlugStats> counters = stats;
        return all.stream().map(b -> new ListedBuffer(b, counters.get(b.id()), openEpochs.getOrDefault(b.domain(), 0L)))
                .toList();
    }

    public DomainEpochs epochs(String domain) {
        return domains.find(domain).orElse(DomainEpochs.fresh(domain));
    }

    /**
     * The plug's counters for a PLUGGED or RELEASED buffer, or empty (no plug, or its ifb is gone, or it was not
     * there yet): from the snapshot of every buffer's counters, read from the kernel at most once a second
     * ({@link PlugStatsReader}), so they may be up to a second old.
     */
    public Optional<PlugStats> stats(BufferRecord b) {
        return plugStats.stats(b);
    }

    /**
     * The plug counters of each of {@code buffers} that has them (PLUGGED or RELEASED, its ifb and plug there),
     * by buffer id: from the same snapshot, up to a second old; however many call, the kernel is read (one link
     * dump and one qdisc dump, on the main socket, never the hot path's) at most once a second.
     */
    public Map<Long, PlugStats> stats(Collection<BufferRecord> buffers) {
        return plugStats.stats(buffers);
    }

    /** The buffers holding a vif and their plugs' counters, from the same snapshot, up to a second old. */
    PlugStatsReader.LiveBuffers liveBuffers() {
        return plugStats.live();
    }

    /** How many plug controls are open (for the tests: a domain's are closed when it fails over or stops). */
    int openControls() {
        return plugs.openControls();
    }

    private static void refuseAfterFailure(DomainEpochs e) {
        if (e.failure() != null) {
            throw new EpochRefusedException("domain " + e.domain() + " had a failed epoch (" + e.failure()
                    + "): fail over or stop it");
        }
    }

    // Write-ahead: a begin is recorded (the closed epoch awaiting its ack) before the kernel closes the epoch.
    // sch_plug counts one closed epoch; a closed epoch the database did not know of would let the next begin close
    // another over it, and the commit after that would release the first epoch's frames by the second's count,
    // letting unacknowledged output out. Recorded but not closed is harmless: its commit releases nothing.
    private static String beginRefused(DomainEpochs e) {
        return "domain " + e.domain() + ": begin epoch " + (e.openEpoch() + 1)
                + " refused, the kernel was not changed (epoch " + e.openEpoch() + " stays open)";
    }

    // A commit goes the other way, the kernel first: until the record says the epoch was committed, no new epoch
    // begins, and committing it again releases nothing more (the plug has no closed epoch left).
    private static String commitNotRecorded(DomainEpochs e) {
        return "domain " + e.domain() + ": commit epoch " + e.awaitingEpoch() + " released its output in the"
                + " kernel, but the database still has it awaiting its ack: no new epoch begins until it is"
                + " committed again, which releases nothing more";
    }

    private List<BufferRecord> live(String domain) {
        return buffers.holdingVif(domain);
    }

    private static List<BufferRecord> plugged(String domain, List<BufferRecord> live) {
        if (live.isEmpty()) {
            throw new DomainNotBufferedException(domain);
        }
        List<BufferRecord> plugged = live.stream().filter(b -> b.state() == BufferState.PLUGGED).toList();
        if (plugged.size() != live.size()) {
            throw new EpochRefusedException("domain " + domain + " has buffers that are not PLUGGED: "
                    + live.stream().map(b -> b.vif() + " " + b.state()).toList());
        }
        return plugged;
    }

    private void refuseUnlessApiDriven(String domain, String refused) {
        DomainProtection p = protection(domain);
        if (p.driver() != Driver.API) {
            throw new DriverConflictException(domain, p.driver(), refused + ": the checkpoint API does not drive it");
        }
        refuseUnprotected(domain, refused);
    }

    private void refuseUnprotected(String domain, String refused) {
        DomainProtection p = protection(domain);
        if (p.state() == DomainProtection.State.UNPROTECTED) {
            throw new DomainUnprotectedException(domain, p.reason(), refused);
        }
    }

    private Counter failovers(FailoverReason reason) {
        return Counter.builder("netbuf.failovers").description("domains failed over: their output released")
                .tag("reason", reason.tag()).register(meters);
    }

    private HeldClock clock(String domain) {
        return clocks.computeIfAbsent(domain, d -> new HeldClock());
    }
}
