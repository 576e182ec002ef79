package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Namespace names: checked before any syscall, so nothing outside /run/netns is ever created or unlinked. */
class NetworkNamespaceTest {

    @ParameterizedTest
    @ValueSource(strings = {"dom7", "a", "nbn-1.x_2", "...", ".a", "Domain-0",
            "0123456789012345678901234567890123456789012345678901234567890123"})
    void acceptsFileSafeNames(String name) {
        NetworkNamespace ns = NetworkNamespace.of(name);
        assertThat(ns.name()).isEqualTo(name);
        assertThat(ns.file()).isEqualTo(Path.of("/run/netns", name));
        assertThat(ns.file().getParent()).isEqualTo(NetworkNamespace.RUN_DIR);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "..", "../etc", "a/b", "/x", "a b", "x\n", "$(id)", "a;b", "véth", "x\u0000y",
            "01234567890123456789012345678901234567890123456789012345678901234"})
    void refusesNamesThatMustNotBecomeAFile(String name) {
        assertThatThrownBy(() -> NetworkNamespace.of(name)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("network namespace name")
                .hasMessageNotContaining("\n");
    }

    @ParameterizedTest
    @ValueSource(strings = {"..", "../nbn-escape", "nbn/evil"})
    void aBadNameNeverReachesTheFileSystem(String name) {
        assertThatThrownBy(() -> Namespaces.create(NetworkNamespace.of(name)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Namespaces.delete(NetworkNamespace.of(name)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(Path.of("/run/nbn-escape")).doesNotExist();
        assertThat(Path.of("/run/netns/nbn")).doesNotExist();
    }

    @org.junit.jupiter.api.Test
    void nullIsRefused() {
        assertThatThrownBy(() -> Namespaces.create(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> new NetworkNamespace(null)).isInstanceOf(IllegalArgumentException.class);
    }
}
