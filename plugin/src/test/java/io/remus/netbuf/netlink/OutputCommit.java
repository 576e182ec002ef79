package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

/**
 * The output-commit checks on one plug with real frames (OutputCommitTest in UML, XenOutputCommitTest on a Xen
 * vif): the frames sent through a {@link Wire}, a model of what the plug holds by sch_plug's rule (a frame is
 * queued if the backlog plus its length stays within the limit, else dropped and counted), and per epoch: nothing
 * of it on the wire while it is unacknowledged, the plug holding exactly the model's packets, bytes and drops; on
 * release_one exactly its queued frames arrive, in the order sent, each with the type and length it was sent with.
 */
public final class OutputCommit {

    /** Bytes on the wire: the smallest Ethernet frame without FCS, and MTU 1500 plus the Ethernet header. */
    public static final int MIN_FRAME = 60;
    public static final int MAX_FRAME = 1514;
    public static final long WAIT_MILLIS = 20_000;
    static final int VLAN_ID = 10;

    private final Netlink netlink;
    private final PlugQdisc plug;
    private final Wire wire;
    private final Supplier<JsonNode> tcPlug;
    private final List<Integer> types;
    private final Random random;
    final HeldFrames held;
    int seq;

    /**
     * {@code tcPlug} is the plug as {@code tc -s -j qdisc} shows it; frame {@code seq} is sent as ethertype
     * {@code types[seq % types.size()]} ({@link Wire#VLAN}: an 802.1Q frame).
     */
    public OutputCommit(Netlink netlink, PlugQdisc plug, Wire wire, Supplier<JsonNode> tcPlug, List<Integer> types,
                        Random random) {
        this.netlink = netlink;
        this.plug = plug;
        this.wire = wire;
        this.tcPlug = tcPlug;
        this.types = types;
        this.random = random;
        this.held = new HeldFrames(plug.limitBytes());
    }

    /** Frames offered to the plug so far. */
    public int sent() {
        return seq;
    }

    /** Frames the model dropped at the limit so far. */
    public long drops() {
        return held.drops;
    }

    /**
     * One checkpoint: {@code epoch}'s frames are held; the plug closes the epoch and the next one's frames are held
     * too; release_one lets out exactly {@code epoch}'s queued frames, in order, unaltered. Sizes are drawn only
     * when sent (a burst's depends on the room left); {@code tcNow} and {@code tcNext} check the plug through
     * {@code tc -s -j} too after that send. Returns the frames released.
     */
    public List<Wire.Frame> checkpoint(PlugControl control, int epoch, Supplier<List<Integer>> sizes, boolean tcNow,
                                       Supplier<List<Integer>> nextSizes, boolean tcNext) throws InterruptedException {
        send(epoch, sizes.get());
        expectHeld(epoch, tcNow);

        control.buffer(); // checkpoint: the epoch closes, the next one begins
        send(epoch + 1, nextSizes.get());
        expectHeld(epoch, tcNext);

        control.releaseOne(); // the backup acknowledged the epoch
        List<Wire.Frame> got = expectReleased(epoch);
        awaitBacklog();
        return got;
    }

    /**
     * The plug let out what it held of the epochs up to {@code epoch}: exactly those queued frames arrive, in the
     * order sent, each with its type and length. Returns them.
     */
    public List<Wire.Frame> expectReleased(int epoch) throws InterruptedException {
        List<Sent> queued = held.release(epoch);
        List<Wire.Frame> got = wire.await(queued.size(), WAIT_MILLIS);
        assertThat(got).as("epoch %d released: its queued frames, in order (plug %s)", epoch,
                        netlink.plugStats(plug).map(String::valueOf).orElse("gone"))
                .extracting(Wire.Frame::seq).containsExactlyElementsOf(queued.stream().map(Sent::seq).toList());
        for (int i = 0; i < got.size(); i++) {
            Wire.Frame f = got.get(i);
            int type = types.get(f.seq() % types.size());
            int sentIn = queued.get(i).epoch();
            assertThat(f.epoch()).as("epoch of %s (a runt's tag has its low byte)", f).isIn(sentIn, sentIn & 0xFF);
            assertThat(f.ethertype()).as("type of %s", f).isEqualTo(type);
            assertThat(f.length()).as("length of %s", f).isEqualTo(queued.get(i).size());
            assertThat(List.of(f.vlan(), f.inner())).as("VLAN and inner type of %s", f)
                    .isEqualTo(type == Wire.VLAN ? List.of(VLAN_ID, 0x0800) : List.of(-1, type));
        }
        return got;
    }

