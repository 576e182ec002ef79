package io.remus.netbuf.netlink;

/**
 * Whether the running kernel has sch_plug (built in, loaded, or loaded on first use), found the only sure way: by
 * adding a plug qdisc to an ifb in a namespace of its own, once per JVM. Tests whose outcome depends on the plug
 * branch on it, so the suite passes on a kernel with sch_plug (a stock Debian dom0's) and on one without (this
 * machine's); {@code UmlAsHostTest} runs those tests inside user-mode-linux with and without the module, so both
 * branches run in {@code make test} whatever the host kernel has.
 */
public final class KernelPlug {

    /** Set by {@code UmlAsHostTest} for its guests: {@code present} or {@code absent}, what the run loaded. */
    public static final String EXPECTED_PROPERTY = "netbuf.expect.sch_plug";
    /** What an error on a kernel without sch_plug tells the admin to do. */
    public static final String FIX = "modprobe sch_plug";

    private static Boolean present;

    private KernelPlug() {
    }

    public static synchronized boolean present() {
        if (present == null) {
            present = probe();
        }
        return present;
    }

    private static boolean probe() {
        try (TestNamespace ns = TestNamespace.create(); Netlink netlink = ns.open()) {
            Link ifb = netlink.createIfb(InterfaceName.of("nbprobe0"));
            try {
                netlink.addPlug(PlugQdisc.on(ifb, PlugQdisc.DEFAULT_LIMIT_BYTES));
                return true;
            } catch (NetlinkException e) {
                if (e.getMessage().contains(FIX)) {
                    return false;
                }
                throw e;
            }
        }
    }
}
