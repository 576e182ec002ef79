package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.persistence.BufferRecord;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Output commit with real frames on a kernel with sch_plug (user-mode-linux), as a soak, on a buffer installed and
 * torn down through the lifecycle (the production path): for each of
 * {@value #DEFAULT_EPOCHS} epochs (long form: {@code -Dnetbuf.outputCommit.epochs=10000}) the guest sends IPv4,
 * IPv6 and ARP frames of random sizes up to the MTU, some while the previous epoch still awaits its ack; every
 * {@value #BURST_EVERY}th epoch sends a burst that runs the plug past its limit (4 MiB). Each epoch
 * ({@link OutputCommit}):
 * <ul>
 *   <li>while it is unacknowledged, none of its frames reaches the wire, and the plug holds exactly what sch_plug's
 *       rule says it holds (a frame is queued if the backlog plus its length stays within the limit, else dropped
 *       and counted): the same packets, bytes and drops;</li>
 *   <li>on release_one exactly its queued frames arrive, in the order sent, unaltered; frames of the next epoch
 *       stay held; frames dropped at the limit never arrive.</li>
 * </ul>
 * Nothing below the limit is lost, and the drops counted are the kernel's, seen through {@link PlugStats} and
 * through {@code tc -s -j qdisc}. release_indefinite at the end lets everything pass. The same for runt frames,
 * of 14 to 59 bytes, which earlier versions let through.
 */
@Tag("uml-guest")
class OutputCommitTest extends NamespaceTest {

    static final int DEFAULT_EPOCHS = 1000;
    static final int EPOCHS = Integer.getInteger("netbuf.outputCommit.epochs", DEFAULT_EPOCHS);
    static final int BURST_EVERY = 100;
    static final long LIMIT = PlugQdisc.DEFAULT_LIMIT_BYTES;
    static final int RUNT_EPOCHS = 5;
    static final List<Integer> ETHERTYPES = List.of(0x0800, 0x86DD, 0x0806);

    Random random = new Random(7);

    @Test
    void noFrameOfAnUnacknowledgedEpochReachesTheWireAndNoneBelowTheLimitIsLost() throws Exception {
        TestLifecycle lc = TestLifecycle.on(netlink);
        BufferRecord buffer = lc.lifecycle().install("dom7", VIF);
        PlugQdisc plug = lc.plugOf(buffer);
        assertThat(plug.limitBytes()).isEqualTo(LIMIT);
        Map<Integer, Integer> releasedByType = new HashMap<>();
        long released = 0;
        int bursts = 0;
        long started = System.nanoTime();

        try (Wire wire = new Wire(ns, "vif7.0", "eth0"); PlugControl control = netlink.openPlugControl(plug)) {
            OutputCommit oc = outputCommit(plug, wire);
            control.buffer(); // epoch 1 begins
            for (int epoch = 1; epoch <= EPOCHS; epoch++) {
                // a burst past the limit, alone in the plug or on top of the epoch awaiting its ack
                boolean burst = epoch % BURST_EVERY == 0;
                boolean burstEarly = burst && epoch % (2 * BURST_EVERY) == 0;
                bursts += burst ? 1 : 0;
                List<Wire.Frame> got = oc.checkpoint(control, epoch,
                        () -> burst && !burstEarly ? oc.burstSizes(64 * 1024) : oc.sizes(1 + random.nextInt(5)),
                        burst && !burstEarly,
                        () -> burstEarly ? oc.burstSizes(64 * 1024) : oc.sizes(random.nextInt(3)), burstEarly);
                got.forEach(f -> releasedByType.merge(f.ethertype(), 1, Integer::sum));
                released += got.size();
            }
            oc.releaseIndefinitely(control, EPOCHS);
            PlugStats stats = netlink.plugStats(plug).orElseThrow();
            JsonNode tc = ns.qdisc(plug.ifb().name().value(), "plug").orElseThrow();
            System.out.printf("output commit: %d epochs (%d bursts past the %d-byte limit) in %d s; released %d"
                            + " frames (IPv4 %d, IPv6 %d, ARP %d), dropped at the limit %d (PlugStats %d, tc %d)%n",
                    EPOCHS, bursts, LIMIT, (System.nanoTime() - started) / 1_000_000_000L, released,
                    releasedByType.get(0x0800), releasedByType.get(0x86DD), releasedByType.get(0x0806), oc.drops(),
                    stats.drops(), tc.path("drops").asLong());
            assertThat(releasedByType.keySet()).containsExactlyInAnyOrder(0x0800, 0x86DD, 0x0806);
            assertThat(bursts == 0 || oc.drops() > 0).as("the bursts crossed the limit").isTrue();
            assertThat(stats.drops()).as("drops PlugStats reports").isEqualTo(oc.drops());
            assertThat(tc.path("drops").asLong()).as("drops tc reports: %s", tc).isEqualTo(oc.drops());
            assertThat(stats.sentPackets()).as("everything queued left the plug").isEqualTo(oc.sent() - oc.drops());
        }
        assertThat(lc.lifecycle().teardown(buffer.id()).state()).isEqualTo(BufferState.FREE);
        assertThat(ns.linksOfType("ifb")).isEmpty();
    }

    /**
     * Runt frames of every size from 14 to 59 bytes and of every ethertype, the smallest with nothing after their
     * Ethernet header: held while their epoch is unacknowledged, released in order by release_one, like any other.
     */
    @Test
    void runtFramesAreHeldUntilTheirEpochIsAcknowledged() throws Exception {
        TestLifecycle lc = TestLifecycle.on(netlink);
        BufferRecord buffer = lc.lifecycle().install("dom7", VIF);
        PlugQdisc plug = lc.plugOf(buffer);
        try (Wire wire = new Wire(ns, "vif7.0", "eth0"); PlugControl control = netlink.openPlugControl(plug)) {
            OutputCommit oc = outputCommit(plug, wire);
            control.buffer();
            oc.runtEpochs(control, RUNT_EPOCHS);
        }
        assertThat(netlink.plugStats(plug).orElseThrow().drops()).isZero();
        assertThat(lc.lifecycle().teardown(buffer.id()).state()).isEqualTo(BufferState.FREE);
        assertThat(ns.linksOfType("ifb")).isEmpty();
    }

    private OutputCommit outputCommit(PlugQdisc plug, Wire wire) {
        return new OutputCommit(netlink, plug, wire, () -> ns.qdisc(plug.ifb().name().value(), "plug").orElseThrow(),
                ETHERTYPES, random);
    }
}
