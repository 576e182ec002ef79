package io.remus.netbuf.server.domain;

import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.events.RemusDomainStopping;
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
