package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Host kernel, own namespace: the ingress qdisc and the u32 + mirred redirect filter, checked with {@code tc -j};
 * real frames from the guest, counted as they leave the ifb.
 */
class IngressAndRedirectTest extends NamespaceTest {

    static final List<Integer> RUNTS = Wire.RUNTS;
    static final int OLD_NODE = 0x80000800; // 800::800, the node the kernel gives the first filter at a priority

    @Test
    void addsAndDeletesTheIngressQdisc() {
        Link vif = netlink.link(VIF);
        IngressQdisc ingress = new IngressQdisc(vif);
        netlink.addIngress(ingress);
        JsonNode q = ns.qdisc("vif7.0", "ingress").orElseThrow();
        assertThat(q.get("handle").asText()).isEqualTo("ffff:");
        assertThat(q.get("parent").asText()).isEqualTo("ffff:fff1");

        netlink.deleteIngress(ingress);
        assertThat(ns.qdisc("vif7.0", "ingress")).isEmpty();
        netlink.deleteIngress(ingress); // already gone: success
    }

    @Test
    void aSecondIngressIsRefusedNamingTheOwner() {
        IngressQdisc ingress = new IngressQdisc(netlink.link(VIF));
        netlink.addIngress(ingress);
        assertThatThrownBy(() -> netlink.addIngress(ingress))
                .isInstanceOf(NetlinkException.class)
                .hasMessageContaining("add ingress qdisc on vif7.0")
                .hasMessageContaining("already has an ingress qdisc");
    }

    @Test
    void redirectFilterMatchesAllProtocolsAndRedirectsToTheIfb() {
        Link vif = netlink.link(VIF);
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        netlink.addIngress(new IngressQdisc(vif));
        RedirectFilter filter = RedirectFilter.allProtocols(vif, ifb);
        netlink.addRedirect(filter);

        List<JsonNode> filters = ns.ingressFilters("vif7.0");
        assertThat(filters).hasSize(1);
        JsonNode f = filters.getFirst();
        assertThat(f.get("protocol").asText()).isEqualTo("all");
        assertThat(f.get("pref").asInt()).isEqualTo(RedirectFilter.DEFAULT_PRIORITY);
        assertThat(f.get("kind").asText()).isEqualTo("u32");
        JsonNode match = f.get("options").get("match");
        assertThat(match.get("value").asText()).isEqualTo("0");
        assertThat(match.get("mask").asText()).isEqualTo("0");
        assertThat(match.get("off").asInt()).as("the key is read inside the Ethernet header").isEqualTo(-4);
        JsonNode action = f.get("options").get("actions").get(0);
        assertThat(action.get("kind").asText()).isEqualTo("mirred");
        assertThat(action.get("mirred_action").asText()).isEqualTo("redirect");
        assertThat(action.get("direction").asText()).isEqualTo("egress");
        assertThat(action.get("to_dev").asText()).isEqualTo("nbifb7");
        assertThat(action.get("control_action").get("type").asText()).isEqualTo("stolen");

        String shown = Sh.run("tc", "-n", ns.name, "filter", "show", "dev", "vif7.0", "ingress");
        assertThat(shown).as("u32 runs the actions of terminal nodes only").contains(" terminal ");
        assertThat(shown).contains("match 00000000/00000000 at -4");
        RedirectFilter found = netlink.findRedirect(vif, RedirectFilter.DEFAULT_PRIORITY).orElseThrow();
        assertThat(found).isEqualTo(new RedirectFilter(vif, ifb, RedirectFilter.ETH_P_ALL,
                RedirectFilter.DEFAULT_PRIORITY, OLD_NODE, RedirectFilter.KEY_OFFSET));
        assertThat(found.holdsEveryFrame()).isTrue();

        netlink.deleteRedirect(filter);
        assertThat(ns.ingressFilters("vif7.0")).isEmpty();
        assertThat(netlink.findRedirect(vif, RedirectFilter.DEFAULT_PRIORITY)).isEmpty();
        netlink.deleteRedirect(filter); // already gone: success
        assertThat(ns.qdisc("vif7.0", "ingress")).isPresent();
    }

    @Test
    void theIpv4OnlyFilterOfTheOldScriptIsStillAvailable() {
        Link vif = netlink.link(VIF);
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        netlink.addIngress(new IngressQdisc(vif));
        netlink.addRedirect(new RedirectFilter(vif, ifb, RedirectFilter.ETH_P_IP, 10));
        JsonNode f = ns.ingressFilters("vif7.0").getFirst();
        assertThat(f.get("protocol").asText()).isEqualTo("ip");
        assertThat(f.get("options").get("match").get("off").asInt()).isEqualTo(-4);
    }

