package io.remus.netbuf.autoconfigure;

import io.remus.netbuf.autoconfigure.KernelCapabilities.Capability;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.NetlinkUnavailableException;
import io.remus.netbuf.persistence.DomainProtection;
import io.remus.netbuf.service.CheckpointLoop;
import io.remus.netbuf.service.DomainStatus;
import io.remus.netbuf.service.HeldOutputDeadline;
import io.remus.netbuf.service.NetbufService;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * {@code /actuator/health/netbuf}: libnl found, CAP_NET_ADMIN, and the kernel's sch_plug, ifb, ingress, u32 and
 * mirred. Each missing piece makes the indicator DOWN and names its fix. Then the domains: which are UNPROTECTED
 * (failed over) and why; and the checkpoint loop and the deadline timer, DOWN naming the cause if either met an
 * {@link Error} or the timer is not running.
 */
public class NetbufHealthIndicator extends AbstractHealthIndicator {

    private final NetbufService service;
    private final CheckpointLoop loop;
    private final HeldOutputDeadline deadline;

    public NetbufHealthIndicator(NetbufService service, CheckpointLoop loop, HeldOutputDeadline deadline) {
        this.service = service;
        this.loop = loop;
        this.deadline = deadline;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        boolean up = kernelDetails(builder);
        Map<String, String> unprotected = new TreeMap<>();
        int protectedDomains = 0;
        for (DomainStatus d : service.statuses()) {
            if (d.protection().state() == DomainProtection.State.UNPROTECTED) {
                unprotected.put(d.domain(), d.protection().reason());
            } else {
                protectedDomains++;
            }
        }
        builder.withDetail("domains", Map.of("protected", protectedDomains, "unprotected", unprotected));
        Throwable loopError = loop.error();
        if (loopError != null) {
            up = false;
            builder.withDetail("checkpointLoop", Map.of("error", loopError.toString(),
                    "fix", "the loop goes on, but a JVM Error is a bug or a resource exhausted: read the log, restart"));
        }
        Throwable deadlineError = deadline.lastFailure();
        if (!deadline.running() || deadlineError instanceof Error) {
            up = false;
            builder.withDetail("deadline", Map.of("running", deadline.running(),
                    "error", deadlineError == null ? "stopped" : deadlineError.toString(),
                    "fix", "held output has no deadline: restart the server"));
        }
        if (up) {
            builder.up();
        } else {
            builder.down();
        }
    }

    private static boolean kernelDetails(Health.Builder builder) {
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
        return up;
    }
}
