package io.remus.netbuf.release;

import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.TestLifecycle;
import io.remus.netbuf.persistence.BufferRecord;
import java.nio.file.Path;

/**
 * The server's stand-in in the black-hole measurement (started by src/uml/run-server.sh in host mode, as the server
 * is): a JVM that buffers {@code vif7.0} in the namespace of its {@code --netbuf.namespace=FILE} argument as the
 * plugin does, through the lifecycle (its journal in an in-memory H2; ifb {@code nbifb<id>}, plug {@code 4e42:}),
 * begins an epoch, so that the guest's frames are held, says {@value #HOLDING} and waits to be killed. The
 * launcher's other arguments (the server's address) are ignored.
 */
public final class HoldingServerStandIn {

    static final String HOLDING = "NETBUF_STANDIN_HOLDING";

    public static void main(String[] args) throws InterruptedException {
        String namespace = "";
        for (String arg : args) {
            if (arg.startsWith(ReleaseHeldOutput.NAMESPACE_ARG)) {
                namespace = arg.substring(ReleaseHeldOutput.NAMESPACE_ARG.length());
            }
        }
        Netlink netlink = Netlink.openInNamespace(Path.of(namespace));
        TestLifecycle lc = TestLifecycle.on(netlink);
        BufferRecord buffer = lc.lifecycle().install("dom7", InterfaceName.of("vif7.0"));
        netlink.openPlugControl(lc.plugOf(buffer)).buffer();
        System.out.println(HOLDING);
        Thread.sleep(Long.MAX_VALUE);
    }
}
