package io.remus.netbuf.lifecycle;

import static io.remus.netbuf.model.BufferEvent.ACQUIRE_IFB;
import static io.remus.netbuf.model.BufferEvent.ADD_INGRESS;
import static io.remus.netbuf.model.BufferEvent.ADD_PLUG;
import static io.remus.netbuf.model.BufferEvent.ADD_REDIRECT;

import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.model.BufferMachine;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.model.KernelStep;
import io.remus.netbuf.model.Transition;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.IfbMode;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.TcHandle;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.ClaimRefusedException;
import io.remus.netbuf.persistence.JournalEntry.Outcome;
import io.remus.netbuf.persistence.NetbufDatabaseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Drives each buffer through its state machine, one kernel step per transition, write-ahead: the step's intent is
 * committed before the kernel is touched and its outcome after, so that whatever instant a crash hits, the database
 * names every kernel object that may exist. The machine ({@link BufferMachine}) decides which events are legal; the
 * kernel work happens here, outside it, so a netlink error surfaces as an exception instead of vanishing inside a
 * state-machine action.
 */
public class BufferLifecycle {

    private static final List<BufferEvent> INSTALL = List.of(ACQUIRE_IFB, ADD_INGRESS, ADD_REDIRECT, ADD_PLUG);

    private final BufferStore store;
    private final BufferInstaller kernel;
    private final NetbufSettings settings;
    private final FaultInjection faults;

    public BufferLifecycle(BufferStore store, BufferInstaller kernel, NetbufSettings settings, FaultInjection faults) {
        this.store = store;
        this.kernel = kernel;
        this.settings = settings;
        this.faults = faults;
    }

    public BufferStore store() {
        return store;
    }

    /**
     * Installs a buffer on {@code vif}: FREE → IFB_UP → INGRESS → REDIRECTED → PLUGGED. If a step fails, the steps
     * made are undone in reverse and the buffer ends FAILED with the step and the reason.
     *
     * @throws io.remus.netbuf.persistence.ClaimRefusedException if another buffer holds the vif (nothing is done)
     * @throws NetbufException if a step failed (the buffer is then FAILED)
     */
    public BufferRecord install(String domain, InterfaceName vif) {
        BufferRecord buffer;
        try {
            buffer = store.create(domain, vif.value(), settings.limitBytes(), settings.protocol(), settings.priority(),
                    PlugQdisc.DEFAULT_HANDLE.value());
        } catch (NetbufDatabaseException e) {
            throw e.in("install on vif " + vif + " not started, the kernel was not changed");
        }
        try {
            for (BufferEvent event : INSTALL) {
                buffer = advance(buffer, event);
            }
            return buffer;
        } catch (StepFailed failure) {
            boolean undone = rollBackAndFail(failure);
            throw new NetbufException("install of buffer " + buffer.id() + " on vif " + vif + " failed at "
                    + failure.step + " and was " + (undone ? "rolled back" : "left FAILED with objects in place")
                    + ": " + failure.getCause().getMessage(), failure.getCause());
        }
    }

    /** PLUGGED → RELEASED: release_indefinite, when the backup is lost and the guest runs on unprotected. */
    public BufferRecord release(long id) {
        BufferRecord buffer = require(id);
        try {
            return advance(buffer, BufferEvent.RELEASE);
        } catch (StepFailed failure) {
            throw new NetbufException("release of buffer " + id + " failed: " + failure.getCause().getMessage(),
                    failure.getCause());
        }
    }

    /**
     * PLUGGED → RELEASED for several buffers at once (a domain's failover): every intent first, then one kernel
     * batch, {@code releaseIndefinite}, which returns per buffer null or why its release failed, then every outcome.
     * Each intent's journal line says {@code why}.
     * A buffer whose release failed stays PLUGGED with the failure journaled; the others are RELEASED all the same.
     *
     * @return the buffers as recorded afterwards, in the order given
     * @throws NetbufException naming every buffer whose release failed, after all of them were recorded
     */
    public List<BufferRecord> releaseAll(List<BufferRecord> plugged, String why,
                                         Function<List<BufferRecord>, List<RuntimeException>> releaseIndefinite) {
        Transition t = transition(BufferState.PLUGGED, BufferEvent.RELEASE);
        List<BufferRecord> intended = new ArrayList<>(plugged.size());
        for (BufferRecord b : plugged) {
            try {
                intended.add(store.intent(require(b.id()), t, describe(KernelStep.PLUG_RELEASE_INDEFINITE, b) + ": " + why));
            } catch (NetbufDatabaseException e) {
                throw releaseNotRecorded(plugged, intended, releaseIndefinite, t, e);
            }
        }
        List<RuntimeException> failures = releaseIndefinite.apply(intended);
        List<BufferRecord> out = new ArrayList<>(intended.size());
        List<String> failed = new ArrayList<>();
        RuntimeException first = null;
        for (int i = 0; i < intended.size(); i++) {
            RuntimeException f = failures.get(i);
            out.add(releaseOutcome(intended.get(i), t, f));
            if (f != null) {
                failed.add(intended.get(i).vif() + ": " + f.getMessage());
                first = first == null ? f : first;
            }
        }
        if (first != null) {
            throw new NetbufException("release_indefinite failed on " + String.join("; ", failed), first);
        }
        return out;
    }

