package io.remus.netbuf.autoconfigure;

import io.remus.netbuf.autoconfigure.KernelCapabilities.Capability;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.NetlinkUnavailableException;
import java.util.Map;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * {@code /actuator/health/netbuf}: libnl found, CAP_NET_ADMIN, and the kernel's sch_plug, ifb, ingress, u32 and
 * mirred. Each missing piece makes the indicator DOWN and names its fix.
 */
public class NetbufHealthIndicator extends AbstractHealthIndicator {

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        boolean up = true;
        try {
            Netlink.open().close(); // loads libnl and opens a route socket: proves both
            builder.withDetail("libnl", Map.of("present", true, "detail", "libnl-3.so.200, libnl-route-3.so.200"));
        } catch (NetlinkUnavailableException e) {
            up = false;
            builder.withDetail("libnl", Map.of("present", false, "fix", e.getMessage()));
        }
        for (Map.Entry<String, Capability> c : KernelCapabilities.probe().entrySet()) {
            Capability cap = c.getValue();
            up &= cap.present();
            builder.withDetail(c.getKey(), cap.present() ? Map.of("present", true, "detail", cap.detail())
                    : Map.of("present", false, "detail", cap.detail(), "fix", cap.fix()));
        }
        if (up) {
            builder.up();
        } else {
            builder.down();
        }
    }
}
