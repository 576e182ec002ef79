package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The installer on the host kernel, which has ifb, ingress, u32 and mirred but no sch_plug: every step up to the
 * plug runs for real, the plug step fails with the fix named, and the failed install leaves nothing behind.
 * The full install with the plug runs inside user-mode-linux (UmlKernelTest).
 */
class HostInstallTest extends NamespaceTest {

    BufferInstaller installer() {
        return new BufferInstaller(netlink, IfbMode.CREATE, PlugQdisc.DEFAULT_LIMIT_BYTES, RedirectFilter.ETH_P_ALL);
    }

    @Test
    void theHostKernelHasNoPlugQdiscAndTheErrorSaysHowToGetIt() {
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        assertThatThrownBy(() -> netlink.addPlug(PlugQdisc.on(ifb, PlugQdisc.DEFAULT_LIMIT_BYTES)))
                .isInstanceOf(NetlinkException.class)
                .hasMessageContaining("add plug qdisc on nbifb7")
                .hasMessageContaining("modprobe sch_plug")
                .hasMessageContaining("CONFIG_NET_SCH_PLUG");
    }

    @Test
    void aFailedInstallUndoesEveryStepItMade() {
        Set<String> seen = new java.util.LinkedHashSet<>();
        assertThatThrownBy(() -> installer().install(VIF, InterfaceName.of("nbifb7"), Set.of(),
                (step, vif) -> {
                    seen.add(step.name());
                    if (step == BufferInstaller.Step.ADD_PLUG) {
                        // the three steps before the plug really happened
                        assertThat(ns.linksOfType("ifb")).containsExactly("nbifb7");
                        assertThat(ns.qdisc("vif7.0", "ingress")).isPresent();
                        assertThat(ns.ingressFilters("vif7.0")).hasSize(1);
                    }
                }))
                .isInstanceOf(NetlinkException.class)
                .hasMessageContaining("modprobe sch_plug");
        assertThat(seen).containsExactly("ACQUIRE_IFB", "ADD_INGRESS", "ADD_REDIRECT", "ADD_PLUG");
        assertNothingLeft();
    }

    @Test
    void aVifThatVanishesMidInstallFailsCleanly() {
        assertThatThrownBy(() -> installer().install(VIF, InterfaceName.of("nbifb7"), Set.of(),
                (step, vif) -> {
                    if (step == BufferInstaller.Step.ADD_REDIRECT) {
                        ns.deleteLink("vif7.0");
                    }
                }))
                .isInstanceOf(LinkNotFoundException.class)
                .hasMessageContaining("add redirect filter on vif7.0");
        assertThat(ns.link("vif7.0")).isEmpty();
        assertThat(ns.linksOfType("ifb")).as("the ifb made for the vif is gone again").isEmpty();
    }

    @Test
    void aVifThatDoesNotExistIsRefusedBeforeAnythingIsMade() {
        assertThatThrownBy(() -> installer().install(InterfaceName.of("vif9.9"), InterfaceName.of("nbifb9")))
                .isInstanceOf(LinkNotFoundException.class)
                .hasMessageContaining("vif9.9");
        assertThat(ns.linksOfType("ifb")).isEmpty();
    }

    @Test
    void aSecondInstallOnTheSameVifIsRefusedAndLeavesTheFirstIntact() {
        // the first buffer's steps up to the plug, which this kernel lacks
        Link vif = netlink.link(VIF);
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        netlink.setUp(ifb);
        netlink.addIngress(new IngressQdisc(vif));
        netlink.addRedirect(RedirectFilter.allProtocols(vif, ifb));

        assertThatThrownBy(() -> installer().install(VIF, InterfaceName.of("nbifb8")))
                .isInstanceOf(NetlinkException.class)
                .hasMessageContaining("already has an ingress qdisc");
        assertThat(ns.linksOfType("ifb")).containsExactly("nbifb7");
        assertThat(ns.qdisc("vif7.0", "ingress")).isPresent();
        assertThat(ns.ingressFilters("vif7.0")).hasSize(1);
        assertThat(ns.ingressFilters("vif7.0").getFirst().get("options").get("actions").get(0).get("to_dev").asText())
                .isEqualTo("nbifb7");
    }

    @Test
    void uninstallOfAPartialBufferIsIdempotent() {
        Link vif = netlink.link(VIF);
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        netlink.setUp(ifb);
        IngressQdisc ingress = new IngressQdisc(vif);
        netlink.addIngress(ingress);
        RedirectFilter redirect = RedirectFilter.allProtocols(vif, ifb);
        netlink.addRedirect(redirect);
        InstalledBuffer partial = new InstalledBuffer(vif, ifb, true, ingress, redirect,
                PlugQdisc.on(ifb, PlugQdisc.DEFAULT_LIMIT_BYTES));

        installer().uninstall(partial);
        assertNothingLeft();
        installer().uninstall(partial);
        ns.deleteLink("vif7.0");
        installer().uninstall(partial); // the vif has vanished too: still not an error
        assertThat(ns.linksOfType("ifb")).isEmpty();
    }

    @Test
    void poolModeTakesAFreeIfbAndLeavesItInThePool() {
        Link pooled = netlink.createIfb(InterfaceName.of("ifb0"));
        netlink.createIfb(InterfaceName.of("ifb1"));
        BufferInstaller pool = new BufferInstaller(netlink, IfbMode.POOL, PlugQdisc.DEFAULT_LIMIT_BYTES,
                RedirectFilter.ETH_P_ALL);
        // ifb0 is claimed by another buffer, so ifb1 is taken; the plug step fails here and returns it
        assertThatThrownBy(() -> pool.install(VIF, null, Set.of(pooled.name()), (step, vif) -> {
            if (step == BufferInstaller.Step.ADD_PLUG) {
                assertThat(ns.ingressFilters("vif7.0").getFirst().get("options").get("actions").get(0)
                        .get("to_dev").asText()).isEqualTo("ifb1");
                assertThat(ns.link("ifb1").orElseThrow().get("flags").toString()).contains("UP");
            }
        })).hasMessageContaining("modprobe sch_plug");
        assertThat(ns.linksOfType("ifb")).as("pool ifbs are never deleted").containsExactlyInAnyOrder("ifb0", "ifb1");
        assertThat(ns.link("ifb1").orElseThrow().get("flags").toString()).doesNotContain("\"UP\"");
    }

    @Test
    void anEmptyPoolSaysHowToFillIt() {
        BufferInstaller pool = new BufferInstaller(netlink, IfbMode.POOL, PlugQdisc.DEFAULT_LIMIT_BYTES,
                RedirectFilter.ETH_P_ALL);
        assertThatThrownBy(() -> pool.install(VIF, null))
                .hasMessageContaining("no free ifb")
                .hasMessageContaining("modprobe ifb numifbs=N");
    }

    private void assertNothingLeft() {
        assertThat(ns.linksOfType("ifb")).isEmpty();
        assertThat(ns.qdisc("vif7.0", "ingress")).isEmpty();
        assertThat(ns.ingressFilters("vif7.0")).isEmpty();
    }
}
