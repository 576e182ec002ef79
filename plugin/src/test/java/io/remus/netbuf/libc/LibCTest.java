package io.remus.netbuf.libc;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The libc calls that no other test reaches on this host: poll (xenstore's watch) and the errno convention. */
class LibCTest {

    private static final int ENOENT = 2;

    @Test
    void pollInSaysWhetherADescriptorIsReadable() {
        int file = LibC.open("/proc/self/stat", LibC.O_RDONLY | LibC.O_CLOEXEC);
        assertThat(file).isNotNegative();
        int socket = LibC.openPacketSocket(); // bound to nothing: never readable (needs CAP_NET_RAW)
        assertThat(socket).as("socket: %s", socket < 0 ? LibC.errorText(-socket) : "").isNotNegative();
        try {
            assertThat(LibC.pollIn(file, 1000)).as("a regular file is always readable").isEqualTo(1);
            long start = System.nanoTime();
            assertThat(LibC.pollIn(socket, 50)).as("nothing came: the timeout").isZero();
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(40_000_000L);
        } finally {
            assertThat(LibC.close(socket)).isZero();
            assertThat(LibC.close(file)).isZero();
        }
    }

    @Test
    void aFailedCallIsMinusErrno() {
        assertThat(LibC.open("/nonexistent/netbuf", LibC.O_RDONLY | LibC.O_CLOEXEC)).isEqualTo(-ENOENT);
        assertThat(LibC.unlink("/nonexistent/netbuf")).isEqualTo(-ENOENT);
        assertThat(LibC.errorText(ENOENT)).isEqualTo("No such file or directory");
        LibC.free(0); // free(NULL) does nothing
    }
}
