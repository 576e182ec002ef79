package io.remus.netbuf.xen;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.remus.netbuf.lifecycle.BufferLifecycle;
import io.remus.netbuf.lifecycle.BufferRecovery;
import io.remus.netbuf.lifecycle.FaultInjection;
import io.remus.netbuf.lifecycle.NetbufSettings;
import io.remus.netbuf.lifecycle.TestDatabase;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.IfbMode;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.OutputCommit;
import io.remus.netbuf.netlink.PlugControl;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.PlugStats;
import io.remus.netbuf.netlink.RedirectFilter;
import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.netlink.TcHandle;
import io.remus.netbuf.netlink.Wire;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.JournalEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * In Xen's dom0: output commit on the vif of the real PVH domU, with frames its own kernel sends through netfront
 * and netback ({@code xen_frames.c} in the domU, asked by dom0 with command frames), a buffer installed, plugged
 * per epoch, released per ack and torn down through the project's lifecycle and Netlink code, and the wire seen
 * from another port of {@code xenbr0} (a veth into a namespace with a sniffer). The plug's limit is
 * {@value #LIMIT} bytes, so a burst past it is ~100 frames, not the thousands 4 MiB would take under TCG. The last
 * test destroys the only domU: this class runs last ({@code @Order} on the class, GuestTestMain orders classes by
 * it) and its tests in order.
 */
@Tag(XenVifTest.TAG)
@Order(Integer.MAX_VALUE)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class XenOutputCommitTest {

    static final long LIMIT = 64 * 1024;
    static final List<Integer> TYPES = List.of(0x0800, 0x86DD, 0x0806, Wire.VLAN);
    static final List<Integer> UNTAGGED = List.of(0x0800, 0x86DD, 0x0806);
    static final int EPOCHS = Integer.getInteger("netbuf.xenOutputCommit.epochs", 20);
    static final int RUNT_EPOCHS = 3;
    private static final ObjectMapper JSON = new ObjectMapper();

    Netlink netlink;
    BufferStore store;
    BufferLifecycle lifecycle;
    int domid;
    String vif;
    Random random = new Random(11);

    @BeforeEach
    void setUp() {
        domid = Dom0Kernel.onlyDomU();
        vif = "vif" + domid + ".0";
        netlink = Netlink.open();
        store = new BufferStore(TestDatabase.h2File("xen-output-commit"));
        NetbufSettings settings = new NetbufSettings(IfbMode.CREATE, LIMIT, RedirectFilter.ETH_P_ALL,
                RedirectFilter.DEFAULT_PRIORITY, NetbufSettings.DEFAULT_IFB_PREFIX);
        lifecycle = new BufferLifecycle(store, new BufferInstaller(netlink), settings, FaultInjection.none());
    }

    /** A test that failed half-way leaves nothing of its buffer for the next one. */
    @AfterEach
    void tearDown() {
        try {
            store.all().stream().filter(b -> b.state() != BufferState.FREE)
                    .forEach(b -> Sh.tryRun("sh", "-c", "ip link del " + b.ifb() + "; tc qdisc del dev " + b.vif()
                            + " ingress"));
        } finally {
            netlink.close();
        }
    }

    /**
     * Without a buffer: which frame sizes netback passes from the domU. One frame of each size from 14 bytes (the
     * Ethernet header alone; AF_PACKET sends nothing shorter) to 60, and a full one, each seen on the vif itself
     * (a tap in dom0) and on the wire, at its own length: netfront and netback neither drop nor pad a runt.
     */
    @Test
    @Order(1)
    void netbackPassesTheDomUsFramesOfEverySizeFrom14Bytes() throws Exception {
        List<Integer> sizes = new ArrayList<>(IntStream.rangeClosed(14, 60).boxed().toList());
        sizes.add(OutputCommit.MAX_FRAME);
        try (Wire wire = Wire.onXenBridge("xenbr0", vif, true)) {
            List<Integer> missing = wire.trySend(1, 0, sizes, UNTAGGED);
            List<Wire.Frame> got = wire.await(sizes.size() - missing.size(), OutputCommit.WAIT_MILLIS);
            Map<Integer, Integer> lengths = new TreeMap<>();
            got.forEach(f -> lengths.put(f.seq(), f.length()));
            System.out.println("netback: of the domU's frames of " + sizes + " bytes, not seen on " + vif + ": seq "
                    + missing + "; on the wire, seq=length: " + lengths);
            assertThat(missing).as("frames (by seq) netback did not pass onto %s", vif).isEmpty();
            assertThat(got).extracting(Wire.Frame::seq).containsExactlyElementsOf(
                    IntStream.range(0, sizes.size()).boxed().toList());
            assertThat(got).extracting(Wire.Frame::length).as("lengths on the wire").containsExactlyElementsOf(sizes);
            assertThat(wire.snifferDrops()).isZero();
        }
    }

    /**
     * {@value #EPOCHS} epochs of IPv4, IPv6, ARP and 802.1Q frames of random sizes, some sent while the previous
     * epoch awaits its ack, and two bursts past the limit (one alone in the plug, one on top of the epoch awaiting
     * its ack): nothing of an unacknowledged epoch on the wire, the plug holding what sch_plug's rule says, each
     * epoch's queued frames out on its release_one in order, unaltered; release_indefinite lets everything pass;
     * the drops are the kernel's (PlugStats and tc agree with the model).
     */
    @Test
    @Order(2)
    void theDomUsFramesAreHeldUntilTheirEpochIsAcknowledged() throws Exception {
        BufferRecord b = lifecycle.install("dom" + domid, InterfaceName.of(vif));
        assertThat(b.state()).isEqualTo(BufferState.PLUGGED);
        PlugQdisc plug = plugOf(b);
        Map<Integer, Integer> releasedByType = new TreeMap<>();
        long started = System.nanoTime();
        try (Wire wire = Wire.onXenBridge("xenbr0", vif, false); PlugControl control = netlink.openPlugControl(plug)) {
            OutputCommit oc = new OutputCommit(netlink, plug, wire, () -> tcPlug(b.ifb()), TYPES, random);
            // what passed the plug before the first epoch (released since the install): not the sender's
            long before = netlink.plugStats(plug).orElseThrow().sentPackets();
            control.buffer(); // epoch 1 begins
            for (int epoch = 1; epoch <= EPOCHS; epoch++) {
                boolean burst = epoch == EPOCHS / 2;
                boolean burstEarly = epoch == EPOCHS;
                List<Wire.Frame> got = oc.checkpoint(control, epoch,
                        () -> burst ? oc.burstSizes(16 * 1024) : oc.sizes(1 + random.nextInt(5)), burst,
                        () -> burstEarly ? oc.burstSizes(16 * 1024) : oc.sizes(random.nextInt(3)), burstEarly);
                got.forEach(f -> releasedByType.merge(f.ethertype(), 1, Integer::sum));
            }
            oc.releaseIndefinitely(control, EPOCHS);
            PlugStats stats = netlink.plugStats(plug).orElseThrow();
            JsonNode tc = tcPlug(b.ifb());
            System.out.printf("xen output commit on %s: %d epochs in %d s, %d frames sent by the domU, released by"
                            + " type %s, dropped at the %d-byte limit %d (PlugStats %d, tc %d); the plug sent %d"
                            + " frames before epoch 1, %d in all%n", vif, EPOCHS,
                    (System.nanoTime() - started) / 1_000_000_000L, oc.sent(), releasedByType, LIMIT, oc.drops(),
                    stats.drops(), tc.path("drops").asLong(), before, stats.sentPackets());
            assertThat(releasedByType.keySet()).containsExactlyInAnyOrder(0x0800, 0x86DD, 0x0806, Wire.VLAN);
            assertThat(oc.drops()).as("the bursts crossed the limit").isPositive();
            assertThat(stats.drops()).as("drops PlugStats reports").isEqualTo(oc.drops());
            assertThat(tc.path("drops").asLong()).as("drops tc reports: %s", tc).isEqualTo(oc.drops());
            assertThat(stats.sentPackets() - before).as("everything queued left the plug")
                    .isEqualTo(oc.sent() - oc.drops());
            System.out.println("other frames on the wire: " + wire.others());
        }
        expectTornDown(b);
    }

    /** Runts of every size from 14 to 59 bytes through netback: held until their epoch is acknowledged, like any. */
    @Test
    @Order(3)
    void theDomUsRuntsAreHeldUntilTheirEpochIsAcknowledged() throws Exception {
        BufferRecord b = lifecycle.install("dom" + domid, InterfaceName.of(vif));
        PlugQdisc plug = plugOf(b);
        try (Wire wire = Wire.onXenBridge("xenbr0", vif, false); PlugControl control = netlink.openPlugControl(plug)) {
            OutputCommit oc = new OutputCommit(netlink, plug, wire, () -> tcPlug(b.ifb()), UNTAGGED, random);
            control.buffer();
            oc.runtEpochs(control, RUNT_EPOCHS);
            assertThat(netlink.plugStats(plug).orElseThrow().drops()).isZero();
        }
        expectTornDown(b);
    }

    /** A teardown while an epoch is unacknowledged lets its frames out (in order) before the plug goes. */
    @Test
    @Order(5)
    void teardownLetsTheHeldFramesOut() throws Exception {
        BufferRecord b = lifecycle.install("dom" + domid, InterfaceName.of(vif));
        PlugQdisc plug = plugOf(b);
        try (Wire wire = Wire.onXenBridge("xenbr0", vif, false); PlugControl control = netlink.openPlugControl(plug)) {
            OutputCommit oc = new OutputCommit(netlink, plug, wire, () -> tcPlug(b.ifb()), TYPES, random);
            control.buffer();
            oc.send(1, oc.sizes(8));
            oc.expectHeld(1, true);
            assertThat(lifecycle.teardown(b.id()).state()).isEqualTo(BufferState.FREE);
            assertThat(oc.expectReleased(1)).hasSize(8);
        }
        expectTornDown(b);
    }

    /**
     * The domU destroyed ({@code xl destroy}) while its vif is buffered and an epoch holds its frames: netback's vif
     * goes, with its ingress qdisc and filter; the teardown a driver would run when the domain went ends the buffer
     * FREE, its journal saying the vif was gone, leaving no ifb of its own and no plug, ingress qdisc or filter in
     * dom0; the held frames die with the vif (the ifb has no device to hand them back to), so none reaches the
     * wire. Recovery afterwards finds nothing to do. Destroys the only domU: the last test.
     */
    @Test
    @Order(6)
    void aDomUDestroyedWhileBufferedEndsItsBufferCleanly() throws Exception {
        // watched: the tap makes the kernel copy the frames' grant-mapped pages; without it netback keeps the vif
        // until the plug frees the held frames (run of 2026-12-02: vif still there 60 s after xl destroy)
        JsonNode ifbsBefore = JSON.readTree(Sh.run("ip", "-j", "link", "show", "type", "ifb"));
        BufferRecord b = lifecycle.install("dom" + domid, InterfaceName.of(vif));
        PlugQdisc plug = plugOf(b);
        try (Wire wire = Wire.onXenBridge("xenbr0", vif, true); PlugControl control = netlink.openPlugControl(plug)) {
            OutputCommit oc = new OutputCommit(netlink, plug, wire, () -> tcPlug(b.ifb()), TYPES, random);
            control.buffer();
            oc.send(1, oc.sizes(6));
            oc.expectHeld(1, true);

            Sh.run("xl", "destroy", String.valueOf(domid));
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (Files.exists(Path.of("/sys/class/net", vif))) {
                assertThat(System.nanoTime()).as("%s still in dom0 60 s after xl destroy", vif).isLessThan(deadline);
                Thread.sleep(100);
            }
            assertThat(Sh.run("xl", "list")).doesNotContain(XenUnderQemu.DOMU_NAME);

            BufferRecord after = lifecycle.teardown(b.id());
            assertThat(after.state()).isEqualTo(BufferState.FREE);
            assertThat(wire.await(1, 3_000)).as("held frames of a destroyed domU on the wire").isEmpty();
        }
        List<JournalEntry> journal = store.journal(b.id());
        assertThat(journal).filteredOn(e -> e.detail() != null && e.detail().contains("vif " + vif + " is gone"))
                .as("the journal says the vif went: %s", journal).isNotEmpty();
        assertThat(journal).extracting(JournalEntry::outcome).doesNotContain(JournalEntry.Outcome.FAILED);
        assertThat(Path.of("/sys/class/net", b.ifb())).doesNotExist();
        assertThat(names(JSON.readTree(Sh.run("ip", "-j", "link", "show", "type", "ifb")))).as("ifbs left")
                .isEqualTo(names(ifbsBefore));
        assertThat(JSON.readTree(Sh.run("tc", "-j", "qdisc", "show"))).extracting(q -> q.get("kind").asText())
                .as("qdiscs left in dom0").doesNotContain("plug", "ingress");
        BufferRecovery.Report report = new BufferRecovery(lifecycle, new BufferInstaller(netlink)).recover();
        assertThat(report.total()).as("recovery after it: %s", report.lines()).isZero();
    }

    private PlugQdisc plugOf(BufferRecord b) {
        return new PlugQdisc(netlink.link(InterfaceName.of(b.ifb())), new TcHandle(b.plugHandle()), b.limitBytes());
    }

    /** The buffer torn down (if not already): FREE, its ifb gone, nothing of it left on the vif, the vif in place. */
    private void expectTornDown(BufferRecord b) throws Exception {
        if (store.find(b.id()).orElseThrow().state() != BufferState.FREE) {
            assertThat(lifecycle.teardown(b.id()).state()).isEqualTo(BufferState.FREE);
        }
        assertThat(Path.of("/sys/class/net", b.ifb())).doesNotExist();
        assertThat(JSON.readTree(Sh.run("tc", "-j", "qdisc", "show", "dev", vif)))
                .extracting(q -> q.get("kind").asText()).doesNotContain("ingress");
        assertThat(Path.of("/sys/class/net", vif)).exists();
    }

    private static JsonNode tcPlug(String ifb) {
        try {
            for (JsonNode q : JSON.readTree(Sh.run("tc", "-s", "-j", "qdisc", "show", "dev", ifb))) {
                if (q.path("kind").asText().equals(PlugQdisc.KIND)) {
                    return q;
                }
            }
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("no plug qdisc on " + ifb);
    }

    private static List<String> names(JsonNode links) {
        List<String> values = new ArrayList<>();
        links.forEach(o -> values.add(o.get("ifname").asText()));
        return values;
    }
}
