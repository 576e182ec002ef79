package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.remus.netbuf.lifecycle.FaultInjection;
import io.remus.netbuf.lifecycle.NetbufException;
import io.remus.netbuf.lifecycle.NetbufSettings;
import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.persistence.BufferRecord;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * An install through the lifecycle (the production path) on the running kernel, with or without sch_plug: a plug
 * step the kernel refuses (a root qdisc already on the ifb, on any kernel) is undone step by step and leaves
 * nothing behind; where the kernel lacks sch_plug, the error names the fix. {@code UmlAsHostTest} runs this class
 * inside user-mode-linux with and without the module.
 */
@Tag("host-kernel")
class HostInstallTest extends NamespaceTest {

    static final NetbufSettings POOL = NetbufSettings.defaults().withIfbMode(IfbMode.POOL);

    @Test
    void aPlugIsAddedWhereTheKernelHasSchPlugAndElseTheErrorSaysHowToGetIt() {
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        PlugQdisc plug = PlugQdisc.on(ifb, PlugQdisc.DEFAULT_LIMIT_BYTES);
        if (KernelPlug.present()) {
            netlink.addPlug(plug);
            assertThat(ns.qdisc("nbifb7", "plug")).isPresent();
        } else {
            assertThatThrownBy(() -> netlink.addPlug(plug))
                    .isInstanceOf(NetlinkException.class)
                    .hasMessageContaining("add plug qdisc on nbifb7")
                    .hasMessageContaining("modprobe sch_plug")
                    .hasMessageContaining("CONFIG_NET_SCH_PLUG");
        }
    }

    @Test
    void aFailedInstallUndoesEveryStepItMade() {
        List<String> seen = new ArrayList<>();
        List<String> ifbsBeforePlug = new ArrayList<>();
        boolean[] ingressBeforePlug = new boolean[1];
        int[] filtersBeforePlug = new int[1];
        TestLifecycle lc = TestLifecycle.on(netlink, NetbufSettings.defaults(), (step, b) -> {
            seen.add(step.name());
            if (step == BufferEvent.ADD_PLUG) {
                // the three steps before the plug really happened
                ifbsBeforePlug.addAll(ns.linksOfType("ifb"));
                ingressBeforePlug[0] = ns.qdisc("vif7.0", "ingress").isPresent();
                filtersBeforePlug[0] = ns.ingressFilters("vif7.0").size();
                ns.occupyRoot(b.ifb());
            }
        });
        assertThatThrownBy(() -> lc.lifecycle().install("dom7", VIF))
                .isInstanceOf(NetbufException.class)
                .hasMessageContaining("failed at ADD_PLUG")
                .hasMessageContaining("rolled back")
                .hasMessageContaining("already has a root qdisc");
        assertThat(lc.hookFailures()).isEmpty();
        BufferRecord b = lc.store().all().getFirst();
        assertThat(seen).containsExactly("ACQUIRE_IFB", "ADD_INGRESS", "ADD_REDIRECT", "ADD_PLUG",
                "REMOVE_REDIRECT", "REMOVE_INGRESS", "RELEASE_IFB");
        assertThat(ifbsBeforePlug).containsExactly(b.ifb());
        assertThat(ingressBeforePlug[0]).isTrue();
        assertThat(filtersBeforePlug[0]).isEqualTo(1);
        assertThat(b.state()).isEqualTo(BufferState.FAILED);
        assertThat(b.failedStep()).isEqualTo(BufferEvent.ADD_PLUG);
        assertThat(lc.store().holdingVif()).isEmpty();
        assertNothingLeft();
    }

    @Test
    void aVifThatVanishesMidInstallFailsCleanly() {
        TestLifecycle lc = TestLifecycle.on(netlink, NetbufSettings.defaults(), (step, b) -> {
            if (step == BufferEvent.ADD_REDIRECT) {
                ns.deleteLink("vif7.0");
            }
        });
        assertThatThrownBy(() -> lc.lifecycle().install("dom7", VIF))
                .isInstanceOf(NetbufException.class)
                .hasMessageContaining("failed at ADD_REDIRECT")
                .hasMessageContaining("rolled back")
                .hasMessageContaining("add redirect filter on vif7.0")
                .cause().isInstanceOf(LinkNotFoundException.class);
        assertThat(lc.hookFailures()).isEmpty();
        BufferRecord b = lc.store().all().getFirst();
        assertThat(b.state()).isEqualTo(BufferState.FAILED);
        assertThat(b.failedStep()).isEqualTo(BufferEvent.ADD_REDIRECT);
        assertThat(lc.journalDetails(b)).anySatisfy(line -> assertThat(line)
                .startsWith("REMOVE_INGRESS DONE").contains("vif vif7.0 is gone"));
        assertThat(ns.link("vif7.0")).isEmpty();
        assertThat(ns.linksOfType("ifb")).as("the ifb made for the vif is gone again").isEmpty();
    }