    /** Frames of 14 to 59 bytes: every one goes through the ifb, with either filter (IPv4 runts for the IPv4 one). */
    @Test
    void runtFramesAreRedirectedByTheAllProtocolsAndTheIpv4Filter() throws Exception {
        Link vif = netlink.link(VIF);
        Link ifb = ifbAndIngress();
        try (Wire wire = new Wire(ns, "vif7.0", "eth0")) {
            RedirectFilter all = RedirectFilter.allProtocols(vif, ifb);
            netlink.addRedirect(all);
            long before = ns.txPackets("nbifb7");
            wire.send(1, 0, RUNTS); // IPv4, IPv6 and ARP in turn
            awaitRedirected(before, RUNTS.size());
            assertThat(wire.await(RUNTS.size(), 5_000)).as("on through the ifb to the wire, in order")
                    .extracting(Wire.Frame::seq).containsExactlyElementsOf(IntStream.range(0, RUNTS.size()).boxed().toList());
            netlink.deleteRedirect(all);

            netlink.addRedirect(new RedirectFilter(vif, ifb, RedirectFilter.ETH_P_IP, 10));
            before = ns.txPackets("nbifb7");
            sendIpv4(wire, 2, RUNTS);
            awaitRedirected(before, RUNTS.size());
        }
    }

    /** The bug this version fixes, on the filter as earlier versions added it: frames of 14 to 17 bytes pass. */
    @Test
    void theFilterOfEarlierVersionsLetsFramesOf14To17BytesThrough() throws Exception {
        RedirectFilter old = oldFilter("all");
        assertThat(old.keyOffset()).isZero();
        assertThat(old.holdsEveryFrame()).isFalse();
        try (Wire wire = new Wire(ns, "vif7.0", "eth0")) {
            long before = ns.txPackets("nbifb7");
            wire.send(1, 0, RUNTS);
            awaitRedirected(before, RUNTS.size() - 4);
            assertThat(wire.await(RUNTS.size(), 5_000)).as("all reach the wire, 4 of them around the ifb")
                    .hasSize(RUNTS.size());
        }
    }

    /**
     * The upgrade, step by step: the new node goes in front of the old one (u32 tries it first), and while both are
     * there every frame, runts included, is redirected; then the old one is deleted, as recovery does, which also
     * finishes an upgrade cut short between its two steps.
     */
    @Test
    void anOldFilterIsUpgradedInPlaceAndHoldsEveryFrameAtEachStep() throws Exception {
        RedirectFilter old = oldFilter("all");
        Link vif = old.vif();
        Link ifb = old.ifb();
        assertThat(old).isEqualTo(new RedirectFilter(vif, ifb, RedirectFilter.ETH_P_ALL, 10, OLD_NODE, 0));

        netlink.addRedirect(old.upgraded());
        assertThat(netlink.redirects(vif, 10)).as("in the order the kernel tries them")
                .extracting(RedirectFilter::handle, RedirectFilter::keyOffset)
                .containsExactly(tuple(OLD_NODE - 1, RedirectFilter.KEY_OFFSET), tuple(OLD_NODE, 0));
        assertThat(ns.ingressFilters("vif7.0")).extracting(f -> f.get("options").get("fh").asText())
                .containsExactly("800::7ff", "800::800");
        try (Wire wire = new Wire(ns, "vif7.0", "eth0")) {
            long before = ns.txPackets("nbifb7");
            wire.send(1, 0, RUNTS);
            awaitRedirected(before, RUNTS.size());

            assertThat(new BufferInstaller(netlink).upgradeRedirect(VIF, 10)).isTrue();
            RedirectFilter upgraded = netlink.redirects(vif, 10).getFirst();
            assertThat(netlink.redirects(vif, 10)).containsExactly(upgraded);
            assertThat(upgraded).isEqualTo(new RedirectFilter(vif, ifb, RedirectFilter.ETH_P_ALL, 10, OLD_NODE - 1,
                    RedirectFilter.KEY_OFFSET));
            assertThat(new BufferInstaller(netlink).upgradeRedirect(VIF, 10)).as("nothing left to upgrade").isFalse();

            before = ns.txPackets("nbifb7");
            wire.send(2, RUNTS.size(), RUNTS);
            awaitRedirected(before, RUNTS.size());
        }
    }

