package io.remus.netbuf.autoconfigure;

import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.events.RemusDomainStopping;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.service.NetbufService;
import org.springframework.context.event.EventListener;

/** Installs a domain's buffers when the server says it started, and removes them when it says it stops. */
public class DomainEventListener {

    private final NetbufService service;

    public DomainEventListener(NetbufService service) {
        this.service = service;
    }

    @EventListener
    public void started(RemusDomainStarted event) {
        service.protect(event.domain(), event.vifs().stream().map(InterfaceName::of).toList());
    }

    @EventListener
    public void stopping(RemusDomainStopping event) {
        service.stop(event.domain());
    }
}
