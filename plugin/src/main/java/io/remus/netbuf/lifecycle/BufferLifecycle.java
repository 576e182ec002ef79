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
import io.remus.netbuf.persistence.NetbufDatabaseException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

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
     * Removes the buffer's kernel objects in reverse order and ends FREE. From PLUGGED it first passes through
     * RELEASED, so the frames of the last epoch leave instead of being dropped (if that release fails, the plug is
     * already gone or broken, and the removal goes on). A removal that fails leaves the buffer FAILED, still
     * holding its claims.
     */
    public BufferRecord teardown(long id) {
        BufferRecord buffer = require(id);
        try {
            if (buffer.state() == BufferState.PLUGGED) {
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
        BufferMachine machine = BufferMachine.start(buffer.state());
        Transition t;
        try {
            t = machine.fire(event);
        } finally {
            machine.stop();
        }
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
            case PLUG_DELETE -> {
                return kernel.removePlug(ifb, handle) ? null : ifbGone;
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
            case PLUG_RELEASE_INDEFINITE, PLUG_DELETE -> "plug " + new TcHandle(b.plugHandle()) + " on " + b.ifb();
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
