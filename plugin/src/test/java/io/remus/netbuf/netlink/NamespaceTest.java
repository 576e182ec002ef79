package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

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

    /** Waits up to 10 s until {@code plug} holds {@code packets} frames (frames sent by the guest are in flight). */
    void awaitBacklog(PlugQdisc plug, long packets) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        PlugStats stats;
        while ((stats = netlink.plugStats(plug).orElseThrow()).backlogPackets() != packets) {
            assertThat(System.nanoTime()).as("backlog of %d frames; now %s; %s", packets, stats,
                    ns.qdiscs(plug.ifb().name().value())).isLessThan(deadline);
            Thread.onSpinWait();
        }
    }
}
