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
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.StepOutcome;
import io.remus.netbuf.netlink.TcHandle;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.ClaimRefusedException;
import io.remus.netbuf.persistence.JournalEntry.Outcome;
import io.remus.netbuf.persistence.NetbufDatabaseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Drives buffers through their state machines, a domain's buffers together: each step of {@link BufferEvent}'s table
 * is one transaction of intents (each written by its buffer's machine, in its interceptor, before the state
 * changes), one kernel call for all of them ({@link BufferInstaller#run}), and one transaction of outcomes. So
 * whatever instant a crash hits, the database names every kernel object that may exist. A kernel failure is recorded
 * (that buffer stays where it was) and reaches the caller as an exception.
 *
 * <p>Each buffer has one living {@link BufferMachine}, made when the buffer is created, restored from its row the first
 * time it is needed after a restart, and dropped when the buffer ends (FREE or FAILED). After a database failure the
 * machines involved are dropped too: the row is what holds, and the next use restores from it.
 */
public class BufferLifecycle {

    /** How often a step's intents are tried again when another install claimed one of the pool ifbs picked. */
    private static final int POOL_ATTEMPTS = 20;

    private final BufferStore store;
    private final BufferInstaller kernel;
    private final NetbufSettings settings;
    private final FaultInjection faults;
    private final ConcurrentMap<Long, BufferMachine> machines = new ConcurrentHashMap<>();

    public BufferLifecycle(BufferStore store, BufferInstaller kernel, NetbufSettings settings, FaultInjection faults) {
        this.store = store;
        this.kernel = kernel;
        this.settings = settings;
        this.faults = faults;
    }

    public BufferStore store() {
        return store;
    }

    /** How many buffers have a living machine now. */
    public int livingMachines() {
        return machines.size();
    }

    /** {@link #install(String, List)} of one vif. */
    public BufferRecord install(String domain, InterfaceName vif) {
        return install(domain, List.of(vif)).getFirst();
    }

    /**
     * Installs a buffer on each of {@code vifs}, all of them together: FREE → IFB_UP → INGRESS → REDIRECTED →
     * PLUGGED, a step at a time for every vif. All or nothing: if a step fails on one vif, every vif's steps are
     * undone in reverse; the buffers whose step failed end FAILED with the step and the reason, the others FREE.
     *
     * @throws ClaimRefusedException if another buffer holds one of the vifs (nothing is done)
     * @throws NetbufException if a step failed (after the rollback)
     */
    public List<BufferRecord> install(String domain, List<InterfaceName> vifs) {
        List<BufferRecord> buffers;
        try {
            buffers = store.createAll(domain, vifs.stream().map(InterfaceName::value).toList(), settings.limitBytes(),
                    settings.protocol(), settings.priority(), PlugQdisc.DEFAULT_HANDLE.value());
        } catch (NetbufDatabaseException e) {
            throw e.in("install on " + vifs + " not started, the kernel was not changed");
        }
        buffers.forEach(b -> machines.put(b.id(), BufferMachine.restoredTo(b.state())));
        Stepped stepped = steps(buffers, BufferEvent.install(), null, false);
        if (!stepped.failures.isEmpty()) {
            throw installFailed(stepped.buffers, stepped.event, stepped.failures);
        }
        return stepped.buffers;
    }

    /** Rolls the domain's buffers back after {@code event} failed on some, fails those, and describes it. */
    private NetbufException installFailed(List<BufferRecord> buffers, BufferEvent event,
                                          Map<Long, RuntimeException> failures) {
        Rolled rolled;
        try {
            rolled = rollBack(buffers);
        } catch (NetbufDatabaseException e) {
            failures.values().forEach(e::addSuppressed);
            throw e.in("install on " + vifs(buffers) + " failed at " + event + " (" + firstMessage(failures)
                    + ") and its undo stopped");
        }
        List<String> parts = new ArrayList<>();
        RuntimeException first = null;
        for (BufferRecord b : rolled.buffers) {
            RuntimeException failure = failures.get(b.id());
            StepFailure undo = rolled.stuck.get(b.id());
            if (failure == null && undo == null) {
                continue;
            }
            String reason = failure != null ? failure.getMessage() : "another vif of the domain failed at " + event;
            if (undo != null) {
                reason += "; undo failed at " + undo.step + ": " + undo.cause.getMessage();
                if (failure != null) {
                    failure.addSuppressed(undo.cause);
                }
            }
            fail(b, failure != null ? event : undo.step, reason, undo == null);
            if (failure != null) {
                parts.add("install of buffer " + b.id() + " on vif " + b.vif() + " failed at " + event + " and was "
                        + (undo == null ? "rolled back" : "left FAILED with objects in place") + ": "
                        + failure.getMessage());
                first = first == null ? failure : first;
            } else {
                parts.add("buffer " + b.id() + " on vif " + b.vif() + " was left FAILED with objects in place: "
                        + reason);
            }
        }
        String others = buffers.size() > failures.size() ? " (the domain's other vifs were rolled back with it)" : "";
        return new NetbufException(String.join("; ", parts) + others, first);
    }

    /** PLUGGED → RELEASED: release_indefinite, when the backup is lost and the guest runs on unprotected. */
    public BufferRecord release(long id) {
        BufferRecord buffer = require(id);
        Stepped s = step(List.of(buffer), BufferEvent.RELEASE, null, false);
        s.throwFirst("release of buffer " + id + " failed");
        return s.buffers.getFirst();
    }

    /**
     * PLUGGED → RELEASED for a domain's buffers at once (its failover), each intent's journal line saying
     * {@code why}.
     * A buffer whose release failed stays PLUGGED with the failure journaled; the others are RELEASED all the same.
     * If the database refuses the intents the plugs are released all the same, since a guest whose backup is lost
     * must not stay black-holed until the database is back (a release makes no kernel object for recovery to find).
     *
     * @return the buffers as recorded afterwards, in the order given
     * @throws NetbufException naming every buffer whose release failed, after all of them were recorded
     */
    public List<BufferRecord> releaseAll(List<BufferRecord> plugged, String why) {
        if (plugged.isEmpty()) {
            return List.of();
        }
        Stepped s = step(plugged, BufferEvent.RELEASE, why, true);
        if (!s.failures.isEmpty()) {
            List<String> failed = new ArrayList<>();
            s.buffers.stream().filter(b -> s.failures.containsKey(b.id()))
                    .forEach(b -> failed.add(b.vif() + ": " + s.failures.get(b.id()).getMessage()));
            throw new NetbufException("release_indefinite failed on " + String.join("; ", failed),
                    s.failures.values().iterator().next());
        }
        return s.buffers;
    }

    /** {@link #resumeAll} of one buffer. */
    public BufferRecord resume(long id) {
        return resumeAll(List.of(require(id))).getFirst();
    }

    /**
     * RELEASED → PLUGGED for a failed-over domain's buffers, protected again: all of them or none (the ones resumed
     * are released again if one fails). Their plugs stay released, so output flows until the domain's next epoch
     * begins and closes them.
     */
    public List<BufferRecord> resumeAll(List<BufferRecord> released) {
        Stepped s = step(released, BufferEvent.RESUME, null, false);
        if (!s.failures.isEmpty()) {
            BufferRecord failed = s.buffers.stream().filter(b -> s.failures.containsKey(b.id())).findFirst()
                    .orElseThrow();
            RuntimeException cause = s.failures.get(failed.id());
            List<BufferRecord> resumed = s.buffers.stream().filter(b -> !s.failures.containsKey(b.id())).toList();
            if (!resumed.isEmpty()) {
                try {
                    step(resumed, BufferEvent.RELEASE, "back to released: another vif of the domain could not resume",
                            true).throwFirst("release after a failed resume");
                } catch (RuntimeException suppressed) {
                    cause.addSuppressed(suppressed);
                }
            }
            throw new NetbufException("resume of buffer " + failed.id() + " (vif " + failed.vif() + ") failed: "
                    + cause.getMessage(), cause);
        }
        return s.buffers;
    }

    /** {@link #teardown(List, boolean)} of one buffer, letting out what it holds. */
    public BufferRecord teardown(long id) {
        return teardown(id, false);
    }

    /** {@link #teardown(List, boolean)} of one buffer. */
    public BufferRecord teardown(long id, boolean dropHeld) {
        return teardown(List.of(require(id)), dropHeld).getFirst();
    }

    /**
     * Removes the buffers' kernel objects in reverse order, a step at a time for all of them, and ends them FREE.
     * From PLUGGED they first pass through RELEASED, so the frames of the last epoch leave instead of being dropped
     * (if a release fails, the plug is already gone or broken, and the removal goes on); with {@code dropHeld} the
     * plug is deleted with what it holds instead, for a domain that is gone, whose unacknowledged output must never
     * reach the wire. A removal that fails leaves its buffer FAILED, still holding its claims; a FAILED buffer has
     * what is left of it removed ({@link #clear}).
     *
     * @return the buffers afterwards, in the order given
     * @throws NetbufException for the first buffer that could not be torn down (the others with it, suppressed),
     *                         after every buffer was tried
     */
    public List<BufferRecord> teardown(List<BufferRecord> buffers, boolean dropHeld) {
        Map<Long, BufferRecord> current = new LinkedHashMap<>();
        buffers.forEach(b -> current.put(b.id(), require(b.id())));
        List<RuntimeException> problems = new ArrayList<>();
        List<BufferRecord> live = new ArrayList<>();
        for (BufferRecord b : current.values()) {
            if (b.state() == BufferState.FAILED) {
                try {
                    current.put(b.id(), clear(b));
                } catch (NetbufException e) {
                    problems.add(e);
                }
            } else if (b.state() != BufferState.FREE) {
                live.add(b);
            }
        }
        List<BufferRecord> plugged = live.stream().filter(b -> b.state() == BufferState.PLUGGED).toList();
        Map<Long, StepFailure> stuck = new LinkedHashMap<>();
        if (!plugged.isEmpty()) {
            BufferEvent first = dropHeld ? BufferEvent.DROP_HELD : BufferEvent.RELEASE;
            Stepped s = step(plugged, first, null, false);
            s.buffers.forEach(b -> current.put(b.id(), b));
            if (dropHeld) {
                s.failures.forEach((id, e) -> stuck.put(id, new StepFailure(first, e)));
            } // a failed release is journaled; with the plug gone or broken there is nothing to let out
        }
        List<BufferRecord> removing = live.stream().map(b -> current.get(b.id()))
                .filter(b -> !stuck.containsKey(b.id())).toList();
        Rolled rolled = rollBack(removing);
        rolled.buffers.forEach(b -> current.put(b.id(), b));
        stuck.putAll(rolled.stuck);
        stuck.forEach((id, f) -> {
            BufferRecord failed = fail(current.get(id), f.step, f.cause.getMessage(), false);
            current.put(id, failed);
            problems.add(new NetbufException("teardown of buffer " + id + " failed at " + f.step + ": "
                    + f.cause.getMessage(), f.cause));
        });
        if (!problems.isEmpty()) {
            RuntimeException first = problems.getFirst();
            problems.subList(1, problems.size()).forEach(first::addSuppressed);
            throw first;
        }
        return List.copyOf(current.values());
    }

    /**
     * Undoes every step of the buffers down to FREE, write-ahead like the steps that made them: a step at a time, the
     * buffers furthest from FREE first, so that a domain's buffers stopped at different steps come down together.
     * A buffer whose removal fails stops there (with the failure journaled) and is reported in {@link Rolled#stuck}.
     */
    Rolled rollBack(List<BufferRecord> buffers) {
        Map<Long, BufferRecord> current = new LinkedHashMap<>();
        buffers.forEach(b -> current.put(b.id(), b));
        Map<Long, StepFailure> stuck = new LinkedHashMap<>();
        while (true) {
            List<BufferRecord> moving = current.values().stream()
                    .filter(b -> b.state() != BufferState.FREE && !stuck.containsKey(b.id())).toList();
            if (moving.isEmpty()) {
                break;
            }
            int top = moving.stream().mapToInt(b -> stepsToFree(b.state())).max().orElseThrow();
            List<BufferRecord> batch = moving.stream().filter(b -> stepsToFree(b.state()) == top).toList();
            Stepped s = steps(batch, pathToFree(batch.getFirst().state()), null, false);
            s.buffers.forEach(b -> current.put(b.id(), b));
            s.failures.forEach((id, e) -> stuck.put(id, new StepFailure(s.event, e)));
        }
        return new Rolled(List.copyOf(current.values()), stuck);
    }

    /** How many removals take a buffer in {@code state} to FREE. */
    private static int stepsToFree(BufferState state) {
        return pathToFree(state).size();
    }

    /** The removals that take a buffer in {@code state} to FREE, in order. */
    private static List<BufferEvent> pathToFree(BufferState state) {
        List<BufferEvent> path = new ArrayList<>();
        for (BufferState s = state; s != BufferState.FREE; s = path.getLast().target()) {
            path.add(BufferEvent.backward(s));
        }
        return path;
    }

    /**
     * A FAILED buffer that kept its claims: what is left of its objects is removed, then FAILED → CLEARED → FREE,
     * which gives its vif and ifb back. Only a filter that redirects to this buffer's ifb is taken as its own.
     *
     * @throws NetbufException if a removal failed (journaled; the buffer stays FAILED with its claims)
     */
    public BufferRecord clear(BufferRecord b) {
        try {
            InterfaceName vif = InterfaceName.of(b.vif());
            if (b.ifb() != null) {
                InterfaceName ifb = InterfaceName.of(b.ifb());
                kernel.removePlug(ifb, new TcHandle(b.plugHandle()));
                if (kernel.redirectsTo(vif, ifb, b.priority())) {
                    kernel.removeRedirect(vif, b.protocol(), b.priority());
                    kernel.removeIngress(vif);
                }
                kernel.releaseIfb(ifb, b.ifbCreated());
            }
            BufferRecord[] cleared = new BufferRecord[1];
            machineFor(b).fire(BufferEvent.CLEARED, t -> cleared[0] = store.settle(b, t.target(), Outcome.UNDONE,
                    t.event().name(), "what was left of the failed buffer removed"));
            dropMachine(b.id());
            return cleared[0];
        } catch (RuntimeException e) {
            dropMachine(b.id());
            store.note(b.id(), BufferEvent.CLEARED, Outcome.FAILED, b.state(), "could not clear", e.getMessage());
            throw new NetbufException("buffer " + b.id() + " (vif " + b.vif() + ") is FAILED and what is left of it"
                    + " could not be removed: " + e.getMessage(), e);
        }
    }

    /** One step of one buffer, for tests that need a buffer half-way; throws NetbufException if the kernel refused. */
    BufferRecord advance(BufferRecord buffer, BufferEvent event) {
        Stepped s = step(List.of(buffer), event, null, false);
        s.throwFirst(event + " of buffer " + buffer.id() + " failed");
        return s.buffers.getFirst();
    }

    /** FAIL: the buffer is FAILED at {@code step}; its claims go with {@code released} (every object undone). */
    BufferRecord fail(BufferRecord buffer, BufferEvent step, String reason, boolean released) {
        BufferRecord[] failed = new BufferRecord[1];
        try {
            machineFor(buffer).fire(BufferEvent.FAIL, t -> failed[0] = store.failed(buffer, t, step, reason, released));
        } finally {
            dropMachine(buffer.id());
        }
        return failed[0];
    }

    /** {@link #steps} of one step. */
    private Stepped step(List<BufferRecord> buffers, BufferEvent event, String why, boolean evenIfNotRecorded) {
        return steps(buffers, List.of(event), why, evenIfNotRecorded);
    }

    /**
     * Steps of the table for several buffers, in order, each for all of them: its intents in one transaction, each
     * added by its buffer's machine as it takes the transition; its kernel call for all of them; its outcomes in one
     * transaction, which also holds the next step's intents when every buffer got through (write-ahead holds: a
     * step's intent is committed before its kernel call, its outcome after). The steps stop at the first a buffer
     * failed in the kernel: that failure is recorded (the buffer stays in its source state, and so does its
     * machine) and returned by buffer id, with the step. A database that refuses the intents stops the step before
     * the kernel is touched (unless {@code evenIfNotRecorded}: see {@link #releaseAll}); one that refuses the
     * outcomes leaves the intents recorded, for recovery to resolve at the next start. Either is thrown as a
     * {@link NetbufDatabaseException} saying which.
     */
    private Stepped steps(List<BufferRecord> buffers, List<BufferEvent> events, String why,
                          boolean evenIfNotRecorded) {
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
                List<StepOutcome> outcomes = kernel.run(event, buffers.stream().map(BufferLifecycle::objects).toList());
                long done = outcomes.stream().filter(StepOutcome::ok).count();
                throw e.in(event + " of " + vifs(buffers) + ": done in the kernel on " + done + " of " + buffers.size()
                        + ", none recorded");
            }
            throw e.in(event + " of " + vifs(buffers) + " not started, the kernel was not changed");
        }
        for (int k = 0; ; k++) {
            event = events.get(k);
            faults.afterIntent(event);
            List<StepOutcome> outcomes = kernel.run(event, intended.stream().map(BufferLifecycle::objects).toList());
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
                    dropMachine(b.id());
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

    private static String vifs(List<BufferRecord> buffers) {
        return buffers.size() == 1 ? "buffer " + buffers.getFirst().id() + " (vif " + buffers.getFirst().vif() + ")"
                : "buffers " + buffers.stream().map(b -> b.id() + " (" + b.vif() + ")").toList();
    }

    private static String firstMessage(Map<Long, RuntimeException> failures) {
        return failures.values().iterator().next().getMessage();
    }

    private BufferRecord require(long id) {
        return store.find(id).orElseThrow(() -> new IllegalArgumentException("no buffer " + id));
    }

    /**
     * Steps' buffers as recorded afterwards, in order; the kernel failures by buffer id, and the step they failed at
     * (else the last step).
     */
    private record Stepped(List<BufferRecord> buffers, Map<Long, RuntimeException> failures, BufferEvent event) {
        void throwFirst(String what) {
            if (!failures.isEmpty()) {
                RuntimeException cause = failures.values().iterator().next();
                throw new NetbufException(what + ": " + cause.getMessage(), cause);
            }
        }
    }

    /** What a rollback came to: the buffers as recorded, and those a removal failed on, by id. */
    record Rolled(List<BufferRecord> buffers, Map<Long, StepFailure> stuck) {
    }

    /** A step that failed in the kernel, and why. */
    record StepFailure(BufferEvent step, RuntimeException cause) {
    }

    /** No free pool ifb for every buffer: the step fails for all of them before any intent. */
    private static final class PoolEmpty extends RuntimeException {
        PoolEmpty(RuntimeException cause) {
            super(cause.getMessage(), cause);
        }
    }
}
