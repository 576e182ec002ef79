package io.remus.netbuf.server;

import io.remus.netbuf.xen.XenDom0Run;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The server's tests that need a real Xen dom0 ({@link XenServerDom0Test}), run in dom0 of Xen under QEMU with this
 * module's test class path and reported here one by one; {@link XenDom0Run} says how and which properties it takes.
 * Part of make test; {@code -Dnetbuf.xen.class} runs the slow dom0 classes instead (make test-xen, make
 * test-xen-failover). Logs stay under {@code src/target/xen/}.
 */
class XenServerTest {

    @TestFactory
    Stream<DynamicTest> dom0Tests() throws Exception {
        return XenDom0Run.tests(XenServerDom0Test.class.getName());
    }
}
