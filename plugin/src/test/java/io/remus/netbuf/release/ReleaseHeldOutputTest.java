package io.remus.netbuf.release;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.lifecycle.FaultInjection;
import io.remus.netbuf.lifecycle.NetbufSettings;
import io.remus.netbuf.netlink.IfbMode;
import io.remus.netbuf.netlink.IngressQdisc;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Link;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugControl;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.RedirectFilter;
import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.netlink.TcHandle;
import io.remus.netbuf.netlink.TestLifecycle;
import io.remus.netbuf.netlink.TestNamespace;
import io.remus.netbuf.netlink.Wire;
import io.remus.netbuf.persistence.BufferRecord;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The release command on a kernel with sch_plug (user-mode-linux), run as the launcher runs it (a child JVM, through
 * {@code src/uml/release-held-output.sh}), against plugs holding real frames: ours, installed through the lifecycle,
 * in create mode ({@code nbifb<id>}, with the Wire topology: the frames are seen arriving on the wire) and in pool
 * mode ({@code ifb0}), and a plug with another handle, which must stay blocked.
 */
@Tag("uml-guest")
class ReleaseHeldOutputTest {

    static final long LIMIT = PlugQdisc.DEFAULT_LIMIT_BYTES;

    TestNamespace ns;
    Netlink netlink;

    @BeforeEach
    void createNamespace() {
        ns = TestNamespace.create();
        netlink = ns.open();
    }

    @AfterEach
    void deleteNamespace() {
        netlink.close();
        ns.close();
    }

    @Test
    void withNoPlugItExitsZeroSayingNothingIsHeld() throws Exception {
        ns.addVif("vif7.0", "eth0");
        ReleaseCommand.Result r = ReleaseCommand.run("--netbuf.namespace=" + ns.file());
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("no plug qdisc 4e42: on an ifb in network namespace " + ns.file()
                + ": nothing held");
    }

    @Test
    void releasesOurPlugsInCreateAndPoolModeSoTheirFramesReachTheWireAndLeavesAnotherHandleAlone() throws Exception {
        ns.addVif("vif7.0", "eth0");
        ns.addVif("vif7.1", "eth1");
        ns.addVif("vif7.2", "eth2");
        ns.addIfbs(List.of("ifb0", "ifb1"));
        // someone else's plug on ifb1, fed from vif7.2 the same way; a new plug qdisc starts blocked (made first:
        // with a plug at its root, ifb1 is not free to our pool buffer, which takes ifb0)
        Link vif = netlink.link(InterfaceName.of("vif7.2"));
        Link ifb = netlink.link(InterfaceName.of("ifb1"));
        netlink.setUp(ifb);
        netlink.addIngress(new IngressQdisc(vif));
        netlink.addRedirect(new RedirectFilter(vif, ifb, RedirectFilter.ETH_P_ALL, 10));
        netlink.addPlug(new PlugQdisc(ifb, TcHandle.of(1, 0), LIMIT));
        // ours, through the lifecycle, with one journal: created for vif7.0, taken from the pool for vif7.1
        TestLifecycle ours = TestLifecycle.on(netlink);
        TestLifecycle pool = ours.sameDatabase(NetbufSettings.defaults().withIfbMode(IfbMode.POOL),
                FaultInjection.none());
        BufferRecord created = ours.lifecycle().install("dom7", InterfaceName.of("vif7.0"));
        BufferRecord pooled = pool.lifecycle().install("dom7p", InterfaceName.of("vif7.1"));
        assertThat(pooled.ifb()).isEqualTo("ifb0");

        try (Wire wire = new Wire(ns, "vif7.0", "eth0");
             PlugControl createdPlug = netlink.openPlugControl(ours.plugOf(created));
             PlugControl pooledPlug = netlink.openPlugControl(pool.plugOf(pooled))) {
            createdPlug.buffer(); // an epoch begins: from now on its frames wait for the backup's ack
            pooledPlug.buffer();
            wire.send(1, 0, 5, 300);
            sendArp("eth1");
            sendArp("eth2");
            awaitQueued(created.ifb(), 5);
            long pooledHeld = awaitQueued("ifb0", 1);
            long othersHeld = awaitQueued("ifb1", 1);
            assertThat(wire.await(1, 500)).as("held frames stay off the wire").isEmpty();

            ReleaseCommand.Result r = ReleaseCommand.run("--netbuf.namespace=" + ns.file());

            assertThat(r.exit()).as(r.output()).isZero();
            assertThat(r.output()).contains("released plug 4e42: on " + created.ifb() + "(#",
                    "released plug 4e42: on ifb0(#",
                    "released 2 of 2 plug qdiscs in network namespace " + ns.file());
            assertThat(r.output().replace(created.ifb(), "<created>")).as("nothing about the other handle's ifb1")
                    .doesNotContain("ifb1");
            assertThat(wire.await(5, 10_000)).as("the held frames, on the wire, in order")
                    .extracting(Wire.Frame::seq).containsExactly(0, 1, 2, 3, 4);
            awaitQueued("ifb0", 0);
            assertThat(sent("ifb0")).as("the pool plug's frames left it").isGreaterThanOrEqualTo(pooledHeld);
            assertThat(queued("ifb1")).as("the other handle's plug still holds its frames")
                    .isGreaterThanOrEqualTo(othersHeld);
            assertThat(sent("ifb1")).isZero();
        }
    }

    /** An ARP request out of the guest's {@code dev}: nobody answers, so a ping sends only that. */
    private void sendArp(String dev) {
        int n = Integer.parseInt(dev.substring(3));
        Sh.run("ip", "-n", ns.guest, "addr", "add", "10.77." + n + ".2/24", "dev", dev);
        Sh.tryRun("ip", "netns", "exec", ns.guest, "ping", "-c", "1", "-W", "1", "-I", dev, "10.77." + n + ".1");
    }

    /** Waits up to 10 s until the plug on {@code ifb} queues at least {@code atLeast} frames (exactly 0 for 0). */
    private long awaitQueued(String ifb, long atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        long q;
        while ((q = queued(ifb)) < atLeast || (atLeast == 0 && q > 0)) {
            assertThat(System.nanoTime()).as("%s queues %d frames, %s", ifb, atLeast, ns.qdiscs(ifb))
                    .isLessThan(deadline);
            Thread.sleep(20);
        }
        return q;
    }

    private long queued(String ifb) {
        return ns.qdisc(ifb, "plug").orElseThrow().path("qlen").asLong();
    }

    private long sent(String ifb) {
        return ns.qdisc(ifb, "plug").orElseThrow().path("packets").asLong();
    }
}
