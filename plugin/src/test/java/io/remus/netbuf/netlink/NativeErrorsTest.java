package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.uml.UserModeLinux;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The two failures an admin meets first, on the real system: no CAP_NET_ADMIN, and libnl not installed. Each runs
 * the probe in a child JVM (capabilities dropped with setpriv; libnl hidden in a private mount namespace).
 */
class NativeErrorsTest {

    TestNamespace ns;

    @BeforeEach
    void createNamespace() {
        ns = TestNamespace.create();
    }

    @AfterEach
    void deleteNamespace() {
        ns.close();
    }

    @Test
    void withoutCapNetAdminTheErrorNamesTheCapability() {
        // enter the namespace first (that needs CAP_SYS_ADMIN), then drop every capability for the JVM
        String out = probe("--current", "ip", "netns", "exec", ns.name, "setpriv", "--inh-caps=-all",
                "--ambient-caps=-all", "--bounding-set=-all", "--");
        assertThat(out).contains("NetlinkException: create ifb on nbprobe0 failed")
                .contains("CAP_NET_ADMIN");
        assertThat(ns.linksOfType("ifb")).isEmpty();
    }

    @Test
    void withoutLibnlTheErrorNamesTheDebianPackage() {
        String lib = "/usr/lib/x86_64-linux-gnu/" + LibNl.LIBNL_ROUTE;
        String out = probe(ns.file().toString(), "unshare", "--mount", "--propagation", "private", "sh", "-c",
                "mount --bind /dev/null " + lib + " && exec \"$0\" \"$@\"");
        assertThat(out).contains("NetlinkUnavailableException")
                .contains(LibNl.LIBNL_ROUTE)
                .contains("apt-get install libnl-route-3-200");
    }

    private String probe(String namespace, String... prefix) {
        List<String> cmd = new ArrayList<>(List.of(prefix));
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-cp");
        cmd.add(UserModeLinux.testClassPath());
        cmd.add(ErrorProbeMain.class.getName());
        cmd.add(namespace);
        Sh.Result r = Sh.tryRun(cmd);
        assertThat(r.exit()).as("probe failed to run: %s", r.err()).isZero();
        return r.out();
    }
}
