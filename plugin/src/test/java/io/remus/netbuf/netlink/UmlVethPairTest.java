package io.remus.netbuf.netlink;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * On kernel 6.1 (user-mode-linux), the one {@link VethPairTest} case where the kernels differ: before 6.12 the
 * kernel looked a new link's name up in the namespace of the socket that asked, not in the one the link is made
 * in, so a peer named like a device of dom0 (eth0) was refused unless the request came from the peer's namespace.
 * The host's 6.18 no longer does that. (Only this case, to keep the UML run short.)
 */
@Tag("uml-guest")
class UmlVethPairTest {

    @Test
    void aDeviceHereNamedLikeThePeerDoesNotGetInTheWay() {
        VethPairTest test = new VethPairTest();
        test.setUp();
        try {
            test.aDeviceHereNamedLikeThePeerDoesNotGetInTheWay();
        } finally {
            test.tearDown();
        }
    }
}
