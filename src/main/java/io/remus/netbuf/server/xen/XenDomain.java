package io.remus.netbuf.server.xen;

import io.remus.netbuf.xenstore.XenDomains;
import io.remus.netbuf.xlremus.XlRemusFollower;
import java.util.List;

/**
 * A Xen domain as the server shows it: what xenstore says of it, whether it is marked for Remus, and whether its
 * buffers are installed. A marked name Xen has no domain for is listed too, ABSENT, without domid or vifs.
 *
 * @param error   why its buffers could not be installed or removed the last time the server tried; null if they could
 * @param xlRemus what the follower has seen of {@code xl remus}'s checkpoints of it while buffered; null when not
 *                buffered
 */
public record XenDomain(String name, Integer domid, State state, List<XenDomains.Vif> vifs, boolean remus,
                        boolean buffered, String error, XlRemusFollower.Status xlRemus) {

    /** What xenstore shows of a domain. It cannot tell a running domain from a paused one: {@code xl list} can. */
    public enum State {
        /** Under /local/domain, and every vif's hotplug-status is "connected" (a domain without vifs too). */
        CONNECTED,
        /** Under /local/domain, and a vif's hotplug-status is not "connected": xl is bringing it up or down, or its
         *  hotplug script failed ("error"). */
        CONNECTING,
        /** Marked, but Xen has no domain of that name. */
        ABSENT
    }

    public static final String CONNECTED_HOTPLUG = "connected";

    static State stateOf(XenDomains.Domain d) {
        return d.vifs().stream().allMatch(v -> CONNECTED_HOTPLUG.equals(v.hotplugStatus())) ? State.CONNECTED
                : State.CONNECTING;
    }
}
