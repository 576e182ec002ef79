package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Output commit with real frames on a kernel with sch_plug (user-mode-linux), as a soak: for each of
 * {@value #DEFAULT_EPOCHS} epochs (long form: {@code -Dnetbuf.outputCommit.epochs=10000}) the guest sends IPv4,
 * IPv6 and ARP frames of random sizes up to the MTU, some while the previous epoch still awaits its ack; every
 * {@value #BURST_EVERY}th epoch sends a burst that runs the plug past its limit (4 MiB). Each epoch:
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
    /** Bytes on the wire: the smallest Ethernet frame without FCS, and MTU 1500 plus the Ethernet header. */
    static final int MIN_FRAME = 60;
    static final int MAX_FRAME = 1514;
    static final int RUNT_EPOCHS = 5;
    static final int[] ETHERTYPES = {0x0800, 0x86DD, 0x0806}; // frames.py cycles them by sequence number
    static final long WAIT_MILLIS = 20_000;

    Random random = new Random(7);
    HeldFrames held = new HeldFrames(LIMIT);
    int seq;

    @Test
    void noFrameOfAnUnacknowledgedEpochReachesTheWireAndNoneBelowTheLimitIsLost() throws Exception {
        BufferInstaller installer = new BufferInstaller(netlink, IfbMode.CREATE, LIMIT, RedirectFilter.ETH_P_ALL);
        InstalledBuffer buffer = installer.install(VIF, InterfaceName.of("nbifb7"));
        PlugQdisc plug = buffer.plug();
        Map<Integer, Integer> releasedByType = new HashMap<>();
        long released = 0;
        int bursts = 0;
        long started = System.nanoTime();

        try (Wire wire = new Wire(ns, "vif7.0", "eth0"); PlugControl control = netlink.openPlugControl(plug)) {
            control.buffer(); // epoch 1 begins
            for (int epoch = 1; epoch <= EPOCHS; epoch++) {
                // a burst past the limit, alone in the plug or on top of the epoch awaiting its ack
                boolean burst = epoch % BURST_EVERY == 0;
                boolean burstEarly = burst && epoch % (2 * BURST_EVERY) == 0;
                bursts += burst ? 1 : 0;
                List<Wire.Frame> got = checkpoint(wire, control, plug, epoch,
                        () -> burst && !burstEarly ? burstSizes() : sizes(1 + random.nextInt(5)), burst && !burstEarly,
                        () -> burstEarly ? burstSizes() : sizes(random.nextInt(3)), burstEarly);
                got.forEach(f -> releasedByType.merge(f.ethertype(), 1, Integer::sum));
                released += got.size();
            }
            releaseIndefinitely(wire, control, EPOCHS);
        }
        PlugStats stats = netlink.plugStats(plug).orElseThrow();
        JsonNode tc = ns.qdisc(plug.ifb().name().value(), "plug").orElseThrow();
        System.out.printf("output commit: %d epochs (%d bursts past the %d-byte limit) in %d s; released %d frames"
                        + " (IPv4 %d, IPv6 %d, ARP %d), dropped at the limit %d (PlugStats %d, tc %d)%n", EPOCHS,
                bursts, LIMIT, (System.nanoTime() - started) / 1_000_000_000L, released,
                releasedByType.get(0x0800), releasedByType.get(0x86DD), releasedByType.get(0x0806), held.drops,
                stats.drops(), tc.path("drops").asLong());
        assertThat(releasedByType.keySet()).containsExactlyInAnyOrder(0x0800, 0x86DD, 0x0806);
        assertThat(bursts == 0 || held.drops > 0).as("the bursts crossed the limit").isTrue();
        assertThat(stats.drops()).as("drops PlugStats reports").isEqualTo(held.drops);
        assertThat(tc.path("drops").asLong()).as("drops tc reports: %s", tc).isEqualTo(held.drops);
        assertThat(stats.sentPackets()).as("everything queued left the plug").isEqualTo(seq - held.drops);
        installer.uninstall(buffer);
        assertThat(ns.linksOfType("ifb")).isEmpty();
    }

    /**
     * Runt frames of every size from 14 to 59 bytes and of every ethertype, the smallest with nothing after their
     * Ethernet header: held while their epoch is unacknowledged, released in order by release_one, like any other.
     */
    @Test
    void runtFramesAreHeldUntilTheirEpochIsAcknowledged() throws Exception {
        BufferInstaller installer = new BufferInstaller(netlink, IfbMode.CREATE, LIMIT, RedirectFilter.ETH_P_ALL);
        InstalledBuffer buffer = installer.install(VIF, InterfaceName.of("nbifb7"));
        PlugQdisc plug = buffer.plug();
        try (Wire wire = new Wire(ns, "vif7.0", "eth0"); PlugControl control = netlink.openPlugControl(plug)) {
            control.buffer();
            for (int epoch = 1; epoch <= RUNT_EPOCHS; epoch++) {
                List<Wire.Frame> got = checkpoint(wire, control, plug, epoch, this::shuffledRunts, false,
                        () -> shuffledRunts().subList(0, random.nextInt(8)), false);
                assertThat(got).extracting(Wire.Frame::ethertype).contains(0x0800, 0x86DD, 0x0806);
            }
            releaseIndefinitely(wire, control, RUNT_EPOCHS);
        }
        assertThat(netlink.plugStats(plug).orElseThrow().drops()).isZero();
        installer.uninstall(buffer);
    }

    /**
     * One checkpoint: {@code epoch}'s frames are held; the plug closes the epoch and the next one's frames are held
     * too; release_one lets out exactly {@code epoch}'s queued frames, in order, unaltered. Sizes are drawn only
     * when sent (a burst's depends on the room left); {@code tcNow} and {@code tcNext} check the plug through
     * {@code tc -s -j} too after that send. Returns the frames released.
     */
    private List<Wire.Frame> checkpoint(Wire wire, PlugControl control, PlugQdisc plug, int epoch,
                                        Supplier<List<Integer>> sizes, boolean tcNow,
                                        Supplier<List<Integer>> nextSizes, boolean tcNext) throws InterruptedException {
        send(wire, epoch, sizes.get());
        expectHeld(wire, plug, epoch, tcNow);

        control.buffer(); // checkpoint: the epoch closes, the next one begins
        send(wire, epoch + 1, nextSizes.get());
        expectHeld(wire, plug, epoch, tcNext);

        control.releaseOne(); // the backup acknowledged the epoch
        List<Sent> queued = held.release(epoch);
        List<Wire.Frame> got = wire.await(queued.size(), WAIT_MILLIS);
        assertThat(got).as("epoch %d released: its queued frames, in order (plug %s)", epoch, stats(plug))
                .allSatisfy(f -> {
                    assertThat(f.epoch()).isEqualTo(epoch);
                    assertThat(f.ethertype()).isEqualTo(ETHERTYPES[f.seq() % 3]);
                })
                .extracting(Wire.Frame::seq).containsExactlyElementsOf(queued.stream().map(Sent::seq).toList());
        awaitBacklog(plug);
        return got;
    }

    /**
     * The backup is lost after {@code lastEpoch}: release_indefinite lets out what is held, in order, and what the
     * guest sends next passes at once; the sniffer lost nothing.
     */
    private void releaseIndefinitely(Wire wire, PlugControl control, int lastEpoch) throws InterruptedException {
        control.releaseIndefinite();
        List<Sent> rest = held.release(lastEpoch + 1);
        assertThat(wire.await(rest.size(), WAIT_MILLIS)).extracting(Wire.Frame::seq)
                .containsExactlyElementsOf(rest.stream().map(Sent::seq).toList());
        wire.send(lastEpoch + 2, seq, 9, 200);
        seq += 9;
        assertThat(wire.await(9, WAIT_MILLIS)).extracting(Wire.Frame::epoch).containsOnly(lastEpoch + 2);
        assertThat(wire.drain()).isEmpty();
        assertThat(wire.snifferDrops()).as("frames the sniffer itself lost: the wire's record must be whole")
                .isZero();
    }

    private List<Integer> shuffledRunts() {
        List<Integer> sizes = new ArrayList<>(Wire.RUNTS);
        Collections.shuffle(sizes, random);
        return sizes;
    }

    /** {@code count} frame sizes, uniform between the smallest frame and the MTU. */
    private List<Integer> sizes(int count) {
        List<Integer> sizes = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            sizes.add(MIN_FRAME + random.nextInt(MAX_FRAME - MIN_FRAME + 1));
        }
        return sizes;
    }

    /** Frames worth more than the plug has room for, by at least one full frame (so at least one is dropped). */
    private List<Integer> burstSizes() {
        long over = held.room() + MAX_FRAME + random.nextInt(64 * 1024);
        List<Integer> sizes = new ArrayList<>();
        for (long total = 0; total <= over; ) {
            int size = MIN_FRAME + random.nextInt(MAX_FRAME - MIN_FRAME + 1);
            sizes.add(size);
            total += size;
        }
        return sizes;
    }

    private void send(Wire wire, int epoch, List<Integer> sizes) {
        if (sizes.isEmpty()) {
            return;
        }
        wire.send(epoch, seq, sizes);
        for (int size : sizes) {
            held.offer(new Sent(epoch, seq++, size));
        }
    }

    /**
     * Nothing of an unacknowledged epoch is on the wire, and the plug holds what the model holds, with the same
     * drops; at a burst also as {@code tc -s -j} sees it.
     */
    private void expectHeld(Wire wire, PlugQdisc plug, int epoch, boolean burst) {
        PlugStats stats = awaitBacklog(plug);
        assertThat(wire.drain()).as("epoch %d is not acknowledged: nothing may reach the wire", epoch).isEmpty();
        assertThat(stats.backlogBytes()).as("bytes held after epoch %d's frames: %s", epoch, stats)
                .isEqualTo(held.bytes);
        assertThat(stats.drops()).as("drops at the limit in epoch %d: %s", epoch, stats).isEqualTo(held.drops);
        if (burst) {
            JsonNode tc = ns.qdisc(plug.ifb().name().value(), "plug").orElseThrow();
            assertThat(tc.path("drops").asLong()).as("drops tc reports in epoch %d: %s", epoch, tc)
                    .isEqualTo(held.drops);
            assertThat(tc.path("qlen").asLong()).as("queue tc reports: %s", tc).isEqualTo(held.queue.size());
        }
    }

    /**
     * Waits until the plug has seen every frame sent so far: its queue is as long as the model's and it has dropped
     * as many. Both, because the frames past the limit at the tail of a burst may still be in flight when the queue
     * already has its final length. Returns its counters.
     */
    private PlugStats awaitBacklog(PlugQdisc plug) {
        long packets = held.queue.size();
        long deadline = System.nanoTime() + WAIT_MILLIS * 1_000_000;
        PlugStats stats;
        while ((stats = stats(plug)).backlogPackets() != packets || stats.drops() != held.drops) {
            assertThat(stats.backlogPackets()).as("backlog overshoot: %s, expected %d", stats, packets)
                    .isLessThanOrEqualTo(packets);
            assertThat(stats.drops()).as("drops overshoot: %s, expected %d", stats, held.drops)
                    .isLessThanOrEqualTo(held.drops);
            assertThat(System.nanoTime()).as("backlog of %d frames and %d drops; now %s", packets, held.drops, stats)
                    .isLessThan(deadline);
            Thread.onSpinWait();
        }
        return stats;
    }

    private PlugStats stats(PlugQdisc plug) {
        return netlink.plugStats(plug).orElseThrow();
    }

    record Sent(int epoch, int seq, int size) {
    }

    /** What the plug should hold, by sch_plug's enqueue rule, frame by frame, in order. */
    static final class HeldFrames {
        final long limit;
        final Deque<Sent> queue = new ArrayDeque<>();
        long bytes;
        long drops;

        HeldFrames(long limit) {
            this.limit = limit;
        }

        long room() {
            return limit - bytes;
        }

        /** sch_plug's plug_enqueue: queued if {@code backlog + len <= limit}, else dropped and counted. */
        void offer(Sent frame) {
            if (bytes + frame.size() <= limit) {
                queue.addLast(frame);
                bytes += frame.size();
            } else {
                drops++;
            }
        }

        /** The queued frames of epochs up to {@code epoch}, which leave the queue, oldest first. */
        List<Sent> release(int epoch) {
            List<Sent> out = new ArrayList<>();
            while (!queue.isEmpty() && queue.peekFirst().epoch() <= epoch) {
                Sent f = queue.removeFirst();
                bytes -= f.size();
                out.add(f);
            }
            return out;
        }
    }
}