    /**
     * The database refused an intent: the plugs are released all the same, since a guest whose backup is lost must
     * not stay black-holed until the database is back (a release makes no kernel object for recovery to find). The
     * outcomes of the intents recorded are written if the database takes them.
     */
    private NetbufDatabaseException releaseNotRecorded(List<BufferRecord> plugged, List<BufferRecord> intended,
            Function<List<BufferRecord>, List<RuntimeException>> releaseIndefinite, Transition t,
            NetbufDatabaseException refused) {
        List<RuntimeException> failures = releaseIndefinite.apply(plugged);
        for (int i = 0; i < intended.size(); i++) {
            try {
                releaseOutcome(intended.get(i), t, failures.get(i));
            } catch (NetbufDatabaseException notRecorded) {
                refused.addSuppressed(notRecorded); // its intent stays, for recovery at the next start
            }
        }
        long released = failures.stream().filter(f -> f == null).count();
        return refused.in("release_indefinite of " + plugged.size() + " buffers: " + released + " released in the"
                + " kernel, " + (plugged.size() - intended.size()) + " of them not recorded as RELEASED");
    }

    /** Records a release's outcome: DONE, or FAILED with {@code failure} (the buffer stays PLUGGED). */
    private BufferRecord releaseOutcome(BufferRecord intended, Transition t, RuntimeException failure) {
        return failure == null ? store.done(intended, t, null) : store.stepFailed(intended, t, failure.getMessage());
    }

    /**
     * RELEASED → PLUGGED: a failed-over buffer protected again. Its plug stays released, so output flows until the
     * domain's next epoch begins and closes it.
     */
    public BufferRecord resume(long id) {
        BufferRecord buffer = require(id);
        try {
            return advance(buffer, BufferEvent.RESUME);
        } catch (StepFailed failure) {
            throw new NetbufException("resume of buffer " + id + " (vif " + buffer.vif() + ") failed: "
                    + failure.getCause().getMessage(), failure.getCause());
        }
    }

    /**
     * Removes the buffer's kernel objects in reverse order and ends FREE. From PLUGGED it first passes through
     * RELEASED, so the frames of the last epoch leave instead of being dropped (if that release fails, the plug is
     * already gone or broken, and the removal goes on). A removal that fails leaves the buffer FAILED, still
     * holding its claims; tearing a FAILED buffer down removes what is left of it ({@link #clear}).
     */
    public BufferRecord teardown(long id) {
        return teardown(id, false);
    }

    /**
     * {@link #teardown(long)}, or with {@code dropHeld} the plug of a PLUGGED buffer is deleted with what it holds:
     * for a domain that is gone, whose unacknowledged output must never reach the wire (its backup, if it has one,
     * sends it again).
     */
    public BufferRecord teardown(long id, boolean dropHeld) {
        BufferRecord buffer = require(id);
        if (buffer.state() == BufferState.FAILED) {
            return clear(buffer);
        }
        try {
            if (buffer.state() == BufferState.PLUGGED && dropHeld) {
                buffer = advance(buffer, BufferEvent.DROP_HELD);
            } else if (buffer.state() == BufferState.PLUGGED) {
                try {
                    buffer = advance(buffer, BufferEvent.RELEASE);
                } catch (StepFailed releaseFailed) {
                    // journaled; with the plug gone or broken there is nothing to let out: remove what is left
                    buffer = releaseFailed.buffer;
                }
            }
            return rollBack(buffer);
        } catch (StepFailed failure) {
            BufferRecord failed = fail(failure.buffer, failure.step, failure.getCause().getMessage(), false);
            throw new NetbufException("teardown of buffer " + failed.id() + " failed at " + failure.step + ": "
                    + failure.getCause().getMessage(), failure.getCause());
        }
    }

