package io.remus.netbuf.server.domain;

import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Namespaces;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.NetworkNamespace;
import io.remus.netbuf.server.ConditionalOnHypervisor;
import io.remus.netbuf.server.HypervisorProperties.Hypervisor;
import java.util.ArrayList;
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
        List<InterfaceName> made = new ArrayList<>();
        try {
            for (int n = 0; n < domain.vifCount(); n++) {
                InterfaceName host = InterfaceName.of(domain.hostVifs().get(n));
                netlink.createVethPair(host, InterfaceName.of(domain.guestVifs().get(n)), ns);
                made.add(host);
            }
        } catch (RuntimeException e) {
            // undo only what this call made: a vif of that name that existed before is someone else's
            try {
                for (InterfaceName vif : made) {
                    netlink.findLink(vif).ifPresent(netlink::deleteLink);
                }
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
