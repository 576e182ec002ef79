package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.remus.netbuf.model.BufferEvent;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The whole install and uninstall on a kernel with sch_plug (user-mode-linux 6.1), with real frames. */
@Tag("uml-guest")
class UmlInstallTest extends NamespaceTest {

    BufferInstaller installer() {
        return new BufferInstaller(netlink, IfbMode.CREATE, PlugQdisc.DEFAULT_LIMIT_BYTES, RedirectFilter.ETH_P_ALL);
    }

    @Test
    void installMakesEveryObjectPassesTrafficUntilTheFirstEpochAndUninstallRemovesThemAll() throws Exception {
        InstalledBuffer buffer = installer().install(VIF, InterfaceName.of("nbifb7"));
        assertThat(ns.link("nbifb7").orElseThrow().get("flags").toString()).contains("UP");
        assertThat(ns.qdisc("vif7.0", "ingress")).isPresent();
        assertThat(ns.ingressFilters("vif7.0")).singleElement().satisfies(f -> {
            assertThat(f.get("protocol").asText()).isEqualTo("all");
            assertThat(f.get("options").get("actions").get(0).get("to_dev").asText()).isEqualTo("nbifb7");
        });
        assertThat(ns.qdisc("nbifb7", "plug").orElseThrow().get("handle").asText()).isEqualTo("4e42:");

        try (Wire wire = new Wire(ns, "vif7.0", "eth0")) {
            wire.send(0, 0, 6, 100);
            List<Wire.Frame> got = wire.await(6, 5_000);
            assertThat(got).as("a fresh buffer is released indefinitely: frames pass before the first epoch")
                    .extracting(Wire.Frame::seq).containsExactly(0, 1, 2, 3, 4, 5);
            assertThat(got).extracting(Wire.Frame::ethertype).contains(0x0800, 0x86DD, 0x0806);
            assertThat(netlink.plugStats(buffer.plug()).orElseThrow().sentPackets())
                    .as("the frames went through the plug, not around it").isEqualTo(6);

            // frames held in an unacknowledged epoch are let out, not dropped, when the buffer is removed
            netlink.plugBuffer(buffer.plug());
            wire.send(1, 6, 3, 100);
            awaitBacklog(buffer.plug(), 3);
            assertThat(wire.drain()).isEmpty();
            installer().uninstall(buffer);
            assertThat(wire.await(3, 5_000)).extracting(Wire.Frame::seq).containsExactly(6, 7, 8);
        }
        assertThat(ns.linksOfType("ifb")).isEmpty();
        assertThat(ns.qdisc("vif7.0", "ingress")).isEmpty();
        assertThat(ns.ingressFilters("vif7.0")).isEmpty();
        assertThat(ns.link("vif7.0")).isPresent();
    }

    @Test
    void aSecondInstallOnTheSameVifIsRefusedAndTheFirstStaysWhole() {
        InstalledBuffer first = installer().install(VIF, InterfaceName.of("nbifb7"));
        assertThatThrownBy(() -> installer().install(VIF, InterfaceName.of("nbifb8")))
                .isInstanceOf(NetlinkException.class)
                .hasMessageContaining("already has an ingress qdisc");
        assertThat(ns.linksOfType("ifb")).containsExactly("nbifb7");
        assertThat(ns.qdisc("nbifb7", "plug")).isPresent();
        assertThat(ns.ingressFilters("vif7.0")).hasSize(1);
        installer().uninstall(first);
        assertThat(ns.linksOfType("ifb")).isEmpty();
    }

    @Test
    void aVifThatVanishesWhilePluggedStillUninstallsCleanly() {
        InstalledBuffer buffer = installer().install(VIF, InterfaceName.of("nbifb7"));
        netlink.plugBuffer(buffer.plug());
        ns.deleteLink("vif7.0");
        installer().uninstall(buffer);
        assertThat(ns.linksOfType("ifb")).isEmpty();
        installer().uninstall(buffer);
    }

    @Test
    void poolModeTakesAnIfbWithoutAPlugRootAndGivesItBack() {
        Link ifb0 = netlink.createIfb(InterfaceName.of("ifb0"));
        netlink.createIfb(InterfaceName.of("ifb1"));
        netlink.addPlug(PlugQdisc.on(ifb0, PlugQdisc.DEFAULT_LIMIT_BYTES)); // ifb0 is busy: it has a plug root
        BufferInstaller pool = new BufferInstaller(netlink, IfbMode.POOL, PlugQdisc.DEFAULT_LIMIT_BYTES,
                RedirectFilter.ETH_P_ALL);
        InstalledBuffer buffer = pool.install(VIF, null);
        assertThat(buffer.ifb().name().value()).isEqualTo("ifb1");
        assertThat(buffer.ifbCreated()).isFalse();
        pool.uninstall(buffer);
        assertThat(ns.linksOfType("ifb")).containsExactlyInAnyOrder("ifb0", "ifb1");
        assertThat(ns.qdisc("ifb1", "plug")).isEmpty();
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
