package io.remus.netbuf.model;

/** The single kernel step behind a forward or backward transition; FAIL and CLEARED have none. */
public enum KernelStep {
    /** Acquire an ifb and set it up. */
    IFB_UP,
    /** Add an ingress qdisc to the vif. */
    INGRESS_ADD,
    /** Add a filter redirecting the vif's ingress traffic to the ifb. */
    REDIRECT_ADD,
    /** Add a plug qdisc to the ifb. */
    PLUG_ADD,
    /** Release the plug indefinitely. */
    PLUG_RELEASE_INDEFINITE,
    /**
     * Check that the released plug is still there to hold output again. Nothing changes in the kernel: a released
     * plug passes output until the next epoch's {@code buffer}, as a new one does.
     */
    PLUG_RESUME,
    /** Delete the plug qdisc, after letting out what it holds. */
    PLUG_DELETE,
    /** Delete the plug qdisc with what it holds, unreleased: the domain is gone. */
    PLUG_DROP,
    /** Delete the redirect filter. */
    REDIRECT_DELETE,
    /** Delete the ingress qdisc. */
    INGRESS_DELETE,
    /** Set the ifb down; delete it if created. */
    IFB_RELEASE
}
