package io.remus.netbuf.netlink;

import org.junit.jupiter.api.Tag;

/**
 * {@link VethPairTest} on kernel 6.1 (user-mode-linux). Before 6.12 the kernel looked a new link's name up in the
 * namespace of the socket that asked, not in the one the link is made in: there a peer named like a device of dom0
 * (eth0) is refused unless the request comes from the peer's namespace. The host's 6.18 no longer does that.
 */
@Tag("uml-guest")
class UmlVethPairTest extends VethPairTest {
}
