package io.remus.netbuf.model;

/** What may happen to a buffer; see {@link Transitions} for where each event is allowed. */
public enum BufferEvent {
    /** Acquire an ifb device and set it up. */
    ACQUIRE_IFB,
    /** Add an ingress qdisc to the vif. */
    ADD_INGRESS,
    /** Redirect the vif's ingress traffic to the ifb. */
    ADD_REDIRECT,
    /** Add a plug qdisc to the ifb. */
    ADD_PLUG,
    /** Release the plug indefinitely, on failover or before teardown. */
    RELEASE,
    /** Protect a failed-over buffer again: its plug holds output from the next epoch on. */
    RESUME,
    /** Delete the plug qdisc (from PLUGGED or RELEASED). */
    REMOVE_PLUG,
    /** Delete the plug qdisc of a PLUGGED buffer with what it holds: the domain it buffers is gone. */
    DROP_HELD,
    /** Delete the redirect from the vif to the ifb. */
    REMOVE_REDIRECT,
    /** Delete the ingress qdisc from the vif. */
    REMOVE_INGRESS,
    /** Set the ifb down and delete it if it was created for this buffer. */
    RELEASE_IFB,
    /** A kernel step failed; allowed from every state but FAILED. */
    FAIL,
    /** Recovery has undone what a failure left behind. */
    CLEARED
}
