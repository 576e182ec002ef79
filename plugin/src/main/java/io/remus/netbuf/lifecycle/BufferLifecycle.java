package io.remus.netbuf.lifecycle;

import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.model.BufferMachine;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.TcHandle;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.ClaimRefusedException;
import io.remus.netbuf.persistence.JournalEntry.Outcome;
import io.remus.netbuf.persistence.NetbufDatabaseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What happens to a domain's buffers: install, release (failover), resume, teardown, clear, each as steps of
 * {@link BufferEvent}'s table run for all of the domain's buffers together by {@link DomainSteps}: one transaction
 * of intents (each added by its buffer's living {@link BufferMachine} as it takes the step), one kernel call for all
 * of them ({@link BufferInstaller#run}), one transaction of outcomes. So whatever instant a crash hits, the database
 * names every kernel object that may exist. A kernel failure is recorded (that buffer stays where it was) and reaches
 * the caller as an exception.
 */
public class BufferLifecycle {

    private final BufferStore store;
    private final BufferInstaller kernel;
    private final NetbufSettings settings;
    private final DomainSteps steps;

    public BufferLifecycle(BufferStore store, BufferInstaller kernel, NetbufSettings settings, FaultInjection faults) {
        this.store = store;
        this.kernel = kernel;
        this.settings = settings;
        this.steps = new DomainSteps(store, kernel, settings, faults);
    }

    public BufferStore store() {
        return store;
    }

    /** How many buffers have a living machine now. */
    public int livingMachines() {
        return steps.livingMachines();
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
        steps.newMachines(buffers);
        DomainSteps.Stepped stepped = steps.run(buffers, BufferEvent.install(), null, false);
        if (!stepped.failures().isEmpty()) {
            throw installFailed(stepped.buffers(), stepped.event(), stepped.failures());
        }
        return stepped.buffers();
    }

    /** Rolls the domain's buffers back after {@code event} failed on some, fails those, and describes it. */
    private NetbufException installFailed(List<BufferRecord> buffers, BufferEvent event,
                                          Map<Long, RuntimeException> failures) {
        Rolled rolled;
        try {
            rolled = rollBack(buffers);
        } catch (NetbufDatabaseException e) {
            failures.values().forEach(e::addSuppressed);
            throw e.in("install on " + DomainSteps.vifs(buffers) + " failed at " + event + " (" + firstMessage(failures)
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
        DomainSteps.Stepped s = steps.run(List.of(buffer), List.of(BufferEvent.RELEASE), null, false);
        s.throwFirst("release of buffer " + id + " failed");
        return s.buffers().getFirst();
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
        DomainSteps.Stepped s = steps.run(plugged, BufferEvent.RELEASE, why, true);
        if (!s.failures().isEmpty()) {
            List<String> failed = new ArrayList<>();
            s.buffers().stream().filter(b -> s.failures().containsKey(b.id()))
                    .forEach(b -> failed.add(b.vif() + ": " + s.failures().get(b.id()).getMessage()));
            throw new NetbufException("release_indefinite failed on " + String.join("; ", failed),
                    s.failures().values().iterator().next());
        }
        return s.buffers();
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
        DomainSteps.Stepped s = steps.run(released, BufferEvent.RESUME, null, false);
        if (!s.failures().isEmpty()) {
            BufferRecord failed = s.buffers().stream().filter(b -> s.failures().containsKey(b.id())).findFirst()
                    .orElseThrow();
            RuntimeException cause = s.failures().get(failed.id());
            List<BufferRecord> resumed = s.buffers().stream().filter(b -> !s.failures().containsKey(b.id())).toList();
            if (!resumed.isEmpty()) {
                try {
                    steps.run(resumed, BufferEvent.RELEASE, "back to released: another vif of the domain could not resume",
                            true).throwFirst("release after a failed resume");
                } catch (RuntimeException suppressed) {
                    cause.addSuppressed(suppressed);
                }
            }
            throw new NetbufException("resume of buffer " + failed.id() + " (vif " + failed.vif() + ") failed: "
                    + cause.getMessage(), cause);
        }
        return s.buffers();
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
        store.findAll(buffers.stream().map(BufferRecord::id).toList()).forEach(b -> current.put(b.id(), b));
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
            DomainSteps.Stepped s = steps.run(plugged, first, null, false);
            s.buffers().forEach(b -> current.put(b.id(), b));
            if (dropHeld) {
                s.failures().forEach((id, e) -> stuck.put(id, new StepFailure(first, e)));
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
            DomainSteps.Stepped s = steps.run(batch, pathToFree(batch.getFirst().state()), null, false);
            s.buffers().forEach(b -> current.put(b.id(), b));
            s.failures().forEach((id, e) -> stuck.put(id, new StepFailure(s.event(), e)));
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
            steps.record(b, BufferEvent.CLEARED, t -> cleared[0] = store.settle(b, t.target(), Outcome.UNDONE,
                    t.event().name(), "what was left of the failed buffer removed"));
            return cleared[0];
        } catch (RuntimeException e) {
            store.note(b.id(), BufferEvent.CLEARED, Outcome.FAILED, b.state(), "could not clear", e.getMessage());
            throw new NetbufException("buffer " + b.id() + " (vif " + b.vif() + ") is FAILED and what is left of it"
                    + " could not be removed: " + e.getMessage(), e);
        }
    }

    /** One step of one buffer, for tests that need a buffer half-way; throws NetbufException if the kernel refused. */
    BufferRecord advance(BufferRecord buffer, BufferEvent event) {
        DomainSteps.Stepped s = steps.run(List.of(buffer), event, null, false);
        s.throwFirst(event + " of buffer " + buffer.id() + " failed");
        return s.buffers().getFirst();
    }

    /** FAIL: the buffer is FAILED at {@code step}; its claims go with {@code released} (every object undone). */
    BufferRecord fail(BufferRecord buffer, BufferEvent step, String reason, boolean released) {
        BufferRecord[] failed = new BufferRecord[1];
        steps.record(buffer, BufferEvent.FAIL, t -> failed[0] = store.failed(buffer, t, step, reason, released));
        return failed[0];
    }

    private static String firstMessage(Map<Long, RuntimeException> failures) {
        return failures.values().iterator().next().getMessage();
    }

    private BufferRecord require(long id) {
        return store.find(id).orElseThrow(() -> new IllegalArgumentException("no buffer " + id));
    }

    /** What a rollback came to: the buffers as recorded, and those a removal failed on, by id. */
    record Rolled(List<BufferRecord> buffers, Map<Long, StepFailure> stuck) {
    }

    /** A step that failed in the kernel, and why. */
    record StepFailure(BufferEvent step, RuntimeException cause) {
    }


}
