package io.remus.netbuf.server;

import io.remus.netbuf.netlink.KernelPlug;
import io.remus.netbuf.uml.UmlGuestRun;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The server's host kernel tests whose outcome depends on sch_plug (tag {@code host-kernel}), inside
 * user-mode-linux as if it were the host, with the module and without it, as the plugin's {@code UmlAsHostTest}.
 */
class UmlServerAsHostTest {

    static final String SERVER_TESTS = "package:io.remus.netbuf.server,io.remus.netbuf.netlink.KernelPlugTest";

    @TestFactory
    Stream<DynamicTest> withSchPlug() throws Exception {
        return UmlGuestRun.tests("uml-with-sch_plug", "host-kernel", SERVER_TESTS, true,
                List.of("-D" + KernelPlug.EXPECTED_PROPERTY + "=present"));
    }

    @TestFactory
    Stream<DynamicTest> withoutSchPlug() throws Exception {
        return UmlGuestRun.tests("uml-without-sch_plug", "host-kernel", SERVER_TESTS, false,
                List.of("-D" + KernelPlug.EXPECTED_PROPERTY + "=absent"));
    }
}
