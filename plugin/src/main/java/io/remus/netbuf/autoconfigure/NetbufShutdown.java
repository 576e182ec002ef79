package io.remus.netbuf.autoconfigure;

import io.remus.netbuf.autoconfigure.NetbufProperties.OnShutdown;
import io.remus.netbuf.persistence.DomainProtection;
import io.remus.netbuf.service.CheckpointLoop;
import io.remus.netbuf.service.DomainStatus;
import io.remus.netbuf.service.FailoverReason;
import io.remus.netbuf.service.HeldOutputDeadline;
import io.remus.netbuf.service.NetbufService;
import io.remus.netbuf.xlremus.XlRemusFollower;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a server stop (SIGTERM, Ctrl-C, a service stop) does to the domains still protected: nobody will
 * checkpoint them any more, so their output must not stay held. The loop, the xl remus follower and the deadline
 * stop first; then every
 * protected domain is failed over (RELEASE, the default: the buffers stay, released, for a restarted server to
 * adopt) or its buffers are torn down (TEARDOWN). Nothing held is dropped either way.
 */
public class NetbufShutdown implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(NetbufShutdown.class);

    private final NetbufService service;
    private final CheckpointLoop loop;
    private final XlRemusFollower follower;
    private final HeldOutputDeadline deadline;
    private final OnShutdown policy;

    public NetbufShutdown(NetbufService service, CheckpointLoop loop, XlRemusFollower follower,
                          HeldOutputDeadline deadline, OnShutdown policy) {
        this.service = service;
        this.loop = loop;
        this.follower = follower;
        this.deadline = deadline;
        this.policy = policy;
    }

    @Override
    public void close() {
        loop.close();
        follower.close();
        deadline.close();
        for (DomainStatus d : service.statuses()) {
            try {
                if (policy == OnShutdown.TEARDOWN) {
                    service.stop(d.domain());
                    log.info("server shutting down: domain {}'s buffers torn down", d.domain());
                } else if (d.protection().state() == DomainProtection.State.PROTECTED) {
                    service.failover(d.domain(), FailoverReason.SHUTDOWN, "server shutting down");
                }
            } catch (RuntimeException e) {
                log.error("server shutting down: domain {} could not be {}: {}", d.domain(),
                        policy == OnShutdown.TEARDOWN ? "torn down" : "released", e.getMessage(), e);
            }
        }
    }
}
