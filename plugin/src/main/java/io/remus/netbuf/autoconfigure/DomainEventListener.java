package io.remus.netbuf.autoconfigure;

import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.events.RemusDomainStopping;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.persistence.DomainProtection.Driver;
import io.remus.netbuf.service.CheckpointLoop;
import io.remus.netbuf.service.NetbufService;
import io.remus.netbuf.xlremus.XlRemusFollower;
import org.springframework.context.event.EventListener;

/**
 * Installs a domain's buffers when the server says it started and starts what takes its checkpoints (the built-in
 * loop, or the xl remus follower), and removes them when it says it stops: letting out what they hold, or dropping
 * it with a domain that is gone.
 */
public class DomainEventListener {

    private final NetbufService service;
    private final CheckpointLoop loop;
    private final XlRemusFollower follower;

    public DomainEventListener(NetbufService service, CheckpointLoop loop, XlRemusFollower follower) {
        this.service = service;
        this.loop = loop;
        this.follower = follower;
    }

    @EventListener
    public void started(RemusDomainStarted event) {
        service.protect(event.domain(), event.vifs().stream().map(InterfaceName::of).toList(), event.driver());
        try {
            switch (event.driver()) {
                case LOOP -> loop.start(event.domain());
                case XL_REMUS -> follower.follow(event.domain(), event.xenDomid());
                case API -> {
                }
            }
        } catch (RuntimeException e) {
            // nothing would take its checkpoints: no buffers rather than output held until the deadline
            try {
                service.stop(event.domain());
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    @EventListener
    public void stopping(RemusDomainStopping event) {
        loop.stop(event.domain());
        follower.unfollow(event.domain());
        if (event.gone()) {
            service.gone(event.domain());
        } else {
            service.stop(event.domain());
        }
    }
}
