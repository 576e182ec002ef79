package io.remus.netbuf.server.domain;

import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.events.RemusDomainStopping;
import io.remus.netbuf.server.ConditionalOnHypervisor;
import io.remus.netbuf.server.HypervisorProperties.Hypervisor;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;

/**
 * Domains' lifecycle. A Remus domain's buffers are the plugin's business: the server announces the domain with
 * {@link RemusDomainStarted} once its vifs exist, and with {@link RemusDomainStopping} before it removes them.
 * Calls are serialised: a start and a destroy of the same domain must not interleave.
 */
@Service
@ConditionalOnHypervisor(Hypervisor.NAMESPACE)
public class DomainService {

    private static final Logger log = LoggerFactory.getLogger(DomainService.class);

    private final DomainRepository domains;
    private final HypervisorDriver driver;
    private final ApplicationEventPublisher events;

    public DomainService(DomainRepository domains, HypervisorDriver driver, ApplicationEventPublisher events) {
        this.domains = domains;
        this.driver = driver;
        this.events = events;
    }

    public List<Domain> list() {
        return domains.all();
    }

    public Domain get(String name) {
        return domains.find(name).orElseThrow(() -> new DomainNotFoundException(name));
    }

    public synchronized Domain create(String name, boolean remus, boolean checkpoint, int vifCount) {
        if (domains.find(name).isPresent()) {
            throw new DomainConflictException("a domain named " + name + " exists already");
        }
        Domain d = new Domain(name, domains.freeDomid(), remus, checkpoint, vifCount, DomainState.DEFINED);
        domains.insert(d);
        return d;
    }

    public synchronized Domain start(String name) {
        Domain d = get(name);
        if (d.state() == DomainState.RUNNING) {
            throw new DomainConflictException("domain " + name + " is already running");
        }
        try {
            driver.start(d);
        } catch (RuntimeException e) {
            throw new DomainStepException(name, "create vifs " + d.hostVifs(), e);
        }
        if (d.remus()) {
            try {
                events.publishEvent(new RemusDomainStarted(name, d.hostVifs(), d.checkpoint()));
            } catch (RuntimeException e) {
                removeVifsAfterFailure(d, e);
                throw new DomainStepException(name, "install Remus buffers on " + d.hostVifs(), e);
            }
        }
        domains.setState(name, DomainState.RUNNING);
        return d.withState(DomainState.RUNNING);
    }

    public synchronized Domain stop(String name) {
        Domain d = get(name);
        if (d.state() != DomainState.RUNNING) {
            throw new DomainConflictException("domain " + name + " is not running");
        }
        stopRunning(d);
        return d.withState(DomainState.DEFINED);
    }

    public synchronized void destroy(String name) {
        Domain d = get(name);
        if (d.state() == DomainState.RUNNING) {
            stopRunning(d);
        }
        domains.delete(name);
    }

    /**
     * Brings the recorded states in line with the kernel when the server starts, after the plugin's recovery. The
     * server may have gone down without stopping its domains (killed, or the machine halted):
     * <ul>
     *   <li>RUNNING with all its devices (the server was restarted, the domain kept running): it stays RUNNING; a
     *       Remus domain is protected anew (buffers torn down and installed again, its checkpoint loop restarted),
     *       since nothing checkpointed it while the server was down;</li>
     *   <li>RUNNING with a device missing (a reboot, or a halted UML guest, took them): what is left goes, buffers
     *       first, and it is DEFINED again, ready to start;</li>
     *   <li>DEFINED with devices left (a start cut short): they go.</li>
     * </ul>
     * Returns a line per domain it looked at closely, for the log.
     */
    public synchronized List<String> reconcile() {
        List<String> lines = new ArrayList<>();
        for (Domain d : domains.all()) {
            HypervisorDriver.Devices devices = driver.devices(d);
            if (d.state() == DomainState.RUNNING && devices.complete(d)) {
                lines.add(d.remus() ? reprotect(d) : "domain " + d.name() + ": still running, kept RUNNING");
            } else if (d.state() == DomainState.RUNNING) {
                lines.add(removeLeftovers(d, "was RUNNING, but " + missing(d, devices) + " gone"));
            } else if (!devices.none()) {
                lines.add(removeLeftovers(d, "is DEFINED, but " + present(devices) + " left from a start"));
            }
        }
        lines.forEach(line -> log.info("domain reconciliation: {}", line));
        return lines;
    }

    private String reprotect(Domain d) {
        try {
            events.publishEvent(new RemusDomainStopping(d.name()));
            events.publishEvent(new RemusDomainStarted(d.name(), d.hostVifs(), d.checkpoint()));
            return "domain " + d.name() + ": still running, kept RUNNING, its buffers installed anew";
        } catch (RuntimeException e) {
            return removeLeftovers(d, "still running, but protecting it anew failed (" + e.getMessage() + ")");
        }
    }

    private String removeLeftovers(Domain d, String why) {
        String what = "domain " + d.name() + " " + why + ": ";
        if (d.remus()) {
            try {
                events.publishEvent(new RemusDomainStopping(d.name()));
            } catch (RuntimeException e) {
                log.warn("domain {}: removing its buffers failed: {}", d.name(), e.getMessage());
            }
        }
        try {
            driver.stop(d);
        } catch (RuntimeException e) {
            log.warn("domain {}: removing its devices failed", d.name(), e);
            return what + "removing what is left failed (" + e.getMessage() + "), state left " + d.state();
        }
        domains.setState(d.name(), DomainState.DEFINED);
        return what + "removed what was left, now DEFINED";
    }

    private static String missing(Domain d, HypervisorDriver.Devices devices) {
        List<String> gone = new ArrayList<>();
        if (!devices.namespace()) {
            gone.add("namespace " + d.namespace());
        }
        d.hostVifs().stream().filter(v -> !devices.hostVifs().contains(v)).forEach(v -> gone.add("vif " + v));
        return String.join(", ", gone) + (gone.size() == 1 ? " is" : " are");
    }

    private static String present(HypervisorDriver.Devices devices) {
        List<String> left = new ArrayList<>();
        if (devices.namespace()) {
            left.add("its namespace");
        }
        devices.hostVifs().forEach(v -> left.add("vif " + v));
        return String.join(", ", left) + (left.size() == 1 ? " is" : " are");
    }

    /**
     * Buffers first, then the vifs. If removing the buffers fails the vifs still go (deleting a vif takes its
     * ingress qdisc and filter with it) and the domain is stopped, but the failure is reported.
     */
    private void stopRunning(Domain d) {
        RuntimeException bufferFailure = null;
        if (d.remus()) {
            try {
                events.publishEvent(new RemusDomainStopping(d.name()));
            } catch (RuntimeException e) {
                bufferFailure = e;
            }
        }
        try {
            driver.stop(d);
        } catch (RuntimeException e) {
            if (bufferFailure != null) {
                e.addSuppressed(bufferFailure);
            }
            throw new DomainStepException(d.name(), "remove vifs " + d.hostVifs(), e);
        }
        domains.setState(d.name(), DomainState.DEFINED);
        if (bufferFailure != null) {
            throw new DomainStepException(d.name(), "remove Remus buffers", bufferFailure);
        }
    }

    private void removeVifsAfterFailure(Domain d, RuntimeException failure) {
        try {
            driver.stop(d);
        } catch (RuntimeException e) {
            log.warn("domain {}: removing vifs after a failed start failed too: {}", d.name(), e.getMessage());
            failure.addSuppressed(e);
        }
    }
}
