package io.remus.netbuf.model;

import static io.remus.netbuf.model.BufferState.FAILED;
import static io.remus.netbuf.model.BufferState.FREE;
import static io.remus.netbuf.model.BufferState.IFB_UP;
import static io.remus.netbuf.model.BufferState.INGRESS;
import static io.remus.netbuf.model.BufferState.PLUGGED;
import static io.remus.netbuf.model.BufferState.REDIRECTED;
import static io.remus.netbuf.model.BufferState.RELEASED;

import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The lifecycle's one table: each row a step, named once. Its name is the event the machine takes, the step in
 * flight recorded in a buffer's row, the journal's name for it and, with {@link #crashPoints}, where the crash
 * tests stop a process. A row says from which states it is allowed, where it leads, what kind of step it is and
 * which removal undoes it. The machine ({@link BufferMachine}), the lifecycle, recovery and the crash matrix read
 * this table; the plugin's {@code BufferInstaller.run} maps each row with a kernel call to it (a switch the
 * compiler checks). Adding a step is a row here and its case there.
 */
public enum BufferEvent {
    // install, in order; each undone by the removal it names
    /** Acquire an ifb device (created for the buffer, or taken from the pool) and set it up. */
    ACQUIRE_IFB(Kind.INSTALL, "RELEASE_IFB", IFB_UP, FREE),
    /** Add an ingress qdisc to the vif. */
    ADD_INGRESS(Kind.INSTALL, "REMOVE_INGRESS", INGRESS, IFB_UP),
    /** Redirect every frame the vif receives (the guest's output) to the ifb. */
    ADD_REDIRECT(Kind.INSTALL, "REMOVE_REDIRECT", REDIRECTED, INGRESS),
    /** Add a plug qdisc at the ifb's root, released until the domain's first epoch. */
    ADD_PLUG(Kind.INSTALL, "REMOVE_PLUG", PLUGGED, REDIRECTED),

    // the backup is lost, and found again
    /** Release the plug indefinitely: failover, or before teardown so that nothing held is dropped. */
    RELEASE(Kind.FORWARD, "REMOVE_PLUG", RELEASED, PLUGGED),
    /**
     * Protect a failed-over buffer again. Its kernel call only checks that the plug is there: a released plug
     * passes output until the next epoch's {@code buffer}, as a new one does.
     */
    RESUME(Kind.FORWARD, "REMOVE_PLUG", PLUGGED, RELEASED),

    // teardown, in reverse; removals are idempotent (an object or device already gone is done)
    /** Delete the plug qdisc, after letting out what it holds. */
    REMOVE_PLUG(Kind.REMOVAL, null, REDIRECTED, PLUGGED, RELEASED),
    /** Delete the plug qdisc with what it holds, unreleased: the domain it buffers is gone. */
    DROP_HELD(Kind.REMOVAL, null, REDIRECTED, PLUGGED),
    /** Delete the redirect filter from the vif. */
    REMOVE_REDIRECT(Kind.REMOVAL, null, INGRESS, REDIRECTED),
    /** Delete the vif's ingress qdisc. */
    REMOVE_INGRESS(Kind.REMOVAL, null, IFB_UP, INGRESS),
    /** Delete the ifb if it was created for the buffer, else set it down and leave it in the pool. */
    RELEASE_IFB(Kind.REMOVAL, null, FREE, IFB_UP),

    // no kernel call
    /** A kernel step failed and could not be undone, or was undone and the install given up: FAILED. */
    FAIL(Kind.RECORD, null, FAILED, FREE, IFB_UP, INGRESS, REDIRECTED, PLUGGED, RELEASED),
    /** What a failure left behind has been removed. */
    CLEARED(Kind.RECORD, null, FREE, FAILED);

    /** What a step does. */
    public enum Kind {
        /** A kernel call that makes an object; the install runs these in table order. */
        INSTALL,
        /** A kernel call that changes the plug and makes nothing. */
        FORWARD,
        /** A kernel call that removes an object. */
        REMOVAL,
        /** No kernel call: the row records what happened. */
        RECORD
    }

    private final Kind kind;
    private final String undo;
    private final BufferState target;
    private final Set<BufferState> sources;

    BufferEvent(Kind kind, String undo, BufferState target, BufferState... sources) {
        this.kind = kind;
        this.undo = undo;
        this.target = target;
        this.sources = Set.copyOf(EnumSet.copyOf(List.of(sources)));
    }

    public Kind kind() {
        return kind;
    }

    /** Whether the step has a kernel call (every kind but RECORD). */
    public boolean hasKernelCall() {
        return kind != Kind.RECORD;
    }

    /**
     * Whether a crash may have left the step done in the kernel with its outcome unrecorded, so that recovery takes
     * it as done and undoes it; a removal in flight is done again instead (removals are idempotent).
     */
    public boolean takenAsDoneIfInFlight() {
        return kind == Kind.INSTALL || kind == Kind.FORWARD;
    }

    /** The removal that takes a buffer back down from where this step leaves it; empty for removals and records. */
    public Optional<BufferEvent> undo() {
        return Optional.ofNullable(undo).map(BufferEvent::valueOf);
    }

    public BufferState target() {
        return target;
    }

    /** The states this step is allowed from. */
    public Set<BufferState> sources() {
        return sources;
    }

    /**
     * Where the crash tests stop a process in this step: once its intent is committed, once its kernel call has
     * returned (for a domain's step, with every vif of the batch at that point). Empty without a kernel call.
     */
    public List<String> crashPoints() {
        return hasKernelCall() ? List.of(afterIntent(), afterKernel()) : List.of();
    }

    public String afterIntent() {
        return "after-intent:" + name();
    }

    public String afterKernel() {
        return "after-kernel:" + name();
    }

    /** The install steps, in order. */
    public static List<BufferEvent> install() {
        return List.of(values()).stream().filter(e -> e.kind == Kind.INSTALL).toList();
    }

    /**
     * The removal out of {@code state}: the undo of the steps that lead into it.
     *
     * @throws IllegalArgumentException for FREE and FAILED, which have nothing to undo
     */
    public static BufferEvent backward(BufferState state) {
        for (BufferEvent e : values()) {
            if (e.target == state && e.undo != null) {
                return e.undo().orElseThrow();
            }
        }
        throw new IllegalArgumentException("nothing to undo in " + state);
    }
}
