package io.remus.netbuf.server.xen;

import io.remus.netbuf.server.ConditionalOnHypervisor;
import io.remus.netbuf.server.HypervisorProperties.Hypervisor;
import java.util.List;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;
import org.springframework.stereotype.Component;

/** Health's {@code xen} component: the connection to xenstored, and the domains followed. */
@Component("xen")
@ConditionalOnHypervisor(Hypervisor.XEN)
public class XenHealthIndicator extends AbstractHealthIndicator {

    private final XenDomainWatch watch;

    public XenHealthIndicator(XenDomainWatch watch) {
        this.watch = watch;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        XenDomainWatch.Connection c = watch.connection();
        List<XenDomain> domains = watch.domains();
        builder.status(c.connected() ? "UP" : "DOWN")
                .withDetail("xenstored", c.connected() ? "connected" : c.problem())
                .withDetail("since", c.since().toString())
                .withDetail("domains", domains.stream().filter(d -> d.state() != XenDomain.State.ABSENT).count())
                .withDetail("marked", domains.stream().filter(XenDomain::remus).map(XenDomain::name).toList())
                .withDetail("buffered", domains.stream().filter(XenDomain::buffered).map(XenDomain::name).toList());
        if (!c.connected()) {
            builder.withDetail("fix", "start xenstored in dom0 (it must answer `xenstore-ls /local/domain/0`);"
                    + " the server connects again every " + XenDomainWatch.RECONNECT_MILLIS / 1000 + " s");
        }
    }
}
