package io.remus.netbuf.lifecycle;

import static io.remus.netbuf.model.BufferEvent.ACQUIRE_IFB;

import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.model.BufferMachine;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.model.Transition;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.BufferObjects;
import io.remus.netbuf.netlink.IfbMode;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.StepOutcome;
import io.remus.netbuf.netlink.TcHandle;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.ClaimRefusedException;
import io.remus.netbuf.persistence.NetbufDatabaseException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Runs steps of {@link BufferEvent}'s table for a domain's buffers, write-ahead, and keeps each buffer's living
 * {@link BufferMachine}: made when the buffer is created ({@link #newMachines}), restored from its row the first
 * time it is needed after a restart, dropped when the buffer ends (FREE or FAILED) and after a database failure (the
 * row is what holds; the next use restores from it). {@link BufferLifecycle} decides which steps to run.
 */
final class DomainSteps {

    /** How often a step's intents are tried again when another install claimed one of the pool ifbs picked. */
    private static final int POOL_ATTEMPTS = 20;

    private final BufferStore store;
    private final BufferInstaller kernel;
    private final NetbufSettings settings;
    private final FaultInjection faults;
    /**
     * How many machines of buffers that ended FREE are kept for new buffers. Building a machine costs ~0.5 ms and
     * ~30 clock reads in user-mode-linux (where each is a system call), reusing one nothing: it is in FREE, where a
     * new buffer's machine starts, with nothing else to carry over.
     */
    static final int IDLE_MACHINES = 64;

    private final ConcurrentMap<Long, BufferMachine> machines = new ConcurrentHashMap<>();
    /** Machines in FREE that no buffer has; guarded by itself. */
    private final Deque<BufferMachine> idle = new ArrayDeque<>();

    DomainSteps(BufferStore store, BufferInstaller kernel, NetbufSettings settings, FaultInjection faults) {
        this.store = store;
        this.kernel = kernel;
        this.settings = settings;
        this.faults = faults;
    }

    int livingMachines() {
        return machines.size();
    }

    /** A machine in FREE for each new buffer: one a buffer that ended FREE left, else a new one. */
    void newMachines(List<BufferRecord> created) {
        for (BufferRecord b : created) {
            BufferMachine m = null;
            if (b.state() == BufferState.FREE) {
                synchronized (idle) {
                    m = idle.pollFirst();
                }
            }
            machines.put(b.id(), m != null ? m : BufferMachine.restoredTo(b.state()));
        }
    }

    /**
     * A record without a kernel call (FAIL, CLEARED): the buffer's machine takes {@code event}, its interceptor
     * running {@code write}; the buffer's life ends there, and so does its machine.
     */
    void record(BufferRecord b, BufferEvent event, BufferMachine.WriteAhead write) {
        try {
            machineFor(b).fire(event, write);
        } finally {
            dropMachine(b.id());
        }
    }

    /** {@link #run(List, List, String, boolean)} of one step. */
    Stepped run(List<BufferRecord> buffers, BufferEvent event, String why, boolean evenIfNotRecorded) {
        return run(buffers, List.of(event), why, evenIfNotRecorded);
    }

    /**
     * Steps of the table for several buffers, in order, each for all of them: its intents in one transaction, each
     * added by its buffer's machine as it takes the transition; its kernel call for all of them; its outcomes in one
     * transaction, which also holds the next step's intents when every buffer got through (write-ahead holds: a
     * step's intent is committed before its kernel call, its outcome after). The steps stop at the first a buffer
     * failed in the kernel: that failure is recorded (the buffer stays in its source state, and so does its
     * machine) and returned by buffer id, with the step. A database that refuses the intents stops the step before
     * the kernel is touched (unless {@code evenIfNotRecorded}: see {@link BufferLifecycle#releaseAll}); one that refuses the
     * outcomes leaves the intents recorded, for recovery to resolve at the next start. Either is thrown as a
     * {@link NetbufDatabaseException} saying which.
     */
    Stepped run(List<BufferRecord> buffers, List<BufferEvent> events, String why, boolean evenIfNotRecorded) {
        if (buffers.isEmpty()) {
            return new Stepped(List.of(), Map.of(), events.getLast());
        }
        BufferEvent event = events.getFirst();
        List<BufferRecord> intended;
        try {
            intended = writeIntents(buffers, event, why);
        } catch (PoolEmpty e) {
            Map<Long, RuntimeException> failures = new LinkedHashMap<>();
            buffers.forEach(b -> failures.put(b.id(), e.getCause() instanceof RuntimeException r ? r : e));
            return new Stepped(buffers, failures, event);
        } catch (NetbufDatabaseException e) {
            if (evenIfNotRecorded) {
                List<StepOutcome> outcomes = kernel.run(event, buffers.stream().map(DomainSteps::objects).toList());
                long done = outcomes.stream().filter(StepOutcome::ok).count();
                throw e.in(event + " of " + vifs(buffers) + ": done in the kernel on " + done + " of " + buffers.size()
                        + ", none recorded");
            }
            throw e.in(event + " of " + vifs(buffers) + " not started, the kernel was not changed");
        }
        for (int k = 0; ; k++) {
            event = events.get(k);
            faults.afterIntent(event);
            List<StepOutcome> outcomes = kernel.run(event, intended.stream().map(DomainSteps::objects).toList());
            faults.afterKernel(event);
            boolean allDone = outcomes.stream().allMatch(StepOutcome::ok);
            BufferEvent next = allDone && k + 1 < events.size() ? events.get(k + 1) : null;
            Recorded recorded = recordOutcomes(intended, event, outcomes, next, why);
            Map<Long, RuntimeException> failures = new LinkedHashMap<>();
            for (int i = 0; i < recorded.after.size(); i++) {
                BufferRecord b = recorded.after.get(i);
                if (!outcomes.get(i).ok()) {
                    failures.put(b.id(), outcomes.get(i).failure());
                    machineFor(b).restore(b.state());
                } else if (b.state() == BufferState.FREE) {
                    recycleMachine(b.id());
                }
            }
            if (recorded.nextIntended == null) {
                return new Stepped(recorded.after, failures, event);
            }
            intended = recorded.nextIntended;
        }
    }

    /** A step's outcomes as written, and the next step's intents if they were written with them. */
    private record Recorded(List<BufferRecord> after, List<BufferRecord> nextIntended) {
    }

    /**
     * The outcomes of {@code event}, with the intents of {@code next} (if not null) in the same transaction. If that
     * transaction fails, the outcomes are written alone and the failure thrown: the next step was not started.
     */
    private Recorded recordOutcomes(List<BufferRecord> intended, BufferEvent event, List<StepOutcome> outcomes,
                                    BufferEvent next, String why) {
        List<BufferStore.StepResult> results = new ArrayList<>(intended.size());
        for (int i = 0; i < intended.size(); i++) {
            BufferRecord b = intended.get(i);
            StepOutcome o = outcomes.get(i);
            results.add(new BufferStore.StepResult(b, new Transition(b.state(), event, event.target()), o.note(),
                    o.ok() ? null : o.failure().getMessage()));
        }
        String what = "the outcome of " + event + (next == null ? "" : " and the intent of " + next) + " for "
                + vifs(intended);
        RuntimeException nextRefused;
        try {
            return store.transaction(what, () -> {
                List<BufferRecord> after = store.outcomes(results);
                return new Recorded(after, next == null ? null : intendInTransaction(after, next, why, List.of()));
            });
        } catch (RuntimeException e) {
            nextRefused = e;
        }
        // the transaction rolled back: the rows have the step in flight again, and its machines are at its target
        intended.forEach(b -> machineFor(b).restore(event.target()));
        List<BufferRecord> after;
        try {
            after = store.transaction("the outcome of " + event + " for " + vifs(intended),
                    () -> store.outcomes(results));
        } catch (NetbufDatabaseException e) {
            intended.forEach(b -> dropMachine(b.id()));
            outcomes.stream().filter(o -> !o.ok()).forEach(o -> e.addSuppressed(o.failure()));
            if (e != nextRefused) {
                e.addSuppressed(nextRefused);
            }
            throw e.in(event + " of " + vifs(intended) + " done in the kernel; its intents stay recorded for recovery"
                    + " at the next start");
        }
        if (next == null) {
            throw nextRefused;
        }
        if (nextRefused instanceof NetbufDatabaseException d) {
            throw d.in(event + " of " + vifs(after) + " done and recorded; " + next + " not started, the kernel was not"
                    + " changed");
        }
        throw nextRefused;
    }

    /**
     * The intents of {@code event} for every buffer, one transaction. Acquiring an ifb claims it with the intent: by
     * name from the buffer id, or free ifbs of the pool, tried again if another install claimed one of them
     * meanwhile.
     */
    private List<BufferRecord> writeIntents(List<BufferRecord> buffers, BufferEvent event, String why) {
        for (int attempt = 1; ; attempt++) {
            List<String> poolIfbs = event == ACQUIRE_IFB && settings.ifbMode() == IfbMode.POOL ? freePoolIfbs(buffers)
                    : List.of();
            try {
                return store.transaction("the intent of " + event + " for " + vifs(buffers),
                        () -> intendInTransaction(buffers, event, why, poolIfbs));
            } catch (ClaimRefusedException taken) {
                restoreMachines(buffers);
                if (attempt == POOL_ATTEMPTS) {
                    throw new PoolEmpty(taken);
                }
            } catch (RuntimeException e) {
                restoreMachines(buffers);
                throw e;
            }
        }
    }

    /**
     * In the caller's transaction: each buffer's machine takes {@code event}, its interceptor adding the buffer's
     * intent to the step's batch, which is written before the transaction commits and so before any kernel call.
     */
    private List<BufferRecord> intendInTransaction(List<BufferRecord> buffers, BufferEvent event, String why,
                                                   List<String> poolIfbs) {
        List<BufferStore.Intent> batch = new ArrayList<>(buffers.size());
        for (int i = 0; i < buffers.size(); i++) {
            BufferRecord b = buffers.get(i);
            String poolIfb = poolIfbs.isEmpty() ? null : poolIfbs.get(i);
            machineFor(b).fire(event, t -> batch.add(intent(b, t, poolIfb, why)));
        }
        return store.intents(batch);
    }

    private BufferStore.Intent intent(BufferRecord b, Transition t, String poolIfb, String why) {
        if (t.event() == ACQUIRE_IFB) {
            String ifb = poolIfb != null ? poolIfb : settings.ifbPrefix() + b.id();
            return new BufferStore.Intent(b, t, (poolIfb == null ? "create " : "take pool ") + "ifb " + ifb, ifb,
                    poolIfb == null);
        }
        String detail = describe(t.event(), b);
        return new BufferStore.Intent(b, t, why == null ? detail : detail + ": " + why, null, false);
    }

    /**
     * A free pool ifb for each buffer, or PoolEmpty naming the fix. Taken from a random place in the free list, so
     * that domains installing at the same moment seldom pick the same ones (a claim refused retries the whole step's
     * intents: on PostgreSQL a refused statement ends its transaction).
     */
    private List<String> freePoolIfbs(List<BufferRecord> buffers) {
        Set<InterfaceName> claimed = new HashSet<>();
        store.claimedIfbs().forEach(name -> claimed.add(InterfaceName.of(name)));
        List<InterfaceName> free = kernel.freePoolIfbs(claimed);
        if (free.size() < buffers.size()) {
            throw new PoolEmpty(BufferInstaller.poolEmpty());
        }
        int from = java.util.concurrent.ThreadLocalRandom.current().nextInt(free.size());
        List<String> picked = new ArrayList<>(buffers.size());
        for (int i = 0; i < buffers.size(); i++) {
            picked.add(free.get((from + i) % free.size()).value());
        }
        return picked;
    }

    /** The living machine of {@code b}, restored from its row if it has none (after a restart) or disagrees. */
    private BufferMachine machineFor(BufferRecord b) {
        BufferMachine machine = machines.computeIfAbsent(b.id(), id -> BufferMachine.restoredTo(b.state()));
        if (machine.state() != b.state()) {
            machine.restore(b.state()); // the row holds: e.g. recovery settled it
        }
        return machine;
    }

    private void restoreMachines(List<BufferRecord> rows) {
        rows.forEach(b -> {
            BufferMachine m = machines.get(b.id());
            if (m != null) {
                m.restore(b.state());
            }
        });
    }

    /** The buffer ended FREE: its machine, in FREE too, is kept for a new buffer (up to {@link #IDLE_MACHINES}). */
    private void recycleMachine(long id) {
        BufferMachine m = machines.remove(id);
        if (m == null) {
            return;
        }
        if (m.state() == BufferState.FREE) {
            synchronized (idle) {
                if (idle.size() < IDLE_MACHINES) {
                    idle.addFirst(m);
                    return;
                }
            }
        }
        m.stop();
    }

    private void dropMachine(long id) {
        BufferMachine m = machines.remove(id);
        if (m != null) {
            m.stop();
        }
    }

    private static BufferObjects objects(BufferRecord b) {
        return new BufferObjects(InterfaceName.of(b.vif()), InterfaceName.of(b.ifb()), b.ifbCreated(), b.protocol(),
                b.priority(), new TcHandle(b.plugHandle()), b.limitBytes());
    }

    private static String describe(BufferEvent step, BufferRecord b) {
        return switch (step) {
            case ACQUIRE_IFB -> "ifb " + b.ifb();
            case ADD_INGRESS, REMOVE_INGRESS -> "ingress ffff: on " + b.vif();
            case ADD_REDIRECT, REMOVE_REDIRECT -> "u32 prio " + b.priority() + " protocol 0x"
                    + Integer.toHexString(b.protocol()) + " on " + b.vif() + " -> " + b.ifb();
            case ADD_PLUG -> "plug " + new TcHandle(b.plugHandle()) + " limit " + b.limitBytes() + " on " + b.ifb();
            case RELEASE, RESUME, REMOVE_PLUG, DROP_HELD -> "plug " + new TcHandle(b.plugHandle()) + " on " + b.ifb();
            case RELEASE_IFB -> (b.ifbCreated() ? "delete " : "down ") + b.ifb();
            case FAIL, CLEARED -> step.name();
        };
    }

    static String vifs(List<BufferRecord> buffers) {
        return buffers.size() == 1 ? "buffer " + buffers.getFirst().id() + " (vif " + buffers.getFirst().vif() + ")"
                : "buffers " + buffers.stream().map(b -> b.id() + " (" + b.vif() + ")").toList();
    }

    /**
     * Steps' buffers as recorded afterwards, in order; the kernel failures by buffer id, and the step they failed at
     * (else the last step).
     */
    record Stepped(List<BufferRecord> buffers, Map<Long, RuntimeException> failures, BufferEvent event) {
        void throwFirst(String what) {
            if (!failures.isEmpty()) {
                RuntimeException cause = failures.values().iterator().next();
                throw new NetbufException(what + ": " + cause.getMessage(), cause);
            }
        }
    }

    /** No free pool ifb for every buffer: the step fails for all of them before any intent. */
    private static final class PoolEmpty extends RuntimeException {
        PoolEmpty(RuntimeException cause) {
            super(cause.getMessage(), cause);
        }
    }}
