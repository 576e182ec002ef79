package io.remus.netbuf.server.domain;

/** Brings a domain's virtual hardware (here: its network interfaces) up and down. */
public interface HypervisorDriver {

    /**
     * Creates the domain's namespace and one veth pair per vif: host end in the server's netbuf namespace, guest end
     * in the domain's. On failure nothing is left behind.
     */
    void start(Domain domain);

    /** Removes what {@link #start} made; idempotent (whatever is already gone is skipped). */
    void stop(Domain domain);
}
