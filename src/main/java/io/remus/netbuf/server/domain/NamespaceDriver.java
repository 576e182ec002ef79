package io.remus.netbuf.server.domain;

import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Namespaces;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.NetworkNamespace;
import io.remus.netbuf.server.ConditionalOnHypervisor;
import io.remus.netbuf.server.HypervisorProperties.Hypervisor;
import java.util.List;
import org.springframework.stereotype.Component;

/**
 * A stand-in hypervisor: a domain is a network namespace of its own, its vifs veth pairs. Uses the plugin's
 * {@link Netlink} bean, so the host ends land in the namespace the plugin buffers in ({@code netbuf.namespace}).
 */
@Component
@ConditionalOnHypervisor(Hypervisor.NAMESPACE)
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
            // all or none: a failed pair deletes the ones made before it
            netlink.createVethPairs(domain.hostVifs().stream().map(InterfaceName::of).toList(),
                    domain.guestVifs().stream().map(InterfaceName::of).toList(), ns);
        } catch (RuntimeException e) {
            try {
                Namespaces.delete(ns);
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

    @Override
    public Devices devices(Domain domain) {
        List<String> present = domain.hostVifs().stream()
                .filter(vif -> netlink.findLink(InterfaceName.of(vif)).isPresent()).toList();
        return new Devices(Namespaces.exists(NetworkNamespace.of(domain.namespace())), present);
    }
}