    /**
     * The lifecycle makes the ifb before it needs the vif: a vif that does not exist fails the install at its
     * ingress step, and the ifb made for it is deleted again.
     */
    @Test
    void aVifThatDoesNotExistFailsTheInstallAndLeavesNothing() {
        TestLifecycle lc = TestLifecycle.on(netlink);
        assertThatThrownBy(() -> lc.lifecycle().install("dom9", InterfaceName.of("vif9.9")))
                .isInstanceOf(NetbufException.class)
                .hasMessageContaining("failed at ADD_INGRESS")
                .hasMessageContaining("vif9.9")
                .cause().isInstanceOf(LinkNotFoundException.class);
        assertThat(lc.store().all().getFirst().state()).isEqualTo(BufferState.FAILED);
        assertThat(ns.linksOfType("ifb")).isEmpty();
    }

    /** Objects on the vif that no buffer of this journal knows (another tool's, say): the kernel refuses. */
    @Test
    void aSecondInstallOnTheSameVifIsRefusedAndLeavesTheFirstIntact() {
        // the first buffer's steps up to the plug
        Link vif = netlink.link(VIF);
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        netlink.setUp(ifb);
        netlink.addIngress(new IngressQdisc(vif));
        netlink.addRedirect(RedirectFilter.allProtocols(vif, ifb));

        TestLifecycle lc = TestLifecycle.on(netlink);
        assertThatThrownBy(() -> lc.lifecycle().install("dom8", VIF))
                .isInstanceOf(NetbufException.class)
                .hasMessageContaining("failed at ADD_INGRESS")
                .hasMessageContaining("already has an ingress qdisc");
        assertThat(ns.linksOfType("ifb")).containsExactly("nbifb7");
        assertThat(ns.qdisc("vif7.0", "ingress")).isPresent();
        assertThat(ns.ingressFilters("vif7.0")).hasSize(1);
        assertThat(ns.ingressFilters("vif7.0").getFirst().get("options").get("actions").get(0).get("to_dev").asText())
                .isEqualTo("nbifb7");
    }

    /**
     * A buffer stopped before its plug (a crash right after the plug's intent) is removed at the next start, the
     * plug that never was included; a removal the kernel had already done when the process stopped is done again,
     * and so is one whose vif has vanished meanwhile: neither is an error.
     */
    @Test
    void removingAPartialBufferIsIdempotent() {
        TestLifecycle first = TestLifecycle.on(netlink);
        TestLifecycle stopsBeforePlug = first.sameDatabase(NetbufSettings.defaults(),
                FaultInjection.abandonAt("after-intent:ADD_PLUG"));
        assertThatThrownBy(() -> stopsBeforePlug.lifecycle().install("dom7", VIF))
                .isInstanceOf(FaultInjection.Abandoned.class);
        BufferRecord b = first.store().all().getFirst();
        assertThat(b.pendingStep()).isEqualTo(BufferEvent.ADD_PLUG);
        assertThat(ns.linksOfType("ifb")).containsExactly(b.ifb());
        assertThat(ns.ingressFilters("vif7.0")).hasSize(1);

        // the next start removes it, and stops (abandoned again) once the ingress qdisc is gone
        TestLifecycle stopsAfterIngress = first.sameDatabase(NetbufSettings.defaults(),
                FaultInjection.abandonAt("after-kernel:REMOVE_INGRESS"));
        assertThatThrownBy(stopsAfterIngress::recover).isInstanceOf(FaultInjection.Abandoned.class);
        assertThat(first.current(b).pendingStep()).isEqualTo(BufferEvent.REMOVE_INGRESS);
        assertThat(ns.qdisc("vif7.0", "ingress")).isEmpty();
        assertThat(ns.ingressFilters("vif7.0")).isEmpty();
        assertThat(ns.linksOfType("ifb")).containsExactly(b.ifb());

        ns.deleteLink("vif7.0"); // the vif vanishes too
        TestLifecycle restarted = first.sameDatabase(NetbufSettings.defaults(), FaultInjection.none());
        assertThat(restarted.recover().rolledBack()).isEqualTo(1);
        assertThat(restarted.current(b).state()).isEqualTo(BufferState.FREE);
        assertThat(restarted.journal(b)).doesNotContain("REMOVE_PLUG FAILED", "REMOVE_INGRESS FAILED",
                "RELEASE_IFB FAILED").contains("REMOVE_PLUG DONE", "REMOVE_REDIRECT DONE", "RELEASE_IFB DONE");
        assertThat(restarted.journal(b)).filteredOn(line -> line.startsWith("REMOVE_INGRESS")).containsExactly(
                "REMOVE_INGRESS INTENT", "REMOVE_INGRESS INTERRUPTED", "REMOVE_INGRESS INTENT", "REMOVE_INGRESS DONE");
        assertThat(restarted.journalDetails(b)).filteredOn(line -> line.startsWith("REMOVE_INGRESS DONE"))
                .singleElement().asString().contains("vif vif7.0 is gone");
        assertThat(ns.linksOfType("ifb")).isEmpty();
        assertThat(restarted.store().holdingVif()).isEmpty();
    }

