package io.remus.netbuf.netlink;

/** A traffic-control handle or parent (major:minor, 16 bits each), printed as {@code tc} prints it. */
public record TcHandle(int value) {

    /** TC_H_ROOT: the parent of a device's root qdisc. */
    public static final TcHandle ROOT = new TcHandle(0xFFFFFFFF);
    /** TC_H_INGRESS: the parent of a device's ingress qdisc. */
    public static final TcHandle INGRESS_PARENT = new TcHandle(0xFFFFFFF1);
    /** The ingress qdisc's own handle, {@code ffff:}; its filters use it as their parent. */
    public static final TcHandle INGRESS = of(0xFFFF, 0);

    public static TcHandle of(int major, int minor) {
        if (major < 0 || major > 0xFFFF || minor < 0 || minor > 0xFFFF) {
            throw new IllegalArgumentException("tc handle parts must be 0..ffff: " + major + ":" + minor);
        }
        return new TcHandle(major << 16 | minor);
    }

    public int major() {
        return value >>> 16;
    }

    public int minor() {
        return value & 0xFFFF;
    }

    @Override
    public String toString() {
        if (value == ROOT.value) {
            return "root";
        }
        if (value == INGRESS_PARENT.value) {
            return "ingress";
        }
        return Integer.toHexString(major()) + ":" + (minor() == 0 ? "" : Integer.toHexString(minor()));
    }
}
