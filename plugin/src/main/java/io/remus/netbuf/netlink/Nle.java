package io.remus.netbuf.netlink;

/** libnl's error codes (netlink/errno.h) that this package reacts to, and the fixes it knows for them. */
final class Nle {

    static final int NOMEM = 5;
    static final int EXIST = 6;
    static final int INVAL = 7;
    static final int OPNOTSUPP = 10;
    static final int AF_NOSUPPORT = 11;
    static final int OBJ_NOTFOUND = 12;
    static final int NOACCESS = 27;
    static final int PERM = 28;
    static final int NODEV = 31;

    private static final String CAP_NET_ADMIN =
            "needs CAP_NET_ADMIN: run as root or grant the JVM cap_net_admin (setcap or systemd AmbientCapabilities)";

    private Nle() {
    }

    /** The fix for a failed operation, or null when none is known. {@code code} may be negative. */
    static String fix(Step step, int code) {
        int c = Math.abs(code);
        if (c == PERM || c == NOACCESS) {
            return CAP_NET_ADMIN;
        }
        return switch (step) {
            case CREATE_IFB -> c == OPNOTSUPP ? "the kernel has no ifb driver: modprobe ifb (CONFIG_IFB)"
                    : c == EXIST ? "an interface with that name exists already; choose another name" : null;
            case CREATE_VETH -> c == OPNOTSUPP ? "the kernel has no veth driver: modprobe veth (CONFIG_VETH)"
                    : c == EXIST ? "an interface with one of these names exists already (the host end in this"
                            + " namespace, or the peer in its namespace); choose other names or delete the old pair"
                    : c == INVAL ? "the peer's namespace file is not a mounted network namespace (left by an"
                            + " interrupted create?): delete and create the namespace again" : null;
            case ADD_INGRESS -> c == OBJ_NOTFOUND
                    ? "the kernel has no ingress qdisc: modprobe sch_ingress (CONFIG_NET_SCH_INGRESS)"
                    : c == EXIST ? "the vif already has an ingress qdisc: another buffer or tool owns it" : null;
            case ADD_REDIRECT -> c == OBJ_NOTFOUND
                    ? "the kernel lacks the u32 classifier or the mirred action, or the vif has no ingress qdisc:"
                            + " modprobe cls_u32 act_mirred (CONFIG_NET_CLS_U32, CONFIG_NET_ACT_MIRRED)"
                    : c == INVAL ? "the vif has no ingress qdisc to hold the filter: add the ingress qdisc first"
                    : c == EXIST ? "a filter with this priority already exists on the vif" : null;
            case ADD_PLUG -> c == OBJ_NOTFOUND
                    ? "the kernel has no plug qdisc: modprobe sch_plug (CONFIG_NET_SCH_PLUG)"
                    : c == EXIST ? "the ifb already has a root qdisc of its own: it is in use" : null;
            case PLUG_BUFFER, PLUG_RELEASE_ONE, PLUG_RELEASE_INDEFINITE, PLUG_LIMIT -> c == OBJ_NOTFOUND || c == INVAL || c == EXIST
                    ? "the plug qdisc is gone or was replaced; reinstall the buffer" : null;
            default -> null;
        };
    }

    /** Deleting something already gone counts as success; these are the codes the kernel uses to say "gone". */
    static boolean isGone(int code) {
        int c = Math.abs(code);
        return c == OBJ_NOTFOUND || c == NODEV;
    }

    /** The kernel steps, as named in error messages. */
    enum Step {
        FIND_LINK("find link"), LIST("dump"), CREATE_IFB("create ifb"), CREATE_VETH("create veth pair"),
        DELETE_LINK("delete link"),
        SET_UP("set link up"), SET_DOWN("set link down"), NO_IPV6_ADDRESS("set addrgenmode none"),
        ADD_INGRESS("add ingress qdisc"), DELETE_INGRESS("delete ingress qdisc"),
        ADD_REDIRECT("add redirect filter"), DELETE_REDIRECT("delete redirect filter"),
        ADD_PLUG("add plug qdisc"), DELETE_PLUG("delete plug qdisc"),
        PLUG_BUFFER("plug buffer"), PLUG_RELEASE_ONE("plug release_one"),
        PLUG_RELEASE_INDEFINITE("plug release_indefinite"), PLUG_LIMIT("set plug limit");

        final String text;

        Step(String text) {
            this.text = text;
        }
    }
}
