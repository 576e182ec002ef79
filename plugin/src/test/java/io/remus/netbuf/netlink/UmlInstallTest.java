package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.remus.netbuf.lifecycle.NetbufException;
import io.remus.netbuf.lifecycle.NetbufSettings;
import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.ClaimRefusedException;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The whole install and teardown through the lifecycle (the production path) on a kernel with sch_plug
 * (user-mode-linux 6.1), with real frames; and BufferInstaller.run's batched steps for a domain's vifs.
 */
@Tag("uml-guest")
class UmlInstallTest extends NamespaceTest {

    BufferInstaller installer() {
        return new BufferInstaller(netlink);
    }

    @Test
    void installMakesEveryObjectPassesTrafficUntilTheFirstEpochAndTeardownRemovesThemAll() throws Exception {
        TestLifecycle lc = TestLifecycle.on(netlink);
        BufferRecord b = lc.lifecycle().install("dom7", VIF);
        assertThat(b.state()).isEqualTo(BufferState.PLUGGED);
        String ifb = b.ifb();
        assertThat(ns.link(ifb).orElseThrow().get("flags").toString()).contains("UP");
        assertThat(ns.qdisc("vif7.0", "ingress")).isPresent();
        assertThat(ns.ingressFilters("vif7.0")).singleElement().satisfies(f -> {
            assertThat(f.get("protocol").asText()).isEqualTo("all");
            assertThat(f.get("options").get("actions").get(0).get("to_dev").asText()).isEqualTo(ifb);
        });
        assertThat(ns.qdisc(ifb, "plug").orElseThrow().get("handle").asText()).isEqualTo("4e42:");
        PlugQdisc plug = lc.plugOf(b);

        try (Wire wire = new Wire(ns, "vif7.0", "eth0")) {
            wire.send(0, 0, 6, 100);
            List<Wire.Frame> got = wire.await(6, 5_000);
            assertThat(got).as("a fresh buffer is released indefinitely: frames pass before the first epoch")
                    .extracting(Wire.Frame::seq).containsExactly(0, 1, 2, 3, 4, 5);
            assertThat(got).extracting(Wire.Frame::ethertype).contains(0x0800, 0x86DD, 0x0806);
            assertThat(netlink.plugStats(plug).orElseThrow().sentPackets())
                    .as("the frames went through the plug, not around it").isEqualTo(6);

            // frames held in an unacknowledged epoch are let out, not dropped, when the buffer is torn down
            netlink.plugBuffer(plug);
            wire.send(1, 6, 3, 100);
            awaitBacklog(plug, 3);
            assertThat(wire.drain()).isEmpty();
            assertThat(lc.lifecycle().teardown(b.id()).state()).isEqualTo(BufferState.FREE);
            assertThat(wire.await(3, 5_000)).extracting(Wire.Frame::seq).containsExactly(6, 7, 8);
        }
        assertThat(ns.linksOfType("ifb")).isEmpty();
        assertThat(ns.qdisc("vif7.0", "ingress")).isEmpty();
        assertThat(ns.ingressFilters("vif7.0")).isEmpty();
        assertThat(ns.link("vif7.0")).isPresent();
        assertThat(lc.store().holdingVif()).isEmpty();
        assertThat(lc.journal(b)).doesNotContain("REMOVE_PLUG FAILED").contains("RELEASE DONE", "REMOVE_PLUG DONE");
    }

