package io.remus.netbuf.xen;

import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The plugin's tests that need a real Xen dom0 (netback's vifs, xenstore), run in dom0 of Xen under QEMU and
 * reported here one by one ({@link XenDom0Run} says how, and which properties it takes). Part of make test (it held
 * 10 runs out of 10). Logs stay under {@code plugin/target/xen/}.
 */
class XenKernelTest {

    @TestFactory
    Stream<DynamicTest> dom0Tests() throws Exception {
        return XenDom0Run.tests("");
    }
}
