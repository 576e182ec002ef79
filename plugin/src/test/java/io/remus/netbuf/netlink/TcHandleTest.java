package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TcHandleTest {

    @Test
    void printsAsTcDoes() {
        assertThat(TcHandle.ROOT).hasToString("root");
        assertThat(TcHandle.INGRESS).hasToString("ffff:");
        assertThat(TcHandle.INGRESS_PARENT).hasToString("ingress");
        assertThat(PlugQdisc.DEFAULT_HANDLE).hasToString("4e42:");
        assertThat(TcHandle.of(1, 0x10)).hasToString("1:10");
    }

    @Test
    void refusesOutOfRangeParts() {
        assertThatThrownBy(() -> TcHandle.of(0x10000, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TcHandle.of(1, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void plugLimitIsBounded() {
        assertThatThrownBy(() -> PlugQdisc.checkLimit(-1)).hasMessageContaining("plug limit");
        assertThatThrownBy(() -> PlugQdisc.checkLimit(1L << 32)).hasMessageContaining("plug limit");
        PlugQdisc.checkLimit(PlugQdisc.DEFAULT_LIMIT_BYTES);
    }
}
