package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

/** A test namespace with vifs and a netlink socket in it, for tests outside this package. Closing removes it all. */
public final class KernelFixture implements AutoCloseable {

    private final TestNamespace ns;
    private final Netlink netlink;

    private KernelFixture(TestNamespace ns) {
        this.ns = ns;
        this.netlink = ns.open();
    }

    /** A namespace with one veth pair per name: the vif here, {@code eth<i>} in the guest namespace. */
    public static KernelFixture withVifs(String... vifs) {
        TestNamespace ns = TestNamespace.create();
        try {
            for (int i = 0; i < vifs.length; i++) {
                ns.addVif(vifs[i], "eth" + i);
            }
            return new KernelFixture(ns);
        } catch (RuntimeException | AssertionError e) {
            ns.close();
            throw e;
        }
    }

    public TestNamespace ns() {
        return ns;
    }

    public Netlink netlink() {
        return netlink;
    }

    /** No ifb in the namespace, and no ingress qdisc or filter on {@code vif} (if it still exists). */
    public void assertNoBufferObjects(String... vifs) {
        assertThat(ns.linksOfType("ifb")).as("ifbs left").isEmpty();
        for (String vif : vifs) {
            if (ns.link(vif).isPresent()) {
                assertThat(ns.qdisc(vif, IngressQdisc.KIND)).as("ingress left on %s", vif).isEmpty();
                assertThat(ns.ingressFilters(vif)).as("filters left on %s", vif).isEmpty();
            }
        }
    }

    /** Waits up to 10 s until {@code plug} holds {@code packets} frames (frames sent by the guest are in flight). */
    public static void awaitBacklog(Netlink netlink, PlugQdisc plug, long packets) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        PlugStats stats;
        while ((stats = netlink.plugStats(plug).orElseThrow()).backlogPackets() != packets) {
            assertThat(System.nanoTime()).as("backlog of %d frames; now %s; %s", packets, stats,
                    netlink.qdiscs(plug.ifb())).isLessThan(deadline);
            Thread.onSpinWait();
        }
    }

    @Override
    public void close() {
        netlink.close();
        ns.close();
    }
}
