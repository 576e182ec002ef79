package io.remus.netbuf.model;

/** Where a buffer is in its lifecycle; each forward state is one kernel step further than the one before. */
public enum BufferState {
    /** Nothing installed in the kernel for this buffer. */
    FREE,
    /** An ifb device has been acquired and set up. */
    IFB_UP,
    /** An ingress qdisc is on the guest's vif. */
    INGRESS,
    /** The vif's ingress traffic is redirected to the ifb. */
    REDIRECTED,
    /** A plug qdisc on the ifb buffers the guest's output: the buffer is working. */
    PLUGGED,
    /** The plug has been released indefinitely (failover or before teardown): traffic flows unbuffered. */
    RELEASED,
    /** A kernel step failed; recovery must undo what was left before the buffer is FREE again. */
    FAILED;

    /**
     * Whether a buffer may stay in this state across a restart; any other state is mid-install or
     * mid-teardown and recovery must roll it back.
     */
    public boolean isResting() {
        return switch (this) {
            case FREE, PLUGGED, RELEASED, FAILED -> true;
            case IFB_UP, INGRESS, REDIRECTED -> false;
        };
    }
}
