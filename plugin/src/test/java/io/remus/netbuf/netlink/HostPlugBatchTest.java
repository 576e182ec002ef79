package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A batch of plug changes for ifbs that have no plug qdisc (on any kernel, with or without sch_plug): every message
 * fails, all the failures come back, each mapped to its own plug, and the socket goes on working.
 */
@Tag("host-kernel")
class HostPlugBatchTest extends NamespaceTest {

    @Test
    void everyFailureOfABatchIsReportedForItsOwnPlug() {
        int n = 200;
        ns.addIfbs(IntStream.range(0, n).mapToObj(i -> "nbifb" + i).toList());
        PlugControl[] controls = new PlugControl[n];
        try {
            for (int i = 0; i < n; i++) {
                controls[i] = netlink.openPlugControl(PlugQdisc.on(netlink.link(InterfaceName.of("nbifb" + i)),
                        PlugQdisc.DEFAULT_LIMIT_BYTES));
            }
            int[] errors = new int[n];
            assertThat(netlink.plugBatch(controls, n, PlugAction.BUFFER, errors)).isEqualTo(n);
            assertThat(java.util.Arrays.stream(errors).max().orElseThrow()).as("every entry failed").isNegative();
            assertThat(controls[n - 1].failure(PlugAction.BUFFER, errors[n - 1])).hasMessageContaining("nbifb" + (n - 1));
            // and again, reusing the socket's batch space, then a plain call: answers never get mixed up
            assertThat(netlink.plugBatch(controls, n, PlugAction.RELEASE_ONE, errors)).isEqualTo(n);
            assertThat(netlink.findLink(VIF)).isPresent();
        } finally {
            for (PlugControl c : controls) {
                if (c != null) {
                    c.close();
                }
            }
        }
    }
}
