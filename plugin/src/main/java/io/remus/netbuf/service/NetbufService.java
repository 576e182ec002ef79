package io.remus.netbuf.service;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.remus.netbuf.lifecycle.BufferLifecycle;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Link;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugAction;
import io.remus.netbuf.netlink.PlugControl;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.PlugStats;
import io.remus.netbuf.netlink.TcHandle;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.DomainEpochs;
import io.remus.netbuf.persistence.DomainStore;
import io.remus.netbuf.persistence.JournalEntry.Outcome;
import io.remus.netbuf.persistence.NetbufDatabaseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.locks.ReentrantLock;

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
 */
public class NetbufService {

    private final BufferLifecycle lifecycle;
    private final BufferStore buffers;
    private final DomainStore domains;
    private final Netlink netlink;
    private final ConcurrentMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final ConcurrentMap<Long, PlugControl> controls = new ConcurrentHashMap<>();
    private final Timer beginTimer;
    private final Timer commitTimer;
    private final Counter begun;
    private final Counter committed;
    private final Counter failed;

    public NetbufService(BufferLifecycle lifecycle, DomainStore domains, Netlink netlink, MeterRegistry meters) {
        this.lifecycle = lifecycle;
        this.buffers = lifecycle.store();
        this.domains = domains;
        this.netlink = netlink;
        this.beginTimer = Timer.builder("netbuf.epoch.begin")
                .description("plug buffer on every vif of a batch of domains").register(meters);
        this.commitTimer = Timer.builder("netbuf.epoch.commit")
                .description("release_one on every vif of a batch of domains").register(meters);
        this.begun = Counter.builder("netbuf.epochs.begun").register(meters);
        this.committed = Counter.builder("netbuf.epochs.committed").register(meters);
        this.failed = Counter.builder("netbuf.epochs.failed").register(meters);
    }

