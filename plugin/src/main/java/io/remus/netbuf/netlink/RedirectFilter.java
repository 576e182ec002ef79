package io.remus.netbuf.netlink;

/**
 * A match-all u32 filter on a vif's ingress qdisc with a {@code mirred egress redirect} action to an ifb:
 * {@code tc filter add dev VIF parent ffff: protocol PROTO prio PRIO u32 match u32 0 0 at -4 action mirred egress redirect dev IFB}.
 *
 * @param protocol  the ethertype matched, in host order; {@link #ETH_P_ALL} (the default) holds every protocol,
 *                  {@link #ETH_P_IP} only IPv4 as the old Xen script did, letting IPv6 and ARP escape the buffer
 * @param priority  the filter's priority (its identity on the vif, together with the protocol)
 * @param handle    the u32 key node ({@code 800::800}), as the kernel has it; 0 when adding means the kernel picks
 *                  one, and when deleting, every node at this priority and protocol
 * @param keyOffset where the u32 key's 4 bytes are read, relative to the network header: {@link #KEY_OFFSET} for
 *                  filters this version adds, 0 for those of earlier versions
 */
public record RedirectFilter(Link vif, Link ifb, int protocol, int priority, int handle, int keyOffset) {

    public static final String KIND = "u32";
    public static final int ETH_P_ALL = 0x0003;
    public static final int ETH_P_IP = 0x0800;
    public static final int DEFAULT_PRIORITY = 10;
    /**
     * The key reads the last 2 bytes of the source MAC and the ethertype, which every frame has. At offset 0 it read
     * the first 4 bytes after the Ethernet header: a frame of 14 to 17 bytes has fewer, the read fails, u32 stops
     * classifying, and the frame passes the buffer.
     */
    public static final int KEY_OFFSET = -4;
    private static final int ETH_HLEN = 14;

    public RedirectFilter {
        if (protocol < 0 || protocol > 0xFFFF) {
            throw new IllegalArgumentException("filter protocol must be an ethertype 0..0xffff: " + protocol);
        }
        if (priority < 1 || priority > 0xFFFF) {
            throw new IllegalArgumentException("filter priority must be 1..65535: " + priority);
        }
    }

    /** The filter this version adds, at a node the kernel picks. */
    public RedirectFilter(Link vif, Link ifb, int protocol, int priority) {
        this(vif, ifb, protocol, priority, 0, KEY_OFFSET);
    }

    public static RedirectFilter allProtocols(Link vif, Link ifb) {
        return new RedirectFilter(vif, ifb, ETH_P_ALL, DEFAULT_PRIORITY);
    }

    /** Whether the key lies inside the Ethernet header, so that no frame is too short for it. */
    public boolean holdsEveryFrame() {
        return keyOffset >= -ETH_HLEN && keyOffset <= -4;
    }

    /**
     * The filter that replaces this one in place: the same ifb, protocol and priority, the key at
     * {@link #KEY_OFFSET}, at the node just below this one's. u32 tries the nodes of a hash bucket in node order, so
     * it comes first, and holds every frame from the moment it is added, before this one is deleted.
     */
    public RedirectFilter upgraded() {
        if ((handle & 0xFFF) <= 1) {
            throw new IllegalStateException("no u32 node below 0x" + Integer.toHexString(handle) + " to put the upgrade at");
        }
        return new RedirectFilter(vif, ifb, protocol, priority, handle - 1, KEY_OFFSET);
    }
}
