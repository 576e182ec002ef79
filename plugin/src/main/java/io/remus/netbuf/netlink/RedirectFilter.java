package io.remus.netbuf.netlink;

/**
 * A match-all u32 filter on a vif's ingress qdisc with a {@code mirred egress redirect} action to an ifb:
 * {@code tc filter add dev VIF parent ffff: protocol PROTO prio PRIO u32 match u32 0 0 action mirred egress redirect dev IFB}.
 *
 * @param protocol the ethertype matched, in host order; {@link #ETH_P_ALL} (the default) holds every protocol,
 *                 {@link #ETH_P_IP} only IPv4 as the old Xen script did, letting IPv6 and ARP escape the buffer
 * @param priority the filter's priority (its identity on the vif, together with the protocol)
 */
public record RedirectFilter(Link vif, Link ifb, int protocol, int priority) {

    public static final String KIND = "u32";
    public static final int ETH_P_ALL = 0x0003;
    public static final int ETH_P_IP = 0x0800;
    public static final int DEFAULT_PRIORITY = 10;

    public RedirectFilter {
        if (protocol < 0 || protocol > 0xFFFF) {
            throw new IllegalArgumentException("filter protocol must be an ethertype 0..0xffff: " + protocol);
        }
        if (priority < 1 || priority > 0xFFFF) {
            throw new IllegalArgumentException("filter priority must be 1..65535: " + priority);
        }
    }

    public static RedirectFilter allProtocols(Link vif, Link ifb) {
        return new RedirectFilter(vif, ifb, ETH_P_ALL, DEFAULT_PRIORITY);
    }
}
