package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Host kernel, own namespace: ifb create / up / down / delete, checked with {@code ip -j}. */
class IfbLinkTest {

    TestNamespace ns;
    Netlink netlink;

    @BeforeEach
    void setUp() {
        ns = TestNamespace.create();
        netlink = ns.open();
    }

    @AfterEach
    void tearDown() {
        if (netlink != null) {
            netlink.close();
        }
        ns.close();
    }

    @Test
    void createsAnIfbSetsItUpAndDownAndDeletesIt() {
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb1"));
        assertThat(ns.linksOfType("ifb")).containsExactly("nbifb1");
        assertThat(ns.link("nbifb1").orElseThrow().get("ifindex").asInt()).isEqualTo(ifb.index());
        assertThat(flags("nbifb1")).doesNotContain("UP");

        netlink.setUp(ifb);
        assertThat(flags("nbifb1")).contains("UP");
        assertThat(netlink.isUp(ifb)).isTrue();
        assertThat(netlink.ifbLinks()).containsExactly(ifb);

        netlink.setDown(ifb);
        assertThat(flags("nbifb1")).doesNotContain("UP");

        netlink.deleteLink(ifb);
        assertThat(ns.link("nbifb1")).isEmpty();
        netlink.deleteLink(ifb); // already gone: success
        netlink.setDown(ifb);    // likewise
    }

    /**
     * An ifb with an IPv6 link-local address sends a router solicitation and MLD reports of its own, into its own
     * plug, where they count against the limit and show in the backlog (seen in Xen's dom0 as a stray 70-byte frame):
     * the installer's ifbs, created or taken, come up without one.
     */
    @Test
    void theInstallersIfbsComeUpWithoutAnIpv6AddressOfTheirOwn() throws InterruptedException {
        // TestNamespace turns IPv6 off for its devices; dom0's root namespace, where the ifbs live on Xen, has it on
        boolean ipv6 = java.nio.file.Files.exists(java.nio.file.Path.of("/proc/net/if_inet6"));
        if (ipv6) {
            Sh.run("ip", "netns", "exec", ns.name, "sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/all/disable_ipv6;"
                    + " echo 0 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
        }
        BufferInstaller installer = new BufferInstaller(netlink);
        installer.createIfb(InterfaceName.of("nbifb1"));
        netlink.createIfb(InterfaceName.of("ifb0"));
        installer.takeIfb(InterfaceName.of("ifb0"));
        Link plain = netlink.createIfb(InterfaceName.of("nbifb2"));
        netlink.setUp(plain);
        // the control: an ifb merely set up gets a link-local address (within a moment), on a kernel with IPv6
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (ipv6 && !Sh.run("ip", "-n", ns.name, "-6", "addr", "show", "dev", "nbifb2").contains("inet6 fe80::")) {
            assertThat(System.nanoTime()).as("the control ifb got no link-local address in 5 s").isLessThan(deadline);
            Thread.sleep(50);
        }
        if (!ipv6) {
            System.out.println("IfbLinkTest: this kernel has no IPv6, so no ifb gets an address: no control");
        }
        for (String dev : java.util.List.of("nbifb1", "ifb0")) {
            assertThat(flags(dev)).contains("UP");
            assertThat(Sh.run("ip", "-n", ns.name, "-d", "link", "show", "dev", dev)).contains("addrgenmode none");
            assertThat(Sh.run("ip", "-n", ns.name, "-6", "addr", "show", "dev", dev)).as(dev).doesNotContain("inet6");
        }
    }

    @Test
    void aSecondIfbWithTheSameNameIsRefusedWithTheReason() {
        netlink.createIfb(InterfaceName.of("nbifb1"));
        assertThatThrownBy(() -> netlink.createIfb(InterfaceName.of("nbifb1")))
                .isInstanceOf(NetlinkException.class)
                .hasMessageContaining("create ifb on nbifb1")
                .hasMessageContaining("exists");
    }

    @Test
    void findLinkSeesOnlyTheSocketsNamespace() {
        ns.addVif("vif7.0", "eth0");
        assertThat(netlink.findLink(InterfaceName.of("vif7.0"))).isPresent();
        // eth0 of the guest lives in the guest namespace, not in ours
        assertThat(netlink.findLink(InterfaceName.of("eth0"))).isEmpty();
        assertThatThrownBy(() -> netlink.link(InterfaceName.of("vif9.9")))
                .isInstanceOf(LinkNotFoundException.class)
                .hasMessageContaining("vif9.9")
                .hasMessageContaining("ip link show vif9.9");
    }

    @Test
    void aNamespaceThatDoesNotExistIsNamed() {
        assertThatThrownBy(() -> Netlink.openInNamespace(java.nio.file.Path.of("/run/netns/nbt-does-not-exist")))
                .isInstanceOf(NetlinkUnavailableException.class)
                .hasMessageContaining("/run/netns/nbt-does-not-exist")
                .hasMessageContaining("ip netns add");
    }

    private String flags(String dev) {
        return ns.link(dev).orElseThrow().get("flags").toString();
    }
}
