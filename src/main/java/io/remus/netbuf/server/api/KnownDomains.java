package io.remus.netbuf.server.api;

/** The domains the server knows, whichever hypervisor has them: what the checkpoint API may drive. */
interface KnownDomains {

    /**
     * {@code name}, if it is a valid name of a domain the server knows.
     *
     * @throws BadRequestException if it is not a valid name
     * @throws io.remus.netbuf.server.domain.DomainNotFoundException if no domain has it
     */
    String known(String name);
}
