package io.remus.netbuf.uml;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The kernel tests that need sch_plug (tag {@code uml-guest}), run inside user-mode-linux (kernel 6.1) and reported
 * here one by one ({@link UmlGuestRun}). {@code -Dnetbuf.uml.class=FQCN} runs one guest class only
 * ({@code FQCN#method}: one test method), e.g. {@code -Dnetbuf.outputCommit.epochs=10000} sizes the long tests.
 */
class UmlKernelTest {

    @TestFactory
    Stream<DynamicTest> guestTests() throws Exception {
        return UmlGuestRun.tests("uml", "uml-guest", System.getProperty("netbuf.uml.class", ""), true, List.of());
    }
}