    /**
     * Installs a buffer on each vif of {@code domain}. All or nothing: if one fails, the ones installed are torn
     * down again and the failure is thrown.
     */
    public List<BufferRecord> protect(String domain, List<InterfaceName> vifs) {
        ReentrantLock lock = lock(domain);
        lock.lock();
        try {
            List<BufferRecord> installed = new ArrayList<>();
            try {
                for (InterfaceName vif : vifs) {
                    installed.add(lifecycle.install(domain, vif));
                }
            } catch (RuntimeException e) {
                for (BufferRecord b : installed) {
                    try {
                        lifecycle.teardown(b.id());
                    } catch (RuntimeException suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
                throw e;
            }
            domains.save(DomainEpochs.fresh(domain));
            return installed;
        } finally {
            lock.unlock();
        }
    }

    /** Checkpoint: closes the open epoch on every vif of the domain and opens the next. Returns its number. */
    public long beginEpoch(String domain) {
        ReentrantLock lock = lock(domain);
        lock.lock();
        try {
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
            throwIfFailed(plugAll(List.of(part), PlugAction.BUFFER), domain);
            return part.epochs().openEpoch();
        } finally {
            lock.unlock();
        }
    }

    /** The backup acknowledged {@code epoch}: release its output on every vif of the domain. */
    public void commitEpoch(String domain, long epoch) {
        ReentrantLock lock = lock(domain);
        lock.lock();
        try {
            DomainEpochs e = epochs(domain);
            if (e.awaitingEpoch() == 0 || e.awaitingEpoch() != epoch) {
                throw new EpochRefusedException("domain " + domain + ": epoch " + epoch + " is not awaiting an ack"
                        + (e.awaitingEpoch() == 0 ? " (none is)" : " (epoch " + e.awaitingEpoch() + " is)")
                        + (epoch == e.openEpoch() ? "; it is still open: begin the next epoch to close it" : ""));
            }
            throwIfFailed(plugAll(List.of(new Part(domain, e, plugged(domain, live(domain)))), PlugAction.RELEASE_ONE),
                    domain);
            try {
                domains.save(e.committed());
            } catch (NetbufDatabaseException notRecorded) {
                throw notRecorded.in(commitNotRecorded(e));
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * One checkpoint of several domains at once, as the built-in loop takes them: for each, the epoch awaiting the
     * backup's ack (if one does) is committed and the next one begun. The kernel gets one batch of
     * {@code release_one} for all their vifs, then one of {@code buffer}; the database one transaction between the
     * two, which records the commits (after their kernel step) and the new epochs (before theirs), in the same
     * order {@link #commitEpoch} and {@link #beginEpoch} keep. A domain that is refused or whose plug change fails
     * fails alone, as it would on its own; the others go on.
     */
    public List<CheckpointResult> checkpoint(Collection<String> domainNames) {
        List<String> names = domainNames.stream().distinct().sorted().toList(); // one lock order: no deadlock
        List<ReentrantLock> held = new ArrayList<>(names.size());
        try {
            for (String name : names) {
                ReentrantLock lock = lock(name);
                lock.lock();
                held.add(lock);
            }
            return checkpointLocked(names);
        } finally {
            held.forEach(ReentrantLock::unlock);
        }
    }

    private List<CheckpointResult> checkpointLocked(List<String> names) {
        Map<String, DomainEpochs> epochs = new HashMap<>();
        domains.all().forEach(e -> epochs.put(e.domain(), e));
        Map<String, List<BufferRecord>> live = new HashMap<>();
        buffers.holdingVif().forEach(b -> live.computeIfAbsent(b.domain(), d -> new ArrayList<>()).add(b));

        Map<String, CheckpointResult> results = new LinkedHashMap<>();
        List<Part> parts = new ArrayList<>();
        for (String name : names) {
            DomainEpochs e = epochs.getOrDefault(name, DomainEpochs.fresh(name));
            try {
                refuseAfterFailure(e);
                parts.add(new Part(name, e, plugged(name, live.getOrDefault(name, List.of()))));
            } catch (RuntimeException refused) {
                results.put(name, CheckpointResult.failed(name, refused));
            }
        }

        List<Part> acknowledged = parts.stream().filter(p -> p.epochs().awaitingEpoch() != 0).toList();
        Map<String, EpochFailedException> failures = plugAll(acknowledged, PlugAction.RELEASE_ONE);
        failures.forEach((name, f) -> results.put(name, CheckpointResult.failed(name, f)));

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

        failures = plugAll(next, PlugAction.BUFFER);
        for (Part p : next) {
            EpochFailedException f = failures.get(p.domain());
            long committedEpoch = epochs.getOrDefault(p.domain(), DomainEpochs.fresh(p.domain())).awaitingEpoch();
            results.put(p.domain(), f != null ? CheckpointResult.failed(p.domain(), f)
                    : CheckpointResult.done(p.domain(), committedEpoch, p.epochs().openEpoch()));
        }
        return names.stream().map(results::get).toList();
    }

    /** The backup is lost: release everything held, indefinitely (PLUGGED → RELEASED); the guest runs unprotected. */
    public List<BufferRecord> failover(String domain) {
        ReentrantLock lock = lock(domain);
        lock.lock();
        try {
            List<BufferRecord> out = new ArrayList<>();
            for (BufferRecord b : live(domain)) {
                if (b.state() == BufferState.PLUGGED) {
                    out.add(lifecycle.release(b.id()));
                }
            }
            domains.save(epochs(domain).settled());
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** The domain stops: every buffer passes through RELEASED (nothing held is dropped) and is torn down. */
    public void stop(String domain) {
        ReentrantLock lock = lock(domain);
        lock.lock();
        try {
            RuntimeException first = null;
            for (BufferRecord b : live(domain)) {
                closeControl(b.id());
                try {
                    lifecycle.teardown(b.id());
                } catch (RuntimeException e) {
                    if (first == null) {
                        first = e;
                    } else {
                        first.addSuppressed(e);
                    }
                }
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
        } finally {
            lock.unlock();
        }
    }

    public DomainEpochs epochs(String domain) {
        return domains.find(domain).orElse(DomainEpochs.fresh(domain));
    }

    /** The plug's counters for a PLUGGED or RELEASED buffer, or empty (no plug, or its ifb is gone). */
    public Optional<PlugStats> stats(BufferRecord b) {
        if (!hasPlug(b)) {
            return Optional.empty();
        }
        return netlink.findLink(InterfaceName.of(b.ifb())).flatMap(ifb -> netlink.plugStats(plugOf(b, ifb)));
    }

    /**
     * The plug counters of each of {@code buffers} that has them (PLUGGED or RELEASED, its ifb and plug there),
     * by buffer id: one link dump and one qdisc dump for all of them.
     */
    public Map<Long, PlugStats> stats(Collection<BufferRecord> buffers) {
        List<BufferRecord> withPlug = buffers.stream().filter(NetbufService::hasPlug).toList();
        if (withPlug.isEmpty()) {
            return Map.of();
        }
        Map<String, Link> ifbs = new HashMap<>();
        netlink.ifbLinks().forEach(l -> ifbs.put(l.name().value(), l));
        Map<Long, PlugQdisc> plugs = new HashMap<>();
        for (BufferRecord b : withPlug) {
            Link ifb = ifbs.get(b.ifb());
            if (ifb != null) {
                plugs.put(b.id(), plugOf(b, ifb));
            }
        }
        Map<PlugQdisc, PlugStats> found = netlink.plugStats(plugs.values());
        Map<Long, PlugStats> stats = new HashMap<>();
        plugs.forEach((id, plug) -> {
            PlugStats s = found.get(plug);
            if (s != null) {
                stats.put(id, s);
            }
        });
        return stats;
    }

    /** Whether the buffer is in a state with a plug qdisc on its ifb. */
    private static boolean hasPlug(BufferRecord b) {
        return b.ifb() != null && (b.state() == BufferState.PLUGGED || b.state() == BufferState.RELEASED);
    }

    private static PlugQdisc plugOf(BufferRecord b, Link ifb) {
        return new PlugQdisc(ifb, new TcHandle(b.plugHandle()), b.limitBytes());
    }

    /** A domain in a plug batch: its epochs (as they will be once the batch is done) and its PLUGGED buffers. */
    private record Part(String domain, DomainEpochs epochs, List<BufferRecord> plugged) {
    }

    /**
     * The plug change on every vif of every part, in one batch (one system call for all of them). A domain one of
     * whose vifs fails has its epoch failed, naming the vifs it was done on and the ones it was not; the
     * failures, by domain, are returned.
     */
    private Map<String, EpochFailedException> plugAll(List<Part> parts, PlugAction action) {
        int n = parts.stream().mapToInt(p -> p.plugged().size()).sum();
        if (n == 0) {
            return Map.of();
        }
        PlugControl[] batch = new PlugControl[n];
        int i = 0;
        for (Part p : parts) {
            for (BufferRecord b : p.plugged()) {
                batch[i++] = control(b);
            }
        }
        int[] errors = new int[n];
        RuntimeException whole = null;
        long started = System.nanoTime();
        try {
            netlink.plugBatch(batch, n, action, errors);
        } catch (RuntimeException e) {
            java.util.Arrays.fill(errors, -1);
            whole = e;
        }
        (action == PlugAction.BUFFER ? beginTimer : commitTimer)
                .record(System.nanoTime() - started, java.util.concurrent.TimeUnit.NANOSECONDS);

        Map<String, EpochFailedException> failures = new HashMap<>();
        int first = 0;
        for (Part p : parts) {
            int last = first + p.plugged().size();
            boolean ok = true;
            for (int j = first; j < last && ok; j++) {
                ok = errors[j] == 0;
            }
            if (ok) {
                (action == PlugAction.BUFFER ? begun : committed).increment();
            } else {
                failures.put(p.domain(), epochFailed(p, action, batch, errors, first, whole));
            }
            first = last;
        }
        return failures;
    }

    /** Records a domain's failed plug change (journal of each failed vif, the domain's epochs) and describes it. */
    private EpochFailedException epochFailed(Part p, PlugAction action, PlugControl[] batch, int[] errors, int first,
                                             RuntimeException whole) {
        String what = action == PlugAction.BUFFER ? "begin epoch " + p.epochs().openEpoch()
                : "commit epoch " + p.epochs().awaitingEpoch();
        List<String> done = new ArrayList<>();
        List<String> notDone = new ArrayList<>();
        RuntimeException cause = whole;
        for (int j = 0; j < p.plugged().size(); j++) {
            int code = errors[first + j];
            (code == 0 ? done : notDone).add(p.plugged().get(j).vif());
            if (cause == null && code != 0) {
                cause = batch[first + j].failure(action, code);
            }
        }
        String message = "domain " + p.domain() + ": " + what + " failed on vif " + String.join(", ", notDone) + ": "
                + cause.getMessage() + "; done on " + done + ", not on " + notDone
                + "; the domain takes no new epoch until failover or stop";
        EpochFailedException thrown = new EpochFailedException(message, done, notDone, cause);
        failed.increment();
        try {
            for (int j = 0; j < p.plugged().size(); j++) {
                int code = errors[first + j];
                if (code != 0) {
                    BufferRecord b = p.plugged().get(j);
                    String error = whole != null ? whole.getMessage()
                            : batch[first + j].failure(action, code).getMessage();
                    buffers.note(b.id(), action == PlugAction.BUFFER ? "EPOCH_BEGIN" : "EPOCH_COMMIT",
                            Outcome.FAILED, b.state(), what + " of domain " + p.domain(), error);
                }
            }
            domains.save(p.epochs().failed(message));
        } catch (NetbufDatabaseException notRecorded) {
            thrown.addSuppressed(notRecorded);
        }
        return thrown;
    }

    private static void throwIfFailed(Map<String, EpochFailedException> failures, String domain) {
        EpochFailedException f = failures.get(domain);
        if (f != null) {
            throw f;
        }
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

    private PlugControl control(BufferRecord b) {
        return controls.computeIfAbsent(b.id(),
                id -> netlink.openPlugControl(plugOf(b, netlink.link(InterfaceName.of(b.ifb())))));
    }

    private void closeControl(long bufferId) {
        PlugControl c = controls.remove(bufferId);
        if (c != null) {
            c.close();
        }
    }

    private ReentrantLock lock(String domain) {
        return locks.computeIfAbsent(domain, d -> new ReentrantLock());
    }
}
