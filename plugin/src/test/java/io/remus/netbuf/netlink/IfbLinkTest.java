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