    /** A steady stream of frames while the IPv4 filter of an earlier version is upgraded: not one goes around. */
    @Test
    void noFrameEscapesWhileTheUpgradeRuns() throws Exception {
        Link vif = oldFilter("ip").vif();
        int frames = 100_000;
        try (Wire wire = new Wire(ns, "vif7.0", "eth0")) {
            long before = ns.txPackets("nbifb7");
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> wire.send(1, 0, frames, 60));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (ns.txPackets("nbifb7") == before) {
                assertThat(System.nanoTime()).as("the first frames reach the ifb").isLessThan(deadline);
            }
            assertThat(new BufferInstaller(netlink).upgradeRedirect(VIF, 10)).isTrue();
            assertThat(ns.txPackets("nbifb7")).as("the upgrade ran while the frames were being sent")
                    .isLessThan(before + frames / 3);
            sent.get();
            // frames.py cycles IPv4, IPv6 and ARP: a third are IPv4, the others are not this filter's
            awaitRedirected(before, (frames + 2) / 3);
            assertThat(netlink.redirects(vif, 10)).singleElement().satisfies(f -> {
                assertThat(f.protocol()).isEqualTo(RedirectFilter.ETH_P_IP);
                assertThat(f.holdsEveryFrame()).isTrue();
            });
        }
    }

    /**
     * Why the upgrade adds a node: {@code tc filter replace} of a u32 node changes its actions, but the kernel
     * keeps the node's key.
     */
    @Test
    void replacingAU32NodeKeepsItsKey() {
        Link vif = oldFilter("all").vif();
        Sh.run("tc", "-n", ns.name, "filter", "replace", "dev", "vif7.0", "parent", "ffff:", "protocol", "all",
                "prio", "10", "handle", "800::800", "u32", "match", "u32", "0", "0", "at", "-4",
                "action", "mirred", "egress", "redirect", "dev", "nbifb7");
        assertThat(netlink.findRedirect(vif, 10).orElseThrow().keyOffset()).isZero();
    }

    /** The ifb {@code nbifb7}, up, and the vif's ingress qdisc: what a redirect filter needs. */
    private Link ifbAndIngress() {
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        netlink.setUp(ifb);
        netlink.addIngress(new IngressQdisc(netlink.link(VIF)));
        return ifb;
    }

    /** The redirect filter as an earlier version added it ({@code tc}, by hand), as {@link Netlink} reads it. */
    private RedirectFilter oldFilter(String protocol) {
        ifbAndIngress();
        ns.addOldRedirect("vif7.0", protocol, "nbifb7");
        return netlink.findRedirect(netlink.link(VIF), 10).orElseThrow();
    }

    /** One IPv4 frame per size: frames.py sends IPv4 at sequence numbers divisible by 3. */
    private static void sendIpv4(Wire wire, int epoch, List<Integer> sizes) {
        for (int i = 0; i < sizes.size(); i++) {
            wire.send(epoch, 3 * i, 1, sizes.get(i));
        }
    }

    /** Waits (at most 10 s) until the ifb has sent {@code frames} more than {@code before}, and not one more. */
    private void awaitRedirected(long before, int frames) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (ns.txPackets("nbifb7") < before + frames && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        Thread.sleep(100); // room for a frame too many to show
        assertThat(ns.txPackets("nbifb7") - before).as("frames redirected through the ifb").isEqualTo(frames);
    }

    /**
     * Real frames: the guest broadcasts ARP requests. With the all-protocols filter they are stolen into the ifb;
     * with the old IPv4-only filter they escape it (the hole this design closes).
     */
    @Test
    void guestArpIsRedirectedOnlyByTheAllProtocolsFilter() {
        Link vif = netlink.link(VIF);
        Link ifb = ifbAndIngress();
        Sh.run("ip", "-n", ns.guest, "addr", "add", "169.254.70.2/24", "dev", "eth0");

        RedirectFilter ipv4Only = new RedirectFilter(vif, ifb, RedirectFilter.ETH_P_IP, 10);
        netlink.addRedirect(ipv4Only);
        long before = ns.txPackets("nbifb7");
        sendArpFromGuest();
        assertThat(ns.txPackets("nbifb7")).as("ARP must not match an IPv4-only filter").isEqualTo(before);
        netlink.deleteRedirect(ipv4Only);

        netlink.addRedirect(RedirectFilter.allProtocols(vif, ifb));
        sendArpFromGuest();
        // IPv6 is off in the test namespaces: the only frames the guest sends are its ARP requests
        assertThat(ns.txPackets("nbifb7")).as("ARP frames redirected through the ifb").isGreaterThan(before);
    }

    private void sendArpFromGuest() {
        // No one answers 169.254.70.1, so ping fails; what matters is the ARP requests the guest sends meanwhile.
        Sh.tryRun("ip", "netns", "exec", ns.guest, "ping", "-c", "2", "-i", "0.3", "-W", "1", "169.254.70.1");
    }

    @Test
    void filterOnAVifWithoutIngressNamesTheMissingPiece() {
        Link vif = netlink.link(VIF);
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        assertThatThrownBy(() -> netlink.addRedirect(RedirectFilter.allProtocols(vif, ifb)))
                .isInstanceOf(NetlinkException.class)
                .hasMessageContaining("add redirect filter on vif7.0")
                .hasMessageContaining("no ingress qdisc");
    }
}
