package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Host kernel, own namespace: the ingress qdisc and the u32 + mirred redirect filter, checked with {@code tc -j}. */
class IngressAndRedirectTest extends NamespaceTest {

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
        JsonNode action = f.get("options").get("actions").get(0);
        assertThat(action.get("kind").asText()).isEqualTo("mirred");
        assertThat(action.get("mirred_action").asText()).isEqualTo("redirect");
        assertThat(action.get("direction").asText()).isEqualTo("egress");
        assertThat(action.get("to_dev").asText()).isEqualTo("nbifb7");
        assertThat(action.get("control_action").get("type").asText()).isEqualTo("stolen");

        assertThat(Sh.run("tc", "-n", ns.name, "filter", "show", "dev", "vif7.0", "ingress"))
                .as("u32 runs the actions of terminal nodes only").contains(" terminal ");
        assertThat(netlink.findRedirect(vif, RedirectFilter.DEFAULT_PRIORITY)).contains(filter);

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
        assertThat(ns.ingressFilters("vif7.0").getFirst().get("protocol").asText()).isEqualTo("ip");
    }

    /**
     * Real frames: the guest broadcasts ARP requests. With the all-protocols filter they are stolen into the ifb;
     * with the old IPv4-only filter they escape it (the hole this design closes).
     */
    @Test
    void guestArpIsRedirectedOnlyByTheAllProtocolsFilter() {
        Link vif = netlink.link(VIF);
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        netlink.setUp(ifb);
        netlink.addIngress(new IngressQdisc(vif));
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
