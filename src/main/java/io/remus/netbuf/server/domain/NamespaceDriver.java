package io.remus.netbuf.server.domain;

import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Namespaces;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.NetworkNamespace;
import org.springframework.stereotype.Component;

/**
 * A stand-in hypervisor: a domain is a network namespace of its own, its vifs veth pairs. Uses the plugin's
 * {@link Netlink} bean, so the host ends land in the namespace the plugin buffers in ({@code netbuf.namespace}).
 */
@Component
public class NamespaceDriver implements HypervisorDriver {

    private final Netlink netlink;

    public NamespaceDriver(Netlink netlink) {
        this.netlink = netlink;
    }

    @Override
    public void start(Domain domain) {
        NetworkNamespace ns = NetworkNamespace.of(domain.namespace());
        Namespaces.create(ns);
        try {
            for (int n = 0; n < domain.vifCount(); n++) {
                netlink.createVethPair(InterfaceName.of(domain.hostVifs().get(n)),
                        InterfaceName.of(domain.guestVifs().get(n)), ns);
            }
        } catch (RuntimeException e) {
            try {
                stop(domain);
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    @Override
    public void stop(Domain domain) {
        for (String vif : domain.hostVifs()) {
            netlink.findLink(InterfaceName.of(vif)).ifPresent(netlink::deleteLink);
        }
        Namespaces.delete(NetworkNamespace.of(domain.namespace()));
    }
}