    /** Undoes every step of {@code buffer} down to FREE, each removal write-ahead like the steps that made it. */
    BufferRecord rollBack(BufferRecord buffer) throws StepFailed {
        while (buffer.state() != BufferState.FREE) {
            buffer = advance(buffer, backward(buffer.state()));
        }
        return buffer;
    }

    /** Undoes what the failed install made and marks it FAILED; true if every step was undone. */
    private boolean rollBackAndFail(StepFailed failure) {
        try {
            BufferRecord free = rollBack(failure.buffer);
            fail(free, failure.step, failure.getCause().getMessage(), true);
            return true;
        } catch (NetbufDatabaseException e) {
            e.addSuppressed(failure.getCause());
            throw e.in("install of buffer " + failure.buffer.id() + " failed at " + failure.step + " ("
                    + failure.getCause().getMessage() + ") and its undo stopped");
        } catch (StepFailed undoFailed) {
            failure.getCause().addSuppressed(undoFailed.getCause());
            fail(undoFailed.buffer, failure.step, failure.getCause().getMessage() + "; undo failed at "
                    + undoFailed.step + ": " + undoFailed.getCause().getMessage(), false);
            return false;
        }
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
            transition(BufferState.FAILED, BufferEvent.CLEARED);
            return store.settle(b, BufferState.FREE, Outcome.UNDONE, BufferEvent.CLEARED.name(),
                    "what was left of the failed buffer removed");
        } catch (RuntimeException e) {
            store.note(b.id(), BufferEvent.CLEARED.name(), Outcome.FAILED, b.state(), "could not clear", e.getMessage());
            throw new NetbufException("buffer " + b.id() + " (vif " + b.vif() + ") is FAILED and what is left of it"
                    + " could not be removed: " + e.getMessage(), e);
        }
    }

    BufferRecord fail(BufferRecord buffer, KernelStep step, String reason, boolean released) {
        BufferMachine machine = BufferMachine.start(buffer.state());
        try {
            Transition t = machine.fire(BufferEvent.FAIL);
            return store.failed(buffer, t, step, reason, released);
        } finally {
            machine.stop();
        }
    }

    /**
     * One transition: the machine checks the event, the intent is committed, the kernel step runs, the outcome is
     * committed. A kernel failure is recorded (the buffer stays in the source state) and thrown as StepFailed. A
     * database that refuses the intent stops the transition before the kernel is touched; one that refuses the
     * outcome leaves the intent recorded, for recovery to resolve at the next start. Either is thrown as a
     * {@link NetbufDatabaseException} saying which: undoing earlier steps would need the database too, so
     * nothing more is tried.
     */
    BufferRecord advance(BufferRecord buffer, BufferEvent event) throws StepFailed {
        Transition t = transition(buffer.state(), event);
        KernelStep step = t.kernelStep().orElseThrow(() -> new IllegalArgumentException(event + " has no kernel step"));
        String about = "buffer " + buffer.id() + " (vif " + buffer.vif() + ", " + buffer.state() + "): " + step;
        BufferRecord intended;
        try {
            intended = step == KernelStep.IFB_UP ? intendIfb(buffer, t) : store.intent(buffer, t, describe(step, buffer));
        } catch (NetbufDatabaseException e) {
            throw e.in(about + " not started, the kernel was not changed");
        } catch (RuntimeException e) {
            throw new StepFailed(step, buffer, e);
        }
        faults.afterIntent(step);
        String detail;
        try {
            detail = runKernelStep(step, intended);
        } catch (RuntimeException e) {
            BufferRecord failed;
            try {
                failed = store.stepFailed(intended, t, e.getMessage());
            } catch (NetbufDatabaseException notRecorded) {
                notRecorded.addSuppressed(e);
                throw notRecorded.in(about + " failed in the kernel (" + e.getMessage() + "), and its intent stays"
                        + " recorded for recovery at the next start");
            }
            throw new StepFailed(step, failed, e);
        }
        faults.afterKernel(step);
        try {
            return store.done(intended, t, detail);
        } catch (NetbufDatabaseException e) {
            throw e.in(about + " done in the kernel; its intent stays recorded for recovery at the next start");
        }
    }

    /** The transition {@code event} takes from {@code state}, as the machine allows it. */
    private static Transition transition(BufferState state, BufferEvent event) {
        BufferMachine machine = BufferMachine.start(state);
        try {
            return machine.fire(event);
        } finally {
            machine.stop();
        }
    }

    /** Picks the ifb and claims it together with the intent: by name from the buffer id, or the first free in the pool. */
    private BufferRecord intendIfb(BufferRecord buffer, Transition t) {
        if (settings.ifbMode() == IfbMode.CREATE) {
            return store.intentWithIfb(buffer, t, settings.ifbPrefix() + buffer.id(), true);
        }
        Set<InterfaceName> claimed = new HashSet<>();
        store.claimedIfbs().forEach(name -> claimed.add(InterfaceName.of(name)));
        for (InterfaceName candidate : kernel.freePoolIfbs(claimed)) {
            try {
                return store.intentWithIfb(buffer, t, candidate.value(), false);
            } catch (ClaimRefusedException taken) {
                // another install claimed it between the listing and the claim: try the next one
            }
        }
        throw BufferInstaller.poolEmpty();
    }

    /** Runs the step; returns what the journal should add to its outcome (a removal that found its device gone). */
    private String runKernelStep(KernelStep step, BufferRecord b) {
        InterfaceName vif = InterfaceName.of(b.vif());
        InterfaceName ifb = InterfaceName.of(b.ifb());
        TcHandle handle = new TcHandle(b.plugHandle());
        String vifGone = "vif " + vif + " is gone: it took its ingress qdisc and filter with it";
        String ifbGone = "ifb " + ifb + " is gone: it took its plug qdisc with it";
        switch (step) {
            case IFB_UP -> {
                if (b.ifbCreated()) {
                    kernel.createIfb(ifb);
                } else {
                    kernel.takeIfb(ifb);
                }
            }
            case INGRESS_ADD -> kernel.addIngress(vif);
            case REDIRECT_ADD -> kernel.addRedirect(vif, ifb, b.protocol(), b.priority());
            case PLUG_ADD -> kernel.addPlug(ifb, handle, b.limitBytes());
            case PLUG_RELEASE_INDEFINITE -> kernel.releasePlug(ifb, handle);
            case PLUG_RESUME -> kernel.requirePlug(ifb, handle);
            case PLUG_DELETE -> {
                return kernel.removePlug(ifb, handle) ? null : ifbGone;
            }
            case PLUG_DROP -> {
                return kernel.dropPlug(ifb, handle) ? null : ifbGone;
            }
            case REDIRECT_DELETE -> {
                return kernel.removeRedirect(vif, b.protocol(), b.priority()) ? null : vifGone;
            }
            case INGRESS_DELETE -> {
                return kernel.removeIngress(vif) ? null : vifGone;
            }
            case IFB_RELEASE -> {
                return kernel.releaseIfb(ifb, b.ifbCreated()) ? null : "ifb " + ifb + " is gone";
            }
        }
        return null;
    }

    private static String describe(KernelStep step, BufferRecord b) {
        return switch (step) {
            case IFB_UP -> "ifb " + b.ifb();
            case INGRESS_ADD, INGRESS_DELETE -> "ingress ffff: on " + b.vif();
            case REDIRECT_ADD, REDIRECT_DELETE -> "u32 prio " + b.priority() + " protocol 0x"
                    + Integer.toHexString(b.protocol()) + " on " + b.vif() + " -> " + b.ifb();
            case PLUG_ADD -> "plug " + new TcHandle(b.plugHandle()) + " limit " + b.limitBytes() + " on " + b.ifb();
            case PLUG_RELEASE_INDEFINITE, PLUG_RESUME, PLUG_DELETE, PLUG_DROP -> "plug " + new TcHandle(b.plugHandle()) + " on " + b.ifb();
            case IFB_RELEASE -> (b.ifbCreated() ? "delete " : "down ") + b.ifb();
        };
    }

    /** The teardown event out of each state: the reverse of the step that led into it. */
    static BufferEvent backward(BufferState state) {
        return switch (state) {
            case PLUGGED, RELEASED -> BufferEvent.REMOVE_PLUG;
            case REDIRECTED -> BufferEvent.REMOVE_REDIRECT;
            case INGRESS -> BufferEvent.REMOVE_INGRESS;
            case IFB_UP -> BufferEvent.RELEASE_IFB;
            case FREE, FAILED -> throw new IllegalArgumentException("nothing to undo in " + state);
        };
    }

    private BufferRecord require(long id) {
        return store.find(id).orElseThrow(() -> new IllegalArgumentException("no buffer " + id));
    }

    /** A kernel step failed; carries the buffer as the database has it after recording the failure. */
    static final class StepFailed extends Exception {
        final KernelStep step;
        final BufferRecord buffer;

        StepFailed(KernelStep step, BufferRecord buffer, RuntimeException cause) {
            super(cause.getMessage(), cause);
            this.step = step;
            this.buffer = buffer;
        }
    }
}
