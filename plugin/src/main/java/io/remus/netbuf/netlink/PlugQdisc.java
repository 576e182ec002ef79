package io.remus.netbuf.netlink;

/**
 * The plug qdisc at an ifb's root (sch_plug): holds the frames of each epoch until they are released.
 *
 * @param handle     the qdisc handle; {@link #DEFAULT_HANDLE} marks the qdiscs this plugin creates
 * @param limitBytes backlog above which the kernel drops frames (tail drop)
 */
public record PlugQdisc(Link ifb, TcHandle handle, long limitBytes) {

    public static final String KIND = "plug";
    /** 4 MiB, the limit the design names. */
    public static final long DEFAULT_LIMIT_BYTES = 4L * 1024 * 1024;
    /** {@code 4e42:} ("NB"), so a plug qdisc this plugin made can be told from anyone else's. */
    public static final TcHandle DEFAULT_HANDLE = TcHandle.of(0x4e42, 0);

    public PlugQdisc {
        checkLimit(limitBytes);
    }

    public static PlugQdisc on(Link ifb, long limitBytes) {
        return new PlugQdisc(ifb, DEFAULT_HANDLE, limitBytes);
    }

    public PlugQdisc withLimit(long newLimitBytes) {
        return new PlugQdisc(ifb, handle, newLimitBytes);
    }

    /** sch_plug keeps the limit in a u32; below one full-size frame nothing useful can be buffered. */
    static void checkLimit(long limitBytes) {
        if (limitBytes < 1514 || limitBytes > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("plug limit must be 1514.." + 0xFFFF_FFFFL + " bytes: " + limitBytes);
        }
    }
}
