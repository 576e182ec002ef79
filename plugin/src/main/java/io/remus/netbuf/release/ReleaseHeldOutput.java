package io.remus.netbuf.release;

import io.remus.netbuf.netlink.Link;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.NetlinkException;
import io.remus.netbuf.netlink.NetlinkUnavailableException;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.TcHandle;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Lets out whatever the plugin's plug qdiscs hold, for when the server died without doing it (SIGKILL, OOM kill, a
 * JVM crash): {@code release_indefinite} on every plug qdisc with the plugin's handle ({@code 4e42:}) at the root of
 * an ifb, created ({@code nbifbN}) or from the pool ({@code ifbN}), in one netlink batch. No Spring, no database:
 * the launcher (src/uml/run-server.sh) runs it whenever the server's JVM exits, and a systemd unit can run it as
 * {@code ExecStopPost=}.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp netbuf-plugin.jar io.remus.netbuf.release.ReleaseHeldOutput \
 *      [--netbuf.namespace=/run/netns/NAME]
 * </pre>
 *
 * Prints one line per plug released and the time taken; exits 0 when every plug found was released (none found is
 * success), 1 naming what failed, 2 on bad arguments.
 */
public final class ReleaseHeldOutput {

    static final String NAMESPACE_ARG = "--netbuf.namespace=";

    private ReleaseHeldOutput() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        long started = System.nanoTime();
        String namespace = "";
        for (String arg : args) {
            if (arg.startsWith(NAMESPACE_ARG)) {
                namespace = arg.substring(NAMESPACE_ARG.length());
            } else {
                err.println("release-held-output: unknown argument " + arg + "; usage: ReleaseHeldOutput ["
                        + NAMESPACE_ARG + "/run/netns/NAME]");
                return 2;
            }
        }
        String where = namespace.isEmpty() ? "this network namespace" : "network namespace " + namespace;
        try (Netlink netlink = namespace.isEmpty() ? Netlink.open() : Netlink.openInNamespace(Path.of(namespace))) {
            List<PlugQdisc> plugs = ourPlugs(netlink);
            if (plugs.isEmpty()) {
                out.println("release-held-output: no plug qdisc " + PlugQdisc.DEFAULT_HANDLE + " on an ifb in "
                        + where + ": nothing held" + took(started));
                return 0;
            }
            List<String> failed = release(netlink, plugs, out);
            out.println("release-held-output: released " + (plugs.size() - failed.size()) + " of " + plugs.size()
                    + " plug qdiscs in " + where + took(started));
            failed.forEach(f -> err.println("release-held-output: FAILED: " + f));
            return failed.isEmpty() ? 0 : 1;
        } catch (NetlinkException | NetlinkUnavailableException e) {
            err.println("release-held-output: FAILED in " + where + ": " + e.getMessage());
            return 1;
        }
    }

    /** The plug qdiscs the plugin made: handle {@code 4e42:} at the root of an ifb. Nobody else's are touched. */
    static List<PlugQdisc> ourPlugs(Netlink netlink) {
        Map<Integer, Link> ifbs = netlink.ifbLinks().stream()
                .collect(Collectors.toMap(Link::index, Function.identity()));
        return netlink.qdiscs().stream()
                .filter(q -> PlugQdisc.KIND.equals(q.kind()) && q.parent().equals(TcHandle.ROOT)
                        && q.handle().equals(PlugQdisc.DEFAULT_HANDLE) && ifbs.containsKey(q.ifindex()))
                // the limit is not changed by a release; the value is only there to make the record
                .map(q -> PlugQdisc.on(ifbs.get(q.ifindex()), PlugQdisc.DEFAULT_LIMIT_BYTES))
                .toList();
    }

    /** {@code release_indefinite} on each plug, in one batch; returns what failed, one line per plug. */
    private static List<String> release(Netlink netlink, List<PlugQdisc> plugs, PrintStream out) {
        List<NetlinkException> failures = netlink.plugReleaseIndefinite(plugs);
        List<String> failed = new ArrayList<>();
        for (int i = 0; i < plugs.size(); i++) {
            PlugQdisc plug = plugs.get(i);
            if (failures.get(i) == null) {
                out.println("release-held-output: released plug " + plug.handle() + " on " + plug.ifb());
            } else {
                failed.add(failures.get(i).getMessage());
            }
        }
        return failed;
    }

    private static String took(long startedNanos) {
        return " (took " + (System.nanoTime() - startedNanos) / 1_000_000 + " ms)";
    }
}
