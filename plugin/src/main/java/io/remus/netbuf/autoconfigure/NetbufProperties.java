package io.remus.netbuf.autoconfigure;

import io.remus.netbuf.netlink.IfbMode;
import io.remus.netbuf.netlink.RedirectFilter;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Remus network buffering ({@code netbuf.*}).
 *
 * @param enabled        whether the plugin is active: off unless set to true
 * @param ifbMode        where each buffer's ifb comes from: CREATE a new one per buffer, or take a free one from the
 *                       POOL of existing ifbN devices
 * @param limitBytes     plug qdisc limit in bytes: above this backlog the kernel drops frames
 * @param filterProtocol which frames the redirect filter holds: ALL (every ethertype; IPv6 and ARP too) or IP
 *                       (IPv4 only, as the old script did)
 * @param filterPriority priority of the redirect filter on each vif's ingress qdisc
 * @param ifbPrefix      name prefix of the ifbs the plugin creates (followed by the buffer id); reserved
 * @param namespace      network namespace file to work in (e.g. /run/netns/NAME); empty: the server's own
 * @param recoverOnStart whether to reconcile the database and the kernel when the plugin starts
 * @param checkpoint     the checkpoint defaults: the built-in loop's, and every domain's ack deadline
 * @param onShutdown     what a server stop does to the domains still protected: RELEASE their output
 *                       indefinitely (they run on unprotected; buffers stay for a restart to adopt) or TEARDOWN
 *                       their buffers; either way nothing held is dropped
 * @param xlRemus        the xl remus follower's ({@code netbuf.xl-remus.*})
 * @param copyHeldFrames whether each checkpointed vif gets a packet tap that takes no frame: the kernel then copies
 *                       the frames a Xen guest sends out of its pages as they enter the buffer, and netback
 *                       completes them at once; without it the guest waits for each held frame, and its TCP slows
 *                       to a crawl under checkpointing
 */
@ConfigurationProperties("netbuf")
public record NetbufProperties(
        @DefaultValue("false") boolean enabled,
        @DefaultValue("CREATE") IfbMode ifbMode,
        @DefaultValue("4194304") long limitBytes,
        @DefaultValue("ALL") FilterProtocol filterProtocol,
        @DefaultValue("10") int filterPriority,
        @DefaultValue("nbifb") String ifbPrefix,
        @DefaultValue("") String namespace,
        @DefaultValue("true") boolean recoverOnStart,
        @DefaultValue Checkpoint checkpoint,
        @DefaultValue("RELEASE") OnShutdown onShutdown,
        @DefaultValue XlRemus xlRemus,
        @DefaultValue("true") boolean copyHeldFrames) {

    /** The longest ifb prefix: an ifb's name, prefix and buffer id, fits Linux's 15 bytes up to id 999999. */
    public static final int MAX_IFB_PREFIX = 9;

    /**
     * A value the plugin cannot work with stops the start here, naming the property, instead of failing the first
     * install.
     */
    public NetbufProperties {
        if (limitBytes < 1514 || limitBytes > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("netbuf.limit-bytes must be between 1514 (one full frame) and "
                    + 0xFFFF_FFFFL + " bytes, the plug qdisc's limit; got " + limitBytes);
        }
        if (filterPriority < 1 || filterPriority > 0xFFFF) {
            throw new IllegalArgumentException("netbuf.filter-priority must be between 1 and 65535; got "
                    + filterPriority);
        }
        if (ifbPrefix == null || !ifbPrefix.matches("[A-Za-z][A-Za-z0-9_-]{0," + (MAX_IFB_PREFIX - 1) + "}")
                || ifbPrefix.equals("ifb")) {
            throw new IllegalArgumentException("netbuf.ifb-prefix must be 1 to " + MAX_IFB_PREFIX + " letters, digits,"
                    + " '-' or '_', starting with a letter, and not 'ifb' (the pool's names): an ifb is named prefix"
                    + " + buffer id, at most 15 bytes; got '" + ifbPrefix + "'");
        }
    }

    public enum OnShutdown { RELEASE, TEARDOWN }

    /** The ethertypes the redirect filter can match. */
    public enum FilterProtocol {
        ALL(RedirectFilter.ETH_P_ALL), IP(RedirectFilter.ETH_P_IP);

        private final int ethertype;

        FilterProtocol(int ethertype) {
            this.ethertype = ethertype;
        }

        public int ethertype() {
            return ethertype;
        }
    }

    /**
     * @param interval time between checkpoints of the built-in loop, for domains that ask for it
     * @param ackDelay simulated time the backup takes to acknowledge a checkpoint
     * @param ackTimeout how long a domain's oldest held output may wait for its ack before the domain is failed
     *                   over (its output released); a domain may have its own through the API
     * @param deadlineScan how often the one deadline timer looks at every domain
     */
    public record Checkpoint(@DefaultValue("100ms") Duration interval, @DefaultValue("0ms") Duration ackDelay,
                             @DefaultValue("2s") Duration ackTimeout, @DefaultValue("25ms") Duration deadlineScan) {

        public Checkpoint {
            positive(interval, "netbuf.checkpoint.interval");
            positive(deadlineScan, "netbuf.checkpoint.deadline-scan");
            if (ackDelay.isNegative()) {
                throw new IllegalArgumentException("netbuf.checkpoint.ack-delay must not be negative; got " + ackDelay);
            }
        }

        private static void positive(Duration d, String property) {
            if (d.isZero() || d.isNegative()) {
                throw new IllegalArgumentException(property + " must be longer than zero; got " + d);
            }
        }
    }

    /**
     * @param lateAfter a close that took longer than this, from the suspend request read to the epoch closed on every
     *                  vif, is taken as possibly late (after the guest resumed): its epoch is held one more checkpoint
     */
    public record XlRemus(@DefaultValue("50ms") Duration lateAfter) {
    }
}
