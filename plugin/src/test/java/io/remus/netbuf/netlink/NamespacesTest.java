package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Host kernel: named network namespaces made and removed by {@link Namespaces}, observed with {@code ip netns} and
 * {@code ip -n}. Every namespace a test makes is removed afterwards, and the test checks that it is.
 */
class NamespacesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    final List<String> made = new ArrayList<>();

    @BeforeEach
    void requireRoot() {
        Sh.requireRoot();
    }

    @AfterEach
    void removeWhatTheTestMade() {
        made.forEach(n -> Sh.tryRun("ip", "netns", "del", n));
        assertThat(ipNetnsList()).as("namespaces left behind").doesNotContainAnyElementsOf(made);
    }

    NetworkNamespace fresh() {
        String name = "nbn" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
        made.add(name);
        return NetworkNamespace.of(name);
    }

    @Test
    void createsANamespaceThatIpSeesAndDeletesIt() throws IOException {
        NetworkNamespace ns = fresh();
        assertThat(Namespaces.exists(ns)).isFalse();

        Namespaces.create(ns);

        assertThat(Namespaces.exists(ns)).isTrue();
        assertThat(Namespaces.list()).contains(ns);
        assertThat(ipNetnsList()).contains(ns.name());
        JsonNode links = json(Sh.run("ip", "-n", ns.name(), "-j", "link", "show"));
        assertThat(links).hasSize(1);
        assertThat(links.get(0).get("ifname").asText()).isEqualTo("lo");
        // ip netns exec works on it too, and it is a namespace of its own, not the test JVM's
        String inside = Sh.run("ip", "netns", "exec", ns.name(), "readlink", "/proc/self/ns/net").strip();
        assertThat(inside).isEqualTo("net:[" + inode(ns.file()) + "]")
                .isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString());
        assertThat(Sh.run("ip", "netns", "identify", pidOfSelf())).doesNotContain(ns.name());
        try (Netlink netlink = Netlink.openInNamespace(ns)) {
            assertThat(netlink.findLink(InterfaceName.of("lo"))).isPresent();
        }

        Namespaces.delete(ns);

        assertThat(Namespaces.exists(ns)).isFalse();
        assertThat(ipNetnsList()).doesNotContain(ns.name());
        assertThat(Sh.tryRun("ip", "-n", ns.name(), "link", "show").ok()).isFalse();
    }

    @Test
    void twoNamespacesAreDistinct() {
        NetworkNamespace a = fresh();
        NetworkNamespace b = fresh();
        Namespaces.create(a);
        Namespaces.create(b);
        assertThat(inode(a.file())).isNotEqualTo(inode(b.file()));
        Sh.run("ip", "-n", a.name(), "link", "add", "nbmark0", "type", "ifb");
        assertThat(Sh.tryRun("ip", "-n", b.name(), "link", "show", "nbmark0").ok()).isFalse();
        Namespaces.delete(a);
        Namespaces.delete(b);
    }

    @Test
    void deletingIsIdempotent() {
        NetworkNamespace ns = fresh();
        Namespaces.delete(ns); // never existed
        Namespaces.create(ns);
        Namespaces.delete(ns);
        Namespaces.delete(ns); // already gone
        assertThat(ipNetnsList()).doesNotContain(ns.name());
    }

    @Test
    void creatingTwiceIsRefusedAndLeavesTheFirstAlone() {
        NetworkNamespace ns = fresh();
        Namespaces.create(ns);
        Sh.run("ip", "-n", ns.name(), "link", "add", "nbmark0", "type", "ifb");
        long inode = inode(ns.file());

        assertThatThrownBy(() -> Namespaces.create(ns))
                .isInstanceOf(NamespaceException.class)
                .isInstanceOf(NetlinkException.class)
                .hasMessageContaining("create network namespace " + ns.name() + " failed")
                .hasMessageContaining("EEXIST")
                .hasMessageContaining("exists already")
                .hasMessageContaining("ip netns del " + ns.name())
                .satisfies(e -> assertThat(((NamespaceException) e).alreadyExists()).isTrue());

        assertThat(inode(ns.file())).isEqualTo(inode);
        assertThat(Sh.run("ip", "-n", ns.name(), "-j", "link", "show", "nbmark0")).contains("nbmark0");
        Namespaces.delete(ns);
    }

    @Test
    void worksBothWaysWithIproute2() {
        NetworkNamespace byIp = fresh();
        Sh.run("ip", "netns", "add", byIp.name());
        assertThat(Namespaces.exists(byIp)).isTrue();
        assertThatThrownBy(() -> Namespaces.create(byIp)).isInstanceOf(NamespaceException.class)
                .hasMessageContaining("exists already");
        Namespaces.delete(byIp);
        assertThat(ipNetnsList()).doesNotContain(byIp.name());

        NetworkNamespace byUs = fresh();
        Namespaces.create(byUs);
        assertThat(Sh.tryRun("ip", "netns", "add", byUs.name()).ok()).isFalse();
        Sh.run("ip", "netns", "del", byUs.name());
        assertThat(Namespaces.exists(byUs)).isFalse();
    }

    @Test
    void runNetnsIsASharedMountPointAsIproute2LeavesIt() {
        NetworkNamespace ns = fresh();
        Namespaces.create(ns);
        assertThat(Sh.run("findmnt", "-n", "-o", "PROPAGATION", "--mountpoint", "/run/netns").strip())
                .startsWith("shared");
        assertThat(Files.isDirectory(NetworkNamespace.RUN_DIR)).isTrue();
        Namespaces.delete(ns);
    }

    @Test
    void manyInParallelAreAllMadeAndRemoved() throws Exception {
        List<NetworkNamespace> all = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            all.add(fresh());
        }
        inParallel(all, Namespaces::create);
        assertThat(ipNetnsList()).containsAll(all.stream().map(NetworkNamespace::name).toList());
        long distinct = all.stream().map(ns -> inode(ns.file())).distinct().count();
        assertThat(distinct).isEqualTo(all.size());
        inParallel(all, Namespaces::delete);
        assertThat(ipNetnsList()).doesNotContainAnyElementsOf(all.stream().map(NetworkNamespace::name).toList());
    }

    private static void inParallel(List<NetworkNamespace> all, java.util.function.Consumer<NetworkNamespace> op)
            throws Exception {
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            all.forEach(ns -> done.add(pool.submit(() -> op.accept(ns))));
            for (var f : done) {
                f.get(); // rethrows what failed
            }
        }
    }

    static List<String> ipNetnsList() {
        List<String> names = new ArrayList<>();
        json(Sh.run("ip", "-j", "netns", "list")).forEach(n -> names.add(n.get("name").asText()));
        return names;
    }

    static long inode(Path nsFile) {
        try {
            return ((Number) Files.getAttribute(nsFile, "unix:ino")).longValue();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static String pidOfSelf() {
        return Long.toString(ProcessHandle.current().pid());
    }

    static JsonNode json(String text) {
        try {
            return JSON.readTree(text.isBlank() ? "[]" : text);
        } catch (IOException e) {
            throw new AssertionError("unparseable JSON from ip: " + text, e);
        }
    }
}