    /**
     * A second install on the vif: refused by the journal before the kernel is touched; and by the kernel when it
     * comes from a lifecycle with a journal of its own (another instance), whose undo leaves the first whole.
     */
    @Test
    void aSecondInstallOnTheSameVifIsRefusedAndTheFirstStaysWhole() {
        TestLifecycle lc = TestLifecycle.on(netlink);
        BufferRecord first = lc.lifecycle().install("dom7", VIF);
        assertThatThrownBy(() -> lc.lifecycle().install("dom8", VIF))
                .isInstanceOf(ClaimRefusedException.class)
                .hasMessageContaining("vif7.0 is already buffered by buffer " + first.id());

        NetbufSettings otherPrefix = new NetbufSettings(IfbMode.CREATE, PlugQdisc.DEFAULT_LIMIT_BYTES,
                RedirectFilter.ETH_P_ALL, RedirectFilter.DEFAULT_PRIORITY, "nbother");
        TestLifecycle other = TestLifecycle.on(netlink, otherPrefix);
        assertThatThrownBy(() -> other.lifecycle().install("dom8", VIF))
                .isInstanceOf(NetbufException.class)
                .hasMessageContaining("failed at ADD_INGRESS")
                .hasMessageContaining("already has an ingress qdisc");
        assertThat(ns.linksOfType("ifb")).containsExactly(first.ifb());
        assertThat(ns.qdisc(first.ifb(), "plug")).isPresent();
        assertThat(ns.ingressFilters("vif7.0")).singleElement().satisfies(f -> assertThat(
                f.get("options").get("actions").get(0).get("to_dev").asText()).isEqualTo(first.ifb()));
        assertThat(lc.lifecycle().teardown(first.id()).state()).isEqualTo(BufferState.FREE);
        assertThat(ns.linksOfType("ifb")).isEmpty();
    }

    @Test
    void aVifThatVanishesWhilePluggedStillTearsDownCleanly() {
        TestLifecycle lc = TestLifecycle.on(netlink);
        BufferRecord b = lc.lifecycle().install("dom7", VIF);
        netlink.plugBuffer(lc.plugOf(b));
        ns.deleteLink("vif7.0");
        assertThat(lc.lifecycle().teardown(b.id()).state()).isEqualTo(BufferState.FREE);
        assertThat(ns.linksOfType("ifb")).isEmpty();
        assertThat(lc.journal(b)).doesNotContain("REMOVE_REDIRECT FAILED", "REMOVE_INGRESS FAILED");
        assertThat(lc.journalDetails(b)).filteredOn(line -> line.startsWith("REMOVE_INGRESS DONE"))
                .singleElement().asString().contains("vif vif7.0 is gone");
        assertThat(lc.lifecycle().teardown(b.id()).state()).as("a second teardown").isEqualTo(BufferState.FREE);
    }

    @Test
    void poolModeTakesAnIfbWithoutAPlugRootAndGivesItBack() {
        Link ifb0 = netlink.createIfb(InterfaceName.of("ifb0"));
        netlink.createIfb(InterfaceName.of("ifb1"));
        netlink.addPlug(PlugQdisc.on(ifb0, PlugQdisc.DEFAULT_LIMIT_BYTES)); // ifb0 is busy: it has a plug root
        TestLifecycle pool = TestLifecycle.on(netlink, NetbufSettings.defaults().withIfbMode(IfbMode.POOL));
        BufferRecord b = pool.lifecycle().install("dom7", VIF);
        assertThat(b.ifb()).isEqualTo("ifb1");
        assertThat(b.ifbCreated()).isFalse();
        assertThat(ns.qdisc("ifb1", "plug")).isPresent();
        assertThat(pool.lifecycle().teardown(b.id()).state()).isEqualTo(BufferState.FREE);
        assertThat(ns.linksOfType("ifb")).containsExactlyInAnyOrder("ifb0", "ifb1");
        assertThat(ns.qdisc("ifb1", "plug")).isEmpty();
        assertThat(ns.qdisc("ifb0", "plug")).as("the busy one's plug is not ours").isPresent();
    }

