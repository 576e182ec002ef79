package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Host kernel: a domain's vif as a veth pair, the host end {@code vif7.0} in a test namespace (standing in for dom0)
 * and the peer {@code eth0} in a namespace of the domain's own made by {@link Namespaces}; observed with
 * {@code ip -j} and {@code ping}.
 */
class VethPairTest {

    static final InterfaceName VIF = InterfaceName.of("vif7.0");
    static final InterfaceName ETH0 = InterfaceName.of("eth0");

    TestNamespace host;
    Netlink netlink;
    NetworkNamespace domain;
    final List<String> made = new ArrayList<>();

    @BeforeEach
    void setUp() {
        host = TestNamespace.create();
        netlink = host.open();
        domain = fresh();
        Namespaces.create(domain);
    }

    @AfterEach
    void tearDown() {
        if (netlink != null) {
            netlink.close();
        }
        if (host != null) {
            host.close();
        }
        made.forEach(n -> Sh.tryRun("ip", "netns", "del", n));
        List<String> left = NamespacesTest.ipNetnsList();
        assertThat(left).as("namespaces left behind").doesNotContainAnyElementsOf(made);
        if (host != null) {
            assertThat(left).doesNotContain(host.name, host.guest);
        }
    }

    NetworkNamespace fresh() {
        String name = "nbd" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
        made.add(name);
        return NetworkNamespace.of(name);
    }

    @Test
    void createsThePairWithBothEndsUp() {
        Link vif = netlink.createVethPair(VIF, ETH0, domain);

        JsonNode hostEnd = link(host.name, VIF.value());
        assertThat(hostEnd.get("ifindex").asInt()).isEqualTo(vif.index());
        assertThat(hostEnd.path("linkinfo").path("info_kind").asText()).isEqualTo("veth");
        assertThat(flags(hostEnd)).contains("UP", "BROADCAST", "MULTICAST");
        assertThat(netlink.isUp(vif)).isTrue();

        JsonNode guestEnd = link(domain.name(), ETH0.value());
        assertThat(guestEnd.path("linkinfo").path("info_kind").asText()).isEqualTo("veth");
        assertThat(flags(guestEnd)).contains("UP", "BROADCAST", "MULTICAST");
        // each end names the other as its link
        assertThat(hostEnd.get("link_index").asInt()).isEqualTo(guestEnd.get("ifindex").asInt());
        assertThat(guestEnd.get("link_index").asInt()).isEqualTo(vif.index());
        // the peer is nowhere else: not beside the host end, not in the test JVM's namespace
        assertThat(Sh.tryRun("ip", "-n", host.name, "link", "show", ETH0.value()).ok()).isFalse();
        assertThat(netlink.findLink(ETH0)).isEmpty();

        // the same flags as a pair made by ip and set up by ip
        host.addVif("vif8.0", "eth8");
        assertThat(flagsWhenCarrier(host.name, VIF.value())).isEqualTo(flagsWhenCarrier(host.name, "vif8.0"));
        assertThat(flagsWhenCarrier(domain.name(), ETH0.value())).isEqualTo(flagsWhenCarrier(host.guest, "eth8"));
    }

    @Test
    void framesPassBetweenTheEnds() {
        netlink.createVethPair(VIF, ETH0, domain);
        Sh.run("ip", "-n", host.name, "addr", "add", "169.254.77.1/30", "dev", VIF.value());
        Sh.run("ip", "-n", domain.name(), "addr", "add", "169.254.77.2/30", "dev", ETH0.value());

        Sh.Result ping = Sh.tryRun("ip", "netns", "exec", host.name, "ping", "-c", "3", "-i", "0.2", "-W", "2",
                "169.254.77.2");
        assertThat(ping.ok()).as("ping: %s %s", ping.out(), ping.err()).isTrue();
        assertThat(ping.out()).contains("3 received");
        Sh.Result back = Sh.tryRun("ip", "netns", "exec", domain.name(), "ping", "-c", "1", "-W", "2", "169.254.77.1");
        assertThat(back.ok()).as("ping back: %s %s", back.out(), back.err()).isTrue();
    }

    @Test
    void deletingTheHostEndRemovesThePeer() {
        Link vif = netlink.createVethPair(VIF, ETH0, domain);
        netlink.deleteLink(vif);

        assertThat(host.link(VIF.value())).isEmpty();
        JsonNode links = NamespacesTest.json(Sh.run("ip", "-n", domain.name(), "-j", "link", "show"));
        assertThat(links).hasSize(1);
        assertThat(links.get(0).get("ifname").asText()).isEqualTo("lo");
        netlink.deleteLink(vif); // already gone: success
    }

    @Test
    void deletingTheDomainNamespaceRemovesTheHostEnd() throws InterruptedException {
        netlink.createVethPair(VIF, ETH0, domain);
        Namespaces.delete(domain);
        // the namespace is torn down asynchronously (cleanup_net), and the pair with it
        for (int i = 0; i < 100 && host.link(VIF.value()).isPresent(); i++) {
            Thread.sleep(50);
        }
        assertThat(host.link(VIF.value())).isEmpty();
    }

    @Test
    void aDomainWithSeveralVifs() {
        List<Link> vifs = netlink.createVethPairs(List.of(InterfaceName.of("vif7.0"), InterfaceName.of("vif7.1")),
                List.of(InterfaceName.of("eth0"), InterfaceName.of("eth1")), domain);
        assertThat(vifs).extracting(Link::name).extracting(InterfaceName::value).containsExactly("vif7.0", "vif7.1");
        assertThat(vifs.get(0).index()).isNotEqualTo(vifs.get(1).index());
        assertThat(vifs.get(1).index()).isEqualTo(link(host.name, "vif7.1").get("ifindex").asInt());
        assertThat(flags(link(domain.name(), "eth0"))).contains("UP");
        assertThat(flags(link(domain.name(), "eth1"))).contains("UP");
        assertThat(link(domain.name(), "eth1").get("link_index").asInt()).isEqualTo(vifs.get(1).index());
        netlink.deleteLink(vifs.get(0));
        netlink.deleteLink(vifs.get(1));
        assertThat(NamespacesTest.json(Sh.run("ip", "-n", domain.name(), "-j", "link", "show"))).hasSize(1);
    }

