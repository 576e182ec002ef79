package io.remus.netbuf.xen;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.lifecycle.BufferLifecycle;
import io.remus.netbuf.lifecycle.FaultInjection;
import io.remus.netbuf.lifecycle.NetbufSettings;
import io.remus.netbuf.lifecycle.TestDatabase;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * In Xen's dom0 (XenKernelTest boots it): the vif of a real PVH domU, made by netback, buffered through the
 * project's lifecycle, in dom0's own network namespace (dom0 is a throwaway VM).
 */
@Tag(XenVifTest.TAG)
class XenVifTest {

    static final String TAG = XenDom0Run.TAG;

    Netlink netlink;
    BufferStore store;
    BufferLifecycle lifecycle;
    int domid;
    String vif;

    @BeforeEach
    void setUp() {
        domid = Dom0Kernel.onlyDomU();
        vif = "vif" + domid + ".0";
        netlink = Netlink.open();
        store = new BufferStore(TestDatabase.h2File("xen-vif"));
        lifecycle = new BufferLifecycle(store, new BufferInstaller(netlink), NetbufSettings.defaults(),
                FaultInjection.none());
    }

    @AfterEach
    void tearDown() {
        netlink.close();
    }

    @Test
    void theDomUsVifIsNetbacksAndConnected() {
        assertThat(Path.of("/sys/class/net", vif)).exists();
        assertThat(Path.of("/sys/class/net", vif, "device", "driver")).as("netback drives it")
                .satisfies(p -> assertThat(p.toRealPath().getFileName().toString()).isEqualTo("vif"));
        String backend = Sh.run("xenstore-ls", "/local/domain/0/backend/vif/" + domid + "/0");
        assertThat(backend).contains("bridge = \"xenbr0\"").contains("frontend-id = \"" + domid + "\"");
        // XenbusStateConnected: the domU's netfront is up on the other end
        assertThat(Sh.run("xenstore-read", "/local/domain/0/backend/vif/" + domid + "/0/state").strip())
                .isEqualTo("4");
        assertThat(Sh.run("cat", "/sys/class/net/" + vif + "/master/uevent")).contains("INTERFACE=xenbr0");
    }

    @Test
    void aBufferOnTheVifPlugsItsIfbAndTeardownLeavesNothing() throws Exception {
        // the ifb module makes ifb0 and ifb1 when it loads: not the buffer's
        List<String> ifbsBefore = Dom0Kernel.ifbs();
        BufferRecord b = lifecycle.install("dom" + domid, InterfaceName.of(vif));
        assertThat(b.state()).isEqualTo(BufferState.PLUGGED);
        String ifb = b.ifb();
        assertThat(Dom0Kernel.qdiscKinds(ifb)).as("qdiscs on %s", ifb).contains("plug");
        assertThat(Dom0Kernel.qdiscKinds(vif)).as("qdiscs on %s", vif).contains("ingress");
        assertThat(Dom0Kernel.redirectTargets(vif)).containsExactly(ifb);

        assertThat(lifecycle.teardown(b.id()).state()).isEqualTo(BufferState.FREE);
        assertThat(Path.of("/sys/class/net", ifb)).doesNotExist();
        assertThat(Dom0Kernel.ifbs()).as("ifbs left").isEqualTo(ifbsBefore);
        assertThat(Dom0Kernel.qdiscKinds(vif)).as("qdiscs left on %s", vif).doesNotContain("ingress");
        assertThat(Dom0Kernel.ingressFilters(vif)).as("filters left on %s", vif).isEmpty();
        assertThat(Files.readString(Path.of("/sys/class/net", vif, "operstate")).strip())
                .as("the vif itself stays").isNotEqualTo("notpresent");
    }
}
