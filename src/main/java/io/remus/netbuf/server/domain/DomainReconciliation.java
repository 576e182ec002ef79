package io.remus.netbuf.server.domain;

import io.remus.netbuf.server.ConditionalOnHypervisor;
import io.remus.netbuf.server.HypervisorProperties.Hypervisor;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Runs {@link DomainService#reconcile()} once at startup: after every bean exists (the plugin's recovery has run
 * and its event listeners are registered) and before the web server takes requests.
 */
@Component
@ConditionalOnHypervisor(Hypervisor.NAMESPACE)
public class DomainReconciliation implements SmartLifecycle {

    /** Before the web server (which starts in phase {@code DEFAULT_PHASE - 2048}). */
    public static final int PHASE = 0;

    private final DomainService domains;
    private volatile boolean running;

    public DomainReconciliation(DomainService domains) {
        this.domains = domains;
    }

    @Override
    public void start() {
        domains.reconcile();
        running = true;
    }

    @Override
    public void stop() {
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
