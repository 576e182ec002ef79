package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.persistence.BufferRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Plug changes on many qdiscs in one sendmsg (user-mode-linux, which has sch_plug): they take effect as one by one
 * would, and each failure comes back mapped to its own plug, whichever message it was.
 */
@Tag("uml-guest")
class PlugBatchTest extends NamespaceTest {

    static final int PLUGS = 64;

    final List<PlugControl> controls = new ArrayList<>();

    @AfterEach
    void closeControls() {
        controls.forEach(PlugControl::close);
    }

    @Test
    void aBatchActsOnEveryPlugAndMapsEachFailureToItsPlug() throws Exception {
        // plug 0 is a real buffer on vif7.0 (installed through the lifecycle), with frames; 1..63 are plugs on
        // ifbs of their own
        TestLifecycle lc = TestLifecycle.on(netlink);
        BufferRecord buffer = lc.lifecycle().install("dom7", VIF);
        PlugQdisc bufferPlug = lc.plugOf(buffer);
        controls.add(netlink.openPlugControl(bufferPlug));
        List<String> ifbs = IntStream.range(1, PLUGS).mapToObj(i -> "pbifb" + i).toList();
        ns.addIfbs(ifbs);
        for (String name : ifbs) {
            PlugQdisc plug = PlugQdisc.on(netlink.link(InterfaceName.of(name)), PlugQdisc.DEFAULT_LIMIT_BYTES);
            netlink.addPlug(plug);
            controls.add(netlink.openPlugControl(plug));
        }
        PlugControl[] all = controls.toArray(PlugControl[]::new);
        int[] errors = new int[PLUGS];

        try (Wire wire = new Wire(ns, "vif7.0", "eth0")) {
            assertThat(netlink.plugBatch(all, PLUGS, PlugAction.BUFFER, errors)).isZero(); // epoch 1 begins
            assertThat(errors).containsOnly(0);
            wire.send(1, 0, 5, 100);
            awaitBacklog(bufferPlug, 5);
            assertThat(wire.drain()).as("held by the batched buffer").isEmpty();
            assertThat(netlink.plugBatch(all, PLUGS, PlugAction.BUFFER, errors)).isZero(); // epoch 1 closes
            assertThat(netlink.plugBatch(all, PLUGS, PlugAction.RELEASE_ONE, errors)).isZero(); // ack
            assertThat(wire.await(5, 10_000)).extracting(Wire.Frame::seq).containsExactly(0, 1, 2, 3, 4);
        }

        for (int gone : new int[] {5, 17, PLUGS - 1}) {
            Sh.run("tc", "-n", ns.name, "qdisc", "del", "dev", "pbifb" + gone, "root");
        }
        assertThat(netlink.plugBatch(all, PLUGS, PlugAction.BUFFER, errors)).isEqualTo(3);
        for (int i = 0; i < PLUGS; i++) {
            if (i == 5 || i == 17 || i == PLUGS - 1) {
                assertThat(errors[i]).as("plug %d", i).isNegative();
                assertThat(all[i].failure(PlugAction.BUFFER, errors[i])).hasMessageContaining("pbifb" + i)
                        .hasMessageContaining("plug buffer");
            } else {
                assertThat(errors[i]).as("plug %d", i).isZero();
            }
        }
        // the socket carries on: a single change right after the batch gets its own answer
        controls.getFirst().releaseIndefinite();
        assertThat(lc.lifecycle().teardown(buffer.id()).state()).isEqualTo(BufferState.FREE);
        assertThat(ns.link(buffer.ifb())).isEmpty();
    }
}
