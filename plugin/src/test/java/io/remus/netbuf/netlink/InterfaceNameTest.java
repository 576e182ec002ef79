package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class InterfaceNameTest {

    @ParameterizedTest
    @ValueSource(strings = {"vif7.0", "ifb0", "nbifb123", "a", "vif123456.12345", "eth-0_x"})
    void acceptsKernelSafeNames(String name) {
        assertThat(InterfaceName.of(name).value()).isEqualTo(name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "vif1234567.12345", "a/b", "a b", "vif7.0;reboot", "$(id)", "a`b`", "vif\n7",
            "véth0", "vif7:0", ".", "..", "ifb0|x", "x>y"})
    void refusesNamesThatMustNotReachTheKernel(String name) {
        assertThatThrownBy(() -> InterfaceName.of(name)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("interface name");
    }

    @ParameterizedTest
    @ValueSource(strings = {"vif\n7", "x\u202ey"})
    void errorMessagesEscapeControlCharacters(String name) {
        assertThatThrownBy(() -> InterfaceName.of(name)).hasMessageNotContaining("\n").hasMessageNotContaining("\u202e");
    }
}
