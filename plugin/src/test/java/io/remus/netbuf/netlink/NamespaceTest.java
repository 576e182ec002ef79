package io.remus.netbuf.netlink;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A fresh namespace with one vif ({@code vif7.0}, guest end {@code eth0}) and a socket in it, for each test. */
abstract class NamespaceTest {

    static final InterfaceName VIF = InterfaceName.of("vif7.0");

    TestNamespace ns;
    Netlink netlink;

    @BeforeEach
    void createNamespace() {
        ns = TestNamespace.create();
        ns.addVif(VIF.value(), "eth0");
        netlink = ns.open();
    }

    @AfterEach
    void deleteNamespace() {
        if (netlink != null) {
            netlink.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    void awaitBacklog(PlugQdisc plug, long packets) {
        KernelFixture.awaitBacklog(netlink, plug, packets);
    }
}
