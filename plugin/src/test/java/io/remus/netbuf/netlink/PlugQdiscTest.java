package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The plug qdisc on a real kernel that has it (user-mode-linux 6.1), checked with {@code tc -j -s}. */
@Tag("uml-guest")
class PlugQdiscTest extends NamespaceTest {

    @Test
    void addsChangesAndDeletesThePlugQdisc() {
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        netlink.setUp(ifb);
        PlugQdisc plug = PlugQdisc.on(ifb, PlugQdisc.DEFAULT_LIMIT_BYTES);
        netlink.addPlug(plug);
        JsonNode q = ns.qdisc("nbifb7", "plug").orElseThrow();
        assertThat(q.get("handle").asText()).isEqualTo("4e42:");
        assertThat(q.get("root").asBoolean()).isTrue();
        assertThat(netlink.plugStats(plug)).contains(new PlugStats(0, 0, 0, 0, 0));

        netlink.plugBuffer(plug);
        netlink.plugReleaseOne(plug);
        netlink.plugReleaseIndefinite(plug);
        netlink.setPlugLimit(plug, 10_000_000);
        try (PlugControl control = netlink.openPlugControl(plug)) {
            for (int i = 0; i < 100; i++) {
                control.buffer();
                control.releaseOne();
            }
            control.releaseIndefinite();
        }
        assertThat(netlink.qdiscs(ifb)).extracting(QdiscInfo::kind).containsExactly("plug");

        netlink.deletePlug(plug);
        assertThat(ns.qdisc("nbifb7", "plug")).isEmpty();
        assertThat(netlink.plugStats(plug)).isEmpty();
        netlink.deletePlug(plug); // already gone: success
    }

    @Test
    void plugStatsReadsThatPlugAloneAndIsEmptyForAnyOtherQdiscOrAGoneIfb() {
        Link a = netlink.createIfb(InterfaceName.of("nbifb7"));
        Link b = netlink.createIfb(InterfaceName.of("nbifb8"));
        netlink.setUp(a);
        netlink.setUp(b);
        PlugQdisc onA = PlugQdisc.on(a, PlugQdisc.DEFAULT_LIMIT_BYTES);
        netlink.addPlug(PlugQdisc.on(b, PlugQdisc.DEFAULT_LIMIT_BYTES));
        assertThat(netlink.plugStats(onA)).as("an ifb with the kernel's own root qdisc").isEmpty();
        netlink.addPlug(onA);
        assertThat(netlink.plugStats(onA)).contains(new PlugStats(0, 0, 0, 0, 0));
        assertThat(netlink.plugStats(new PlugQdisc(a, new TcHandle(0x4e430000), PlugQdisc.DEFAULT_LIMIT_BYTES)))
                .as("a plug of another handle").isEmpty();
        ns.deleteLink("nbifb7");
        assertThat(netlink.plugStats(onA)).as("the ifb gone").isEmpty();
        assertThat(netlink.plugStats(PlugQdisc.on(b, PlugQdisc.DEFAULT_LIMIT_BYTES))).isPresent();
    }

    @Test
    void aSecondPlugOnTheSameIfbIsRefused() {
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        netlink.addPlug(PlugQdisc.on(ifb, PlugQdisc.DEFAULT_LIMIT_BYTES));
        assertThatThrownBy(() -> netlink.addPlug(PlugQdisc.on(ifb, PlugQdisc.DEFAULT_LIMIT_BYTES)))
                .isInstanceOf(NetlinkException.class)
                .hasMessageContaining("add plug qdisc on nbifb7")
                .hasMessageContaining("in use");
    }

    @Test
    void changingAPlugThatIsGoneSaysSo() {
        Link ifb = netlink.createIfb(InterfaceName.of("nbifb7"));
        PlugQdisc plug = PlugQdisc.on(ifb, PlugQdisc.DEFAULT_LIMIT_BYTES);
        netlink.addPlug(plug);
        try (PlugControl control = netlink.openPlugControl(plug)) {
            netlink.deletePlug(plug);
            assertThatThrownBy(control::buffer)
                    .isInstanceOf(NetlinkException.class)
                    .hasMessageContaining("plug buffer on nbifb7")
                    .hasMessageContaining("gone or was replaced");
            ns.deleteLink("nbifb7");
            assertThatThrownBy(control::releaseOne).isInstanceOf(LinkNotFoundException.class);
        }
    }
}