    /**
     * The backup is lost after {@code lastEpoch}: release_indefinite lets out what is held, in order, and what the
     * guest sends next passes at once; the sniffer lost nothing.
     */
    public void releaseIndefinitely(PlugControl control, int lastEpoch) throws InterruptedException {
        control.releaseIndefinite();
        expectReleased(lastEpoch + 1);
        wire.send(lastEpoch + 2, seq, 9, 200);
        seq += 9;
        assertThat(wire.await(9, WAIT_MILLIS)).extracting(Wire.Frame::epoch).containsOnly(lastEpoch + 2);
        assertThat(wire.drain()).isEmpty();
        assertThat(wire.snifferDrops()).as("frames the sniffer itself lost: the wire's record must be whole")
                .isZero();
    }

    /**
     * {@code epochs} epochs of runts of every size, each epoch all of them in random order with a few more sent while
     * it awaits its ack, every ethertype among each epoch's released frames; then release_indefinite.
     */
    public void runtEpochs(PlugControl control, int epochs) throws InterruptedException {
        for (int epoch = 1; epoch <= epochs; epoch++) {
            List<Wire.Frame> got = checkpoint(control, epoch, this::shuffledRunts, false,
                    () -> shuffledRunts().subList(0, random.nextInt(8)), false);
            assertThat(got).extracting(Wire.Frame::ethertype).contains(0x0800, 0x86DD, 0x0806);
        }
        releaseIndefinitely(control, epochs);
    }

    /** Every runt size (14 to 59 bytes) once, in random order. */
    public List<Integer> shuffledRunts() {
        List<Integer> sizes = new ArrayList<>(Wire.RUNTS);
        Collections.shuffle(sizes, random);
        return sizes;
    }

    /** {@code count} frame sizes, uniform between the smallest frame and the MTU. */
    public List<Integer> sizes(int count) {
        List<Integer> sizes = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            sizes.add(MIN_FRAME + random.nextInt(MAX_FRAME - MIN_FRAME + 1));
        }
        return sizes;
    }

    /**
     * Frames worth more than the plug has room for, by at least one full frame (so at least one is dropped) and at
     * most {@code extra} bytes more.
     */
    public List<Integer> burstSizes(int extra) {
        long over = held.room() + MAX_FRAME + random.nextInt(extra);
        List<Integer> sizes = new ArrayList<>();
        for (long total = 0; total <= over; ) {
            int size = MIN_FRAME + random.nextInt(MAX_FRAME - MIN_FRAME + 1);
            sizes.add(size);
            total += size;
        }
        return sizes;
    }

    /** Sends frames of {@code sizes} tagged with {@code epoch}, and offers them to the model. */
    public void send(int epoch, List<Integer> sizes) {
        if (sizes.isEmpty()) {
            return;
        }
        wire.send(epoch, seq, sizes, types);
        for (int size : sizes) {
            // an 802.1Q frame's tag travels beside the frame (the kernel takes it off on receive): the plug counts
            // the frame without it
            int type = types.get(seq % types.size());
            held.offer(new Sent(epoch, seq++, size, type == Wire.VLAN ? size - 4 : size));
        }
    }

    /**
     * Nothing of an unacknowledged epoch is on the wire, and the plug holds what the model holds, with the same
     * drops; at a burst also as {@code tc -s -j} sees it.
     */
    public void expectHeld(int epoch, boolean burst) {
        PlugStats stats = awaitBacklog();
        assertThat(wire.drain()).as("epoch %d is not acknowledged: nothing may reach the wire", epoch).isEmpty();
        assertThat(stats.backlogBytes()).as("bytes held after epoch %d's frames: %s", epoch, stats)
                .isEqualTo(held.bytes);
        assertThat(stats.drops()).as("drops at the limit in epoch %d: %s", epoch, stats).isEqualTo(held.drops);
        if (burst) {
            JsonNode tc = tcPlug.get();
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
    public PlugStats awaitBacklog() {
        long packets = held.queue.size();
        long deadline = System.nanoTime() + WAIT_MILLIS * 1_000_000;
        PlugStats stats;
        while ((stats = stats()).backlogPackets() != packets || stats.drops() != held.drops) {
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

    private PlugStats stats() {
        return netlink.plugStats(plug).orElseThrow();
    }

    /** A frame offered to the plug: {@code size} bytes on the wire, {@code plugBytes} as the plug counts it. */
    record Sent(int epoch, int seq, int size, int plugBytes) {
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
            if (bytes + frame.plugBytes() <= limit) {
                queue.addLast(frame);
                bytes += frame.plugBytes();
            } else {
                drops++;
            }
        }

        /** The queued frames of epochs up to {@code epoch}, which leave the queue, oldest first. */
        List<Sent> release(int epoch) {
            List<Sent> out = new ArrayList<>();
            while (!queue.isEmpty() && queue.peekFirst().epoch() <= epoch) {
                Sent f = queue.removeFirst();
                bytes -= f.plugBytes();
                out.add(f);
            }
            return out;
        }
    }
}
