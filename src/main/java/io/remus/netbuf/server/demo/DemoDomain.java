package io.remus.netbuf.server.demo;

import io.remus.netbuf.server.ConditionalOnHypervisor;
import io.remus.netbuf.server.HypervisorProperties.Hypervisor;
import io.remus.netbuf.server.domain.Domain;
import io.remus.netbuf.server.domain.DomainService;
import io.remus.netbuf.server.domain.DomainState;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * With {@code netbuf-server.demo.enabled=true}: at startup, one Remus domain checkpointed by the plugin's built-in
 * loop (simulated backup ack), defined if missing and started if not running; at shutdown it is stopped, so its
 * buffers, vifs and namespace do not outlive the server. A start that fails (e.g. no sch_plug) is logged, and the
 * server runs on without it.
 */
@Component
@ConditionalOnHypervisor(Hypervisor.NAMESPACE)
@ConditionalOnProperty(prefix = "netbuf-server.demo", name = "enabled", havingValue = "true")
@EnableConfigurationProperties(DemoProperties.class)
public class DemoDomain implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(DemoDomain.class);

    private final DomainService domains;
    private final DemoProperties properties;
    private volatile boolean running;

    public DemoDomain(DomainService domains, DemoProperties properties) {
        this.domains = domains;
        this.properties = properties;
    }

    /** After the web server and the domain reconciliation; stopped first at shutdown, before the web server. */
    @Override
    public int getPhase() {
        return DEFAULT_PHASE;
    }

    @Override
    public void start() {
        running = true;
        String name = properties.name();
        try {
            Optional<Domain> existing = domains.list().stream().filter(d -> d.name().equals(name)).findFirst();
            if (existing.isEmpty()) {
                domains.create(name, true, true, properties.vifs());
                log.info("demo domain {} defined: Remus, checkpoint loop, {} vifs", name, properties.vifs());
            } else if (!existing.get().remus() || !existing.get().checkpoint()) {
                log.warn("a domain named {} exists but is not a checkpointed Remus domain: left as it is", name);
                return;
            }
            if (domains.get(name).state() != DomainState.RUNNING) {
                Domain d = domains.start(name);
                log.info("demo domain {} started: vifs {} buffered and checkpointed", name, d.hostVifs());
            }
        } catch (RuntimeException e) {
            log.error("demo domain {} could not start: {}", name, e.getMessage());
        }
    }

    @Override
    public void stop() {
        running = false;
        String name = properties.name();
        try {
            Optional<Domain> d = domains.list().stream().filter(x -> x.name().equals(name)).findFirst();
            if (d.isPresent() && d.get().state() == DomainState.RUNNING && d.get().remus() && d.get().checkpoint()) {
                domains.stop(name);
                log.info("demo domain {} stopped: its buffers, vifs and namespace removed", name);
            }
        } catch (RuntimeException e) {
            log.error("demo domain {} could not be stopped cleanly: {}", name, e.getMessage());
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
