package io.remus.netbuf.autoconfigure;

import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.events.RemusDomainStopping;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.persistence.DomainProtection.Driver;
import io.remus.netbuf.service.CheckpointLoop;
import io.remus.netbuf.service.NetbufService;
import org.springframework.context.event.EventListener;

/**
 * Installs a domain's buffers when the server says it started (and starts the built-in checkpoint loop if the
 * domain asks for it), and removes them when it says it stops.
 */
public class DomainEventListener {

    private final NetbufService service;
    private final CheckpointLoop loop;

    public DomainEventListener(NetbufService service, CheckpointLoop loop) {
        this.service = service;
        this.loop = loop;
    }

    @EventListener
    public void started(RemusDomainStarted event) {
        service.protect(event.domain(), event.vifs().stream().map(InterfaceName::of).toList(),
                event.checkpoint() ? Driver.LOOP : Driver.API);
        if (event.checkpoint()) {
            loop.start(event.domain());
        }
    }

    @EventListener
    public void stopping(RemusDomainStopping event) {
        loop.stop(event.domain());
        service.stop(event.domain());
    }
}
