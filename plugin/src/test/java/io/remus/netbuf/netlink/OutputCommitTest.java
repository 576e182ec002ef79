package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Output commit with real frames on a kernel with sch_plug (user-mode-linux): the guest sends IPv4, IPv6 and ARP
 * frames during each epoch; while the epoch is unacknowledged none of them reaches the wire; on release_one
 * exactly that epoch's frames arrive, in the order sent; frames of the next epoch stay held; release_indefinite
 * lets everything pass.
 */
@Tag("uml-guest")
class OutputCommitTest extends NamespaceTest {

    static final int EPOCHS = Integer.getInteger("netbuf.outputCommit.epochs", 1000);
    static final long WAIT_MILLIS = 10_000;

    @Test
    void noFrameOfAnUnacknowledgedEpochReachesTheWire() throws Exception {
        BufferInstaller installer = new BufferInstaller(netlink, IfbMode.CREATE, PlugQdisc.DEFAULT_LIMIT_BYTES,
                RedirectFilter.ETH_P_ALL);
        InstalledBuffer buffer = installer.install(VIF, InterfaceName.of("nbifb7"));
        PlugQdisc plug = buffer.plug();
        Random random = new Random(7);
        Map<Integer, Integer> releasedByType = new HashMap<>();
        int seq = 0;

        try (Wire wire = new Wire(ns, "vif7.0", "eth0"); PlugControl control = netlink.openPlugControl(plug)) {
            control.buffer(); // epoch 1 begins
            List<Integer> early = new ArrayList<>(); // frames of the current epoch sent before its predecessor's ack
            for (int epoch = 1; epoch <= EPOCHS; epoch++) {
                List<Integer> sent = new ArrayList<>(early);
                int n = 1 + random.nextInt(5);
                wire.send(epoch, seq, n, 60 + random.nextInt(1400));
                for (int i = 0; i < n; i++) {
                    sent.add(seq++);
                }
                awaitBacklog(plug, sent.size());
                assertThat(wire.drain()).as("epoch %d is not acknowledged: nothing may reach the wire", epoch).isEmpty();

                control.buffer(); // checkpoint: epoch closes, the next one begins
                early = new ArrayList<>();
                int m = random.nextInt(3);
                if (m > 0) {
                    wire.send(epoch + 1, seq, m, 60 + random.nextInt(1400));
                    for (int i = 0; i < m; i++) {
                        early.add(seq++);
                    }
                }
                awaitBacklog(plug, sent.size() + early.size());
                assertThat(wire.drain()).as("epoch %d is not acknowledged: nothing may reach the wire", epoch).isEmpty();

                control.releaseOne(); // the backup acknowledged the epoch
                List<Wire.Frame> got = wire.await(sent.size(), WAIT_MILLIS);
                int e = epoch;
                assertThat(got).as("epoch %d released: its frames, in order", epoch)
                        .allSatisfy(f -> assertThat(f.epoch()).isEqualTo(e))
                        .extracting(Wire.Frame::seq).containsExactlyElementsOf(sent);
                awaitBacklog(plug, early.size());
                got.forEach(f -> releasedByType.merge(f.ethertype(), 1, Integer::sum));
            }

            control.releaseIndefinite(); // the backup is lost: the guest runs on unprotected
            List<Wire.Frame> rest = wire.await(early.size(), WAIT_MILLIS);
            assertThat(rest).extracting(Wire.Frame::seq).containsExactlyElementsOf(early);
            wire.send(EPOCHS + 2, seq, 9, 200);
            assertThat(wire.await(9, WAIT_MILLIS)).extracting(Wire.Frame::epoch).containsOnly(EPOCHS + 2);
            assertThat(wire.drain()).isEmpty();
        }
        System.out.printf("output commit: %d epochs, released IPv4 %d, IPv6 %d, ARP %d frames%n", EPOCHS,
                releasedByType.get(0x0800), releasedByType.get(0x86DD), releasedByType.get(0x0806));
        assertThat(releasedByType.keySet()).containsExactlyInAnyOrder(0x0800, 0x86DD, 0x0806);
        PlugStats stats = netlink.plugStats(plug).orElseThrow();
        assertThat(stats.drops()).isZero();
        installer.uninstall(buffer);
        assertThat(ns.linksOfType("ifb")).isEmpty();
    }

    /** The frames sent are all in the plug queue: they reached it and neither passed nor were lost. */
    private void awaitBacklog(PlugQdisc plug, long packets) {
        long deadline = System.nanoTime() + WAIT_MILLIS * 1_000_000;
        PlugStats stats;
        while ((stats = netlink.plugStats(plug).orElseThrow()).backlogPackets() != packets) {
            assertThat(stats.backlogPackets()).as("backlog overshoot: %s", stats).isLessThan(packets);
            assertThat(System.nanoTime()).as("backlog of %d frames; now %s", packets, stats).isLessThan(deadline);
            Thread.onSpinWait();
        }
    }
}
