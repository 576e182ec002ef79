package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
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
}