    @Test
    void severalPairsAreAllOrNone() {
        Sh.run("ip", "-n", domain.name(), "link", "add", "eth2", "type", "ifb"); // the third peer's name is taken
        assertThatThrownBy(() -> netlink.createVethPairs(
                List.of(InterfaceName.of("vif7.0"), InterfaceName.of("vif7.1"), InterfaceName.of("vif7.2")),
                List.of(InterfaceName.of("eth0"), InterfaceName.of("eth1"), InterfaceName.of("eth2")), domain))
                .isInstanceOf(NetlinkException.class)
                .hasMessageContaining("vif7.2 (peer eth2 in netns " + domain + ")")
                .hasMessageContaining("exists");
        assertThat(host.link("vif7.0")).isEmpty();
        assertThat(host.link("vif7.1")).isEmpty();
        assertThat(host.link("vif7.2")).isEmpty();
        JsonNode left = NamespacesTest.json(Sh.run("ip", "-n", domain.name(), "-j", "link", "show"));
        assertThat(left).extracting(l -> l.get("ifname").asText()).containsExactlyInAnyOrder("lo", "eth2");
    }

    @Test
    void anExistingHostEndIsRefusedWithTheReason() {
        netlink.createVethPair(VIF, ETH0, domain);
        assertThatThrownBy(() -> netlink.createVethPair(VIF, InterfaceName.of("eth1"), domain))
                .isInstanceOf(NetlinkException.class)
                .isNotInstanceOf(LinkNotFoundException.class)
                .hasMessageContaining("create veth pair on vif7.0 (peer eth1 in netns " + domain + ")")
                .hasMessageContaining("exists");
        // nothing half-made in the domain
        assertThat(Sh.tryRun("ip", "-n", domain.name(), "link", "show", "eth1").ok()).isFalse();
    }

    @Test
    void aDeviceHereNamedLikeThePeerDoesNotGetInTheWay() {
        // dom0 has an eth0 of its own, as most machines (and a UML guest) do
        Sh.run("ip", "-n", host.name, "link", "add", "eth0", "type", "ifb");
        Link vif = netlink.createVethPair(VIF, ETH0, domain);
        assertThat(host.link(VIF.value())).isPresent();
        assertThat(vif.index()).isEqualTo(host.link(VIF.value()).get().get("ifindex").asInt());
        JsonNode peer = NamespacesTest.json(Sh.run("ip", "-n", domain.name(), "-j", "link", "show", "eth0")).get(0);
        assertThat(peer.get("link_type").asText()).isEqualTo("ether");
        assertThat(peer.get("flags").toString()).contains("\"UP\"");
        assertThat(host.link("eth0").get().get("link_type").asText()).as("dom0's eth0 untouched").isEqualTo("ether");
        assertThat(Sh.run("ip", "-n", host.name, "-d", "-j", "link", "show", "eth0")).contains("\"ifb\"");
    }

    @Test
    void anExistingPeerNameInTheDomainIsRefused() {
        netlink.createVethPair(VIF, ETH0, domain);
        assertThatThrownBy(() -> netlink.createVethPair(InterfaceName.of("vif7.1"), ETH0, domain))
                .isInstanceOf(NetlinkException.class)
                .hasMessageContaining("exists");
        assertThat(host.link("vif7.1")).isEmpty();
    }

    @Test
    void aMissingDomainNamespaceIsNamedWithTheFix() {
        NetworkNamespace missing = fresh();
        assertThatThrownBy(() -> netlink.createVethPair(VIF, ETH0, missing))
                .isInstanceOf(NamespaceException.class)
                .hasMessageContaining("vif7.0")
                .hasMessageContaining(missing.file().toString())
                .hasMessageContaining("ENOENT")
                .hasMessageContaining("ip netns add " + missing);
        assertThat(host.link(VIF.value())).isEmpty();
    }

    @Test
    void aPlainFileIsNoNamespace() throws Exception {
        NetworkNamespace stale = fresh();
        java.nio.file.Files.createFile(stale.file()); // as an interrupted create could leave it
        try {
            assertThatThrownBy(() -> netlink.createVethPair(VIF, ETH0, stale))
                    .isInstanceOf(NetlinkException.class)
                    .hasMessageContaining("not a mounted network namespace");
            assertThat(host.link(VIF.value())).isEmpty();
        } finally {
            Namespaces.delete(stale); // removes the plain file as well
        }
        assertThat(stale.file()).doesNotExist();
    }

    private static JsonNode link(String namespace, String dev) {
        return NamespacesTest.json(Sh.run("ip", "-n", namespace, "-d", "-j", "link", "show", "dev", dev)).get(0);
    }

    private static List<String> flags(JsonNode link) {
        List<String> out = new ArrayList<>();
        link.get("flags").forEach(f -> out.add(f.asText()));
        return out;
    }

    /** The flags once the carrier is up (LOWER_UP follows a moment after both ends are up). */
    private static List<String> flagsWhenCarrier(String namespace, String dev) {
        List<String> f = flags(link(namespace, dev));
        for (int i = 0; i < 100 && !f.contains("LOWER_UP"); i++) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            f = flags(link(namespace, dev));
        }
        return f;
    }
}
