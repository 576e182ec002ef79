package io.remus.netbuf.uml;

import io.remus.netbuf.netlink.KernelPlug;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The plugin's host kernel tests whose outcome depends on sch_plug (tag {@code host-kernel}), run inside
 * user-mode-linux as if it were the host: once with the module loaded, as on a stock Debian dom0 kernel, once
 * without it, as on a kernel built without it (this machine's). So each branch of those tests runs in
 * {@code make test}, whatever the host kernel has; {@code KernelPlugTest} checks that each guest had what its run
 * says. The server's tests of the tag run the same way in the server module.
 */
class UmlAsHostTest {

    static final String TAG = "host-kernel";

    @TestFactory
    Stream<DynamicTest> withSchPlug() throws Exception {
        return UmlGuestRun.tests("uml-with-sch_plug", TAG, "", true,
                List.of("-D" + KernelPlug.EXPECTED_PROPERTY + "=present"));
    }

    @TestFactory
    Stream<DynamicTest> withoutSchPlug() throws Exception {
        return UmlGuestRun.tests("uml-without-sch_plug", TAG, "", false,
                List.of("-D" + KernelPlug.EXPECTED_PROPERTY + "=absent"));
    }
}