    @Test
    void everyStepRunsBatchedForADomainsVifsPlugIncludedAndBack() throws Exception {
        int n = 4;
        List<String> vifs = IntStream.range(0, n).mapToObj(i -> "vif8." + i).toList();
        ns.addVifs(vifs, "g");
        List<BufferObjects> buffers = IntStream.range(0, n).mapToObj(i -> new BufferObjects(InterfaceName.of(vifs.get(i)),
                InterfaceName.of("nbifb8" + i), true, RedirectFilter.ETH_P_ALL, RedirectFilter.DEFAULT_PRIORITY,
                PlugQdisc.DEFAULT_HANDLE, PlugQdisc.DEFAULT_LIMIT_BYTES)).toList();
        BufferInstaller installer = installer();
        for (BufferEvent step : List.of(BufferEvent.ACQUIRE_IFB, BufferEvent.ADD_INGRESS, BufferEvent.ADD_REDIRECT,
                BufferEvent.ADD_PLUG, BufferEvent.RESUME)) {
            assertThat(installer.run(step, buffers)).as("%s", step).allSatisfy(o -> assertThat(o.failure()).isNull());
        }
        long before = LibNl.requestsSent();
        assertThat(installer.run(BufferEvent.RELEASE, buffers)).allMatch(StepOutcome::ok);
        assertThat(LibNl.requestsSent() - before).as("RELEASE: one link dump, one batch").isEqualTo(2);
        KernelSnapshot k = ns.snapshot(vifs);
        for (int i = 0; i < n; i++) {
            assertThat(k.qdisc("nbifb8" + i, PlugQdisc.KIND).orElseThrow().get("handle").asText()).isEqualTo("4e42:");
            assertThat(k.redirectTarget(vifs.get(i))).isEqualTo("nbifb8" + i);
        }

        PlugQdisc plug0 = PlugQdisc.on(netlink.link(InterfaceName.of("nbifb80")), PlugQdisc.DEFAULT_LIMIT_BYTES);
        try (Wire wire = new Wire(ns, "vif8.0", "g0")) {
            wire.send(0, 0, 3, 100);
            assertThat(wire.await(3, 5_000)).as("a batched ADD_PLUG leaves the plug released indefinitely")
                    .extracting(Wire.Frame::seq).containsExactly(0, 1, 2);
            // frames held in an epoch are let out, not dropped, by the batched REMOVE_PLUG
            netlink.plugBuffer(plug0);
            wire.send(1, 3, 3, 100);
            awaitBacklog(plug0, 3);
            assertThat(wire.drain()).isEmpty();
            ns.deleteLink("vif8.2"); // a vif in the middle vanishes; its ifb and plug stay
            assertThat(installer.run(BufferEvent.REMOVE_PLUG, buffers)).allSatisfy(o -> {
                assertThat(o.failure()).isNull();
                assertThat(o.note()).isNull();
            });
            assertThat(wire.await(3, 5_000)).extracting(Wire.Frame::seq).containsExactly(3, 4, 5);
        }
        String gone = "vif vif8.2 is gone: it took its ingress qdisc and filter with it";
        assertThat(installer.run(BufferEvent.REMOVE_REDIRECT, buffers)).extracting(StepOutcome::note)
                .containsExactly(null, null, gone, null);
        assertThat(installer.run(BufferEvent.REMOVE_INGRESS, buffers)).extracting(StepOutcome::note)
                .containsExactly(null, null, gone, null);
        assertThat(installer.run(BufferEvent.RELEASE_IFB, buffers)).allMatch(o -> o.ok() && o.note() == null);
        ns.snapshot(vifs).assertNoBufferObjects(vifs, "after the batched removals");

        // DROP_HELD deletes the plugs with what they hold; removals of what is gone are done
        for (BufferEvent step : List.of(BufferEvent.ACQUIRE_IFB, BufferEvent.ADD_PLUG, BufferEvent.DROP_HELD,
                BufferEvent.REMOVE_PLUG)) {
            assertThat(installer.run(step, buffers)).as("%s", step).allMatch(StepOutcome::ok);
        }
        assertThat(ns.snapshot(vifs).devsWithQdisc(PlugQdisc.KIND)).isEmpty();
        assertThat(installer.run(BufferEvent.RELEASE_IFB, buffers)).allMatch(StepOutcome::ok);
        assertThat(installer.run(BufferEvent.REMOVE_PLUG, buffers)).extracting(StepOutcome::note)
                .allSatisfy(note -> assertThat(note).endsWith("it took its plug qdisc with it"));
        ns.snapshot(vifs).assertNoBufferObjects(vifs, "at the end");
    }
}
