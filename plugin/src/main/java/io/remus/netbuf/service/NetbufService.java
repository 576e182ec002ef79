package io.remus.netbuf.service;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.remus.netbuf.lifecycle.BufferLifecycle;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.InterfaceName;
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
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The Java API a Remus checkpointer calls, per domain: protect its vifs, begin an epoch at each checkpoint, commit
 * an epoch when the backup acknowledges it, fail over when the backup is lost, stop. A domain's buffers move
 * together, under one lock per domain.
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
    private final ConcurrentMap<String, Object> locks = new ConcurrentHashMap<>();
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
        this.beginTimer = Timer.builder("netbuf.epoch.begin").description("plug buffer on every vif of a domain")
                .register(meters);
        this.commitTimer = Timer.builder("netbuf.epoch.commit").description("release_one on every vif of a domain")
                .register(meters);
        this.begun = Counter.builder("netbuf.epochs.begun").register(meters);
        this.committed = Counter.builder("netbuf.epochs.committed").register(meters);
        this.failed = Counter.builder("netbuf.epochs.failed").register(meters);
    }

    /**
     * Installs a buffer on each vif of {@code domain}. All or nothing: if one fails, the ones installed are torn
     * down again and the failure is thrown.
     */
    public List<BufferRecord> protect(String domain, List<InterfaceName> vifs) {
        synchronized (lock(domain)) {
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
        }
    }

    /** Checkpoint: closes the open epoch on every vif of the domain and opens the next. Returns its number. */
    public long beginEpoch(String domain) {
        synchronized (lock(domain)) {
            DomainEpochs e = epochs(domain);
            if (e.failure() != null) {
                throw new EpochRefusedException("domain " + domain + " had a failed epoch (" + e.failure()
                        + "): fail over or stop it");
            }
            if (e.awaitingEpoch() != 0) {
                throw new EpochRefusedException("domain " + domain + ": epoch " + e.awaitingEpoch()
                        + " is still waiting for the backup's ack; commit it before beginning another");
            }
            List<BufferRecord> plugged = plugged(domain);
            long next = e.openEpoch() + 1;
            // Write-ahead: the closed epoch is recorded as awaiting its ack before the kernel closes it. sch_plug
            // counts one closed epoch; a closed epoch the database did not know of would let the next begin close
            // another over it, and the commit after that would release the first epoch's frames by the second's
            // count, letting unacknowledged output out. Recorded but not closed is harmless: its commit releases
            // nothing.
            DomainEpochs begin = new DomainEpochs(domain, next, e.openEpoch(), e.epochsBegun() + 1,
                    e.epochsCommitted(), e.epochsFailed(), null);
            try {
                domains.save(begin);
            } catch (NetbufDatabaseException notRecorded) {
                throw notRecorded.in("domain " + domain + ": begin epoch " + next
                        + " refused, the kernel was not changed (epoch " + e.openEpoch() + " stays open)");
            }
            long started = System.nanoTime();
            runOnEach(domain, plugged, "begin epoch " + next, PlugAction.BUFFER, begin);
            beginTimer.record(System.nanoTime() - started, java.util.concurrent.TimeUnit.NANOSECONDS);
            begun.increment();
            return next;
        }
    }

    /** The backup acknowledged {@code epoch}: release its output on every vif of the domain. */
    public void commitEpoch(String domain, long epoch) {
        synchronized (lock(domain)) {
            DomainEpochs e = epochs(domain);
            if (e.awaitingEpoch() == 0 || e.awaitingEpoch() != epoch) {
                throw new EpochRefusedException("domain " + domain + ": epoch " + epoch + " is not awaiting an ack"
                        + (e.awaitingEpoch() == 0 ? " (none is)" : " (epoch " + e.awaitingEpoch() + " is)")
                        + (epoch == e.openEpoch() ? "; it is still open: begin the next epoch to close it" : ""));
            }
            List<BufferRecord> plugged = plugged(domain);
            long started = System.nanoTime();
            // The kernel first, the record after: until the record says the epoch was committed, no new epoch
            // begins, and committing it again releases nothing more (the plug has no closed epoch left).
            runOnEach(domain, plugged, "commit epoch " + epoch, PlugAction.RELEASE_ONE, e);
            commitTimer.record(System.nanoTime() - started, java.util.concurrent.TimeUnit.NANOSECONDS);
            try {
                domains.save(new DomainEpochs(domain, e.openEpoch(), 0, e.epochsBegun(), e.epochsCommitted() + 1,
                        e.epochsFailed(), null));
            } catch (NetbufDatabaseException notRecorded) {
                throw notRecorded.in("domain " + domain + ": commit epoch " + epoch + " released its output in the"
                        + " kernel, but the database still has it awaiting its ack: no new epoch begins until it is"
                        + " committed again, which releases nothing more");
            }
            committed.increment();
        }
    }

    /** The backup is lost: release everything held, indefinitely (PLUGGED → RELEASED); the guest runs unprotected. */
    public List<BufferRecord> failover(String domain) {
        synchronized (lock(domain)) {
            List<BufferRecord> out = new ArrayList<>();
            for (BufferRecord b : live(domain)) {
                if (b.state() == BufferState.PLUGGED) {
                    out.add(lifecycle.release(b.id()));
                }
            }
            DomainEpochs e = epochs(domain);
            domains.save(new DomainEpochs(domain, 0, 0, e.epochsBegun(), e.epochsCommitted(), e.epochsFailed(), null));
            return out;
        }
    }

    /** The domain stops: every buffer passes through RELEASED (nothing held is dropped) and is torn down. */
    public void stop(String domain) {
        synchronized (lock(domain)) {
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
            DomainEpochs e = epochs(domain);
            try {
                domains.save(new DomainEpochs(domain, 0, 0, e.epochsBegun(), e.epochsCommitted(), e.epochsFailed(),
                        null));
            } catch (NetbufDatabaseException notRecorded) {
                if (first == null) {
                    throw notRecorded;
                }
                first.addSuppressed(notRecorded);
            }
            if (first != null) {
                throw first;
            }
        }
    }

    public DomainEpochs epochs(String domain) {
        return domains.find(domain).orElse(DomainEpochs.fresh(domain));
    }

    /** The plug's counters for a PLUGGED or RELEASED buffer, or empty (no plug, or its ifb is gone). */
    public Optional<PlugStats> stats(BufferRecord b) {
        if (b.ifb() == null || !(b.state() == BufferState.PLUGGED || b.state() == BufferState.RELEASED)) {
            return Optional.empty();
        }
        return netlink.findLink(InterfaceName.of(b.ifb()))
                .flatMap(ifb -> netlink.plugStats(new PlugQdisc(ifb, new TcHandle(b.plugHandle()), b.limitBytes())));
    }

    /**
     * The plug change on every vif of the domain, in one batch (one system call for all of them). If any vif
     * fails, the domain's epoch is failed, naming the vifs it was done on and the ones it was not.
     */
    private void runOnEach(String domain, List<BufferRecord> plugged, String what, PlugAction action,
                           DomainEpochs e) {
        if (plugged.isEmpty()) {
            throw new DomainNotBufferedException(domain);
        }
        PlugControl[] batch = new PlugControl[plugged.size()];
        for (int i = 0; i < batch.length; i++) {
            batch[i] = control(plugged.get(i));
        }
        int[] errors = new int[batch.length];
        RuntimeException failure;
        boolean batchFailed = false;
        try {
            if (netlink.plugBatch(batch, batch.length, action, errors) == 0) {
                return;
            }
            int first = 0;
            while (errors[first] == 0) {
                first++;
            }
            failure = batch[first].failure(action, errors[first]);
        } catch (RuntimeException whole) {
            java.util.Arrays.fill(errors, -1);
            failure = whole;
            batchFailed = true;
        }
        List<String> done = new ArrayList<>();
        List<String> notDone = new ArrayList<>();
        for (int i = 0; i < batch.length; i++) {
            (errors[i] == 0 ? done : notDone).add(plugged.get(i).vif());
        }
        String message = "domain " + domain + ": " + what + " failed on vif " + String.join(", ", notDone) + ": "
                + failure.getMessage() + "; done on " + done + ", not on " + notDone
                + "; the domain takes no new epoch until failover or stop";
        EpochFailedException thrown = new EpochFailedException(message, done, notDone, failure);
        failed.increment();
        try {
            for (int i = 0; i < batch.length; i++) {
                if (errors[i] != 0) {
                    BufferRecord b = plugged.get(i);
                    String error = batchFailed ? failure.getMessage() : batch[i].failure(action, errors[i]).getMessage();
                    buffers.note(b.id(), action == PlugAction.BUFFER ? "EPOCH_BEGIN" : "EPOCH_COMMIT",
                            Outcome.FAILED, b.state(), what + " of domain " + domain, error);
                }
            }
            domains.save(new DomainEpochs(domain, e.openEpoch(), e.awaitingEpoch(), e.epochsBegun(),
                    e.epochsCommitted(), e.epochsFailed() + 1, message));
        } catch (NetbufDatabaseException notRecorded) {
            thrown.addSuppressed(notRecorded);
        }
        throw thrown;
    }

    private List<BufferRecord> live(String domain) {
        return buffers.holdingVif(domain);
    }

    private List<BufferRecord> plugged(String domain) {
        List<BufferRecord> live = live(domain);
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
        return controls.computeIfAbsent(b.id(), id -> netlink.openPlugControl(new PlugQdisc(
                netlink.link(InterfaceName.of(b.ifb())), new TcHandle(b.plugHandle()), b.limitBytes())));
    }

    private void closeControl(long bufferId) {
        PlugControl c = controls.remove(bufferId);
        if (c != null) {
            c.close();
        }
    }

    private Object lock(String domain) {
        return locks.computeIfAbsent(domain, d -> new Object());
    }
}