    @Test
    void poolModeTakesAFreeIfbAndLeavesItInThePool() {
        ns.addVif("vif8.0", "eth1");
        netlink.createIfb(InterfaceName.of("ifb0"));
        // another buffer holds ifb0: an install on vif8.0 stopped (a crash) right after it took it
        TestLifecycle first = TestLifecycle.on(netlink, POOL);
        TestLifecycle other = first.sameDatabase(POOL, FaultInjection.abandonAt("after-kernel:ACQUIRE_IFB"));
        assertThatThrownBy(() -> other.lifecycle().install("dom8", InterfaceName.of("vif8.0")))
                .isInstanceOf(FaultInjection.Abandoned.class);
        assertThat(first.store().claimedIfbs()).containsExactly("ifb0");
        netlink.createIfb(InterfaceName.of("ifb1"));

        // so ifb1 is taken; the plug step fails (the kernel refuses it) and returns it
        List<String> redirectTo = new ArrayList<>();
        List<String> flags = new ArrayList<>();
        TestLifecycle pool = first.sameDatabase(POOL, (step, b) -> {
            if (step == BufferEvent.ADD_PLUG && b.vif().equals("vif7.0")) {
                ns.occupyRoot(b.ifb());
                redirectTo.add(ns.ingressFilters("vif7.0").getFirst().get("options").get("actions").get(0)
                        .get("to_dev").asText());
                flags.add(ns.link("ifb1").orElseThrow().get("flags").toString());
            }
        });
        assertThatThrownBy(() -> pool.lifecycle().install("dom7", VIF)).hasMessageContaining("failed at ADD_PLUG")
                .hasMessageContaining("already has a root qdisc");
        assertThat(pool.hookFailures()).isEmpty();
        assertThat(redirectTo).containsExactly("ifb1");
        assertThat(flags.getFirst()).contains("UP");
        assertThat(ns.linksOfType("ifb")).as("pool ifbs are never deleted").containsExactlyInAnyOrder("ifb0", "ifb1");
        assertThat(ns.link("ifb1").orElseThrow().get("flags").toString()).doesNotContain("\"UP\"");
    }

    @Test
    void anEmptyPoolSaysHowToFillIt() {
        TestLifecycle pool = TestLifecycle.on(netlink, POOL);
        assertThatThrownBy(() -> pool.lifecycle().install("dom7", VIF))
                .hasMessageContaining("failed at ACQUIRE_IFB")
                .hasMessageContaining("no free ifb")
                .hasMessageContaining("modprobe ifb numifbs=N");
        assertThat(pool.store().all().getFirst().state()).isEqualTo(BufferState.FAILED);
        assertThat(pool.store().holdingVif()).isEmpty();
    }

    private void assertNothingLeft() {
        assertThat(ns.linksOfType("ifb")).isEmpty();
        assertThat(ns.qdisc("vif7.0", "ingress")).isEmpty();
        assertThat(ns.ingressFilters("vif7.0")).isEmpty();
    }
}
