package io.remus.netbuf.server.domain;

import java.util.List;

/** Brings a domain's virtual hardware (here: its network interfaces) up and down. */
public interface HypervisorDriver {

    /** What of a domain's devices exists: its namespace, and which of its host vifs. */
    record Devices(boolean namespace, List<String> hostVifs) {

        /** The namespace and every host vif of {@code domain} exist. */
        public boolean complete(Domain domain) {
            return namespace && hostVifs.containsAll(domain.hostVifs());
        }

        public boolean none() {
            return !namespace && hostVifs.isEmpty();
        }
    }

    /**
     * Creates the domain's namespace and one veth pair per vif: host end in the server's netbuf namespace, guest end
     * in the domain's. On failure nothing it made is left behind (and nothing it did not make is touched).
     */
    void start(Domain domain);

    /** Removes what {@link #start} made; idempotent (whatever is already gone is skipped). */
    void stop(Domain domain);

    /** Which of the domain's devices exist now. */
    Devices devices(Domain domain);
}
