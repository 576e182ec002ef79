package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.uml.UserModeLinux;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Namespaces} on a host where {@code /run/netns} does not exist yet, as after boot: each test runs a child JVM
 * in a private mount namespace of its own with an empty tmpfs on {@code /run}, so the host's {@code /run/netns} is
 * never touched and everything the child made goes away with that mount namespace.
 */
class NamespaceMountTest {

    private static final String PRELUDE = """
            set -u
            JAVA=$1; CP=$2
            probe() { "$JAVA" --enable-native-access=ALL-UNNAMED -cp "$CP" io.remus.netbuf.netlink.NamespaceProbeMain "$@"; }
            mount -t tmpfs nbt-run /run || exit 1
            """;

    String a;
    String b;

    @BeforeEach
    void names() {
        Sh.requireRoot();
        String id = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
        a = "nbm" + id + "a";
        b = "nbm" + id + "b";
    }

    /**
     * Like {@code ip netns add}, the first create makes {@code /run/netns} a shared mount point. That is what lets a
     * process whose mount namespace was copied before a namespace was made (an {@code ip netns exec} child, a
     * service with a private /tmp) see it: without it, such a process finds an empty file, and {@code ip -n NAME}
     * there fails with "Invalid argument".
     */
    @Test
    void runNetnsBecomesASharedMountPointSoOtherMountNamespacesSeeLaterNamespaces() {
        String out = run("""
                echo "before: $(ls -d /run/netns 2>/dev/null || echo absent)"
                probe create %1$s
                echo "mode: $(stat -c %%a /run/netns)"
                mountpoint -q /run/netns && echo "after: a mount point"
                # the host's own /run/netns mount, hidden under the tmpfs, is listed as well: take the tmpfs one
                echo "after: $(findmnt -n -o FSTYPE,PROPAGATION --mountpoint /run/netns | grep ^tmpfs | tr -s ' ')"
                unshare --mount --propagation slave sleep 60 &
                other=$!
                while [ "$(readlink /proc/$other/ns/mnt)" = "$(readlink /proc/$$/ns/mnt)" ]; do sleep 0.05; done
                probe create %2$s
                nsenter -t $other -m ip -n %2$s link show lo >/dev/null && echo "other mount namespace: ip -n %2$s works"
                nsenter -t $other -m ip netns exec %2$s true && echo "other mount namespace: ip netns exec %2$s works"
                ip -n %2$s link show lo >/dev/null && echo "here: ip -n %2$s works"
                probe delete %2$s %1$s
                grep -c -e " /run/netns/%1$s " -e " /run/netns/%2$s " /proc/$other/mountinfo \
                    | sed 's/^/other mount namespace: mounts left: /'
                echo "left: $(ls /run/netns | tr '\\n' ' ')."
                kill $other
                """.formatted(a, b));
        assertThat(out).contains("before: absent", "OK create " + a, "mode: 755", "after: a mount point",
                "after: tmpfs shared",
                "OK create " + b,
                "other mount namespace: ip -n " + b + " works",
                "other mount namespace: ip netns exec " + b + " works",
                "here: ip -n " + b + " works",
                "OK delete " + b, "OK delete " + a,
                "other mount namespace: mounts left: 0",
                "left: .");
    }

    @Test
    void withoutCapSysAdminTheErrorNamesTheCapabilityAndNothingIsLeft() {
        String out = run("""
                setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- \
                    "$JAVA" --enable-native-access=ALL-UNNAMED -cp "$CP" io.remus.netbuf.netlink.NamespaceProbeMain create %1$s
                echo "left: $(ls /run/netns | tr '\\n' ' ')."
                """.formatted(a));
        assertThat(out).contains("NamespaceException: create network namespace " + a + " failed: mount")
                .contains("EPERM")
                .contains("CAP_SYS_ADMIN")
                .contains("left: .");
    }

    private static String run(String body) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Sh.Result r = Sh.tryRun(List.of("unshare", "--mount", "--propagation", "private", "sh", "-c", PRELUDE + body,
                "sh", java, UserModeLinux.testClassPath()));
        assertThat(r.exit()).as("script failed: %s%n%s", r.out(), r.err()).isZero();
        return r.out();
    }
}
