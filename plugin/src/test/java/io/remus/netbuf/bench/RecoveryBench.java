package io.remus.netbuf.bench;

import com.zaxxer.hikari.HikariDataSource;
import io.remus.netbuf.lifecycle.BufferLifecycle;
import io.remus.netbuf.lifecycle.BufferRecovery;
import io.remus.netbuf.lifecycle.FaultInjection;
import io.remus.netbuf.lifecycle.NetbufSettings;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.TcHandle;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Recovery of many installs that a crash left at mixed steps, against the time of the undo operations alone on
 * the same kind of leftovers. On the host kernel, in a namespace of its own: the host has no sch_plug, so the
 * crash points are every point of an install but the one after the plug is made (seven of eight), and the
 * database is the embedded H2 file on disk, as the plugin uses it by default.
 *
 * <p>Each round first leaves {@code partials} installs behind through the lifecycle itself: its fault hook
 * abandons each install right after a step's intent or right after its kernel step, which leaves the rows and
 * kernel objects exactly as a SIGKILL there would. Then it times either {@link BufferRecovery#recover()} or the
 * kernel removals recovery makes for them (BufferInstaller's removal steps, from the step in flight down), and
 * checks that nothing is left.
 */
final class RecoveryBench {

    private static final List<String> POINTS = List.of("after-intent:ACQUIRE_IFB", "after-kernel:ACQUIRE_IFB",
            "after-intent:ADD_INGRESS", "after-kernel:ADD_INGRESS", "after-intent:ADD_REDIRECT",
            "after-kernel:ADD_REDIRECT", "after-intent:ADD_PLUG");

    private RecoveryBench() {
    }

    static void run(Bench.Sizes sizes, Path work, Bench.Report report) {
        int n = sizes.partials();
        String ns = "nbrec" + ProcessHandle.current().pid();
        Bench.sh("ip", "netns", "add", ns);
        try {
            List<String> links = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                links.add("link add vr" + i + " type veth peer name vr" + i + "p");
                links.add("link set vr" + i + " up");
            }
            Bench.batch("ip", links, "-n", ns);
            try (Netlink netlink = Netlink.openInNamespace(Path.of("/run/netns", ns))) {
                BufferInstaller installer = new BufferInstaller(netlink);
                Paired.Side recovery = count -> {
                    try (HikariDataSource db = NetbufBench.h2(work, "recovery")) {
                        BufferLifecycle lifecycle = leavePartials(db, installer, count);
                        long ns0 = System.nanoTime();
                        BufferRecovery.Report r = new BufferRecovery(lifecycle, installer).recover();
                        long t = System.nanoTime() - ns0;
                        if (r.rolledBack() != count || r.failed() != 0) {
                            throw new IllegalStateException("recovery rolled back " + r.rolledBack() + " of " + count
                                    + ", " + r.failed() + " failed: " + r.lines());
                        }
                        checkClean(netlink, ns, new BufferStore(db));
                        return t;
                    }
                };
                Paired.Side undo = count -> {
                    try (HikariDataSource db = NetbufBench.h2(work, "undo")) {
                        leavePartials(db, installer, count);
                        BufferStore store = new BufferStore(db);
                        List<BufferRecord> left = store.interrupted();
                        long ns0 = System.nanoTime();
                        for (BufferRecord b : left) {
                            undo(installer, b);
                        }
                        long t = System.nanoTime() - ns0;
                        checkClean(netlink, ns, null);
                        return t;
                    }
                };
                // each round is 1,000 installs long, which evens out the load: one pair after a small warm-up
                recovery.run(Math.min(n, 20));
                undo.run(Math.min(n, 20));
                Paired p = Paired.measure("recovery", recovery, n, "undo alone", undo, n, 1, 0, 0);
                report.add(String.format("host kernel, recovery of %d installs left at %d mixed crash points:"
                                + " recovery %.2f ms per install, the undo operations alone %.2f ms", n,
                        POINTS.size(), p.candidatePerOp() / 1e6, p.baselinePerOp() / 1e6));
                report.verdict("  " + p.verdictAtMost(2.0), p.atMost(2.0));
                report.add(p.rounds(1));
            }
        } finally {
            Bench.sh("ip", "netns", "del", ns);
        }
    }

    /** {@code count} installs on vr0.., each abandoned at the next crash point in turn. */
    private static BufferLifecycle leavePartials(javax.sql.DataSource db, BufferInstaller installer, int count) {
        BufferStore store = new BufferStore(db);
        List<BufferLifecycle> crashing = POINTS.stream().map(p -> new BufferLifecycle(store, installer,
                NetbufSettings.defaults(), FaultInjection.abandonAt(p))).toList();
        for (int i = 0; i < count; i++) {
            try {
                crashing.get(i % POINTS.size()).install("dom" + i / 16, InterfaceName.of("vr" + i));
                throw new IllegalStateException("install " + i + " was not abandoned");
            } catch (FaultInjection.Abandoned expected) {
                // left as a crash at that point leaves it
            }
        }
        return new BufferLifecycle(store, installer, NetbufSettings.defaults(), FaultInjection.none());
    }

    /** The removals recovery makes for a buffer abandoned with {@code b.pendingStep()} in flight. */
    private static void undo(BufferInstaller installer, BufferRecord b) {
        InterfaceName vif = InterfaceName.of(b.vif());
        InterfaceName ifb = InterfaceName.of(b.ifb());
        switch (b.pendingStep()) {
            case ADD_PLUG -> {
                installer.removePlug(ifb, new TcHandle(b.plugHandle()));
                installer.removeRedirect(vif, b.protocol(), b.priority());
                installer.removeIngress(vif);
            }
            case ADD_REDIRECT -> {
                installer.removeRedirect(vif, b.protocol(), b.priority());
                installer.removeIngress(vif);
            }
            case ADD_INGRESS -> installer.removeIngress(vif);
            case ACQUIRE_IFB -> { }
            default -> throw new IllegalStateException("not an install step: " + b.pendingStep());
        }
        installer.releaseIfb(ifb, b.ifbCreated());
    }

    private static void checkClean(Netlink netlink, String ns, BufferStore store) {
        if (!netlink.ifbLinks().isEmpty() || Bench.sh("tc", "-n", ns, "qdisc", "show").contains("ingress")) {
            throw new IllegalStateException("objects were left after the undo: " + netlink.ifbLinks());
        }
        if (store != null && !store.interrupted().isEmpty()) {
            throw new IllegalStateException("buffers still interrupted after recovery: " + store.interrupted());
        }
    }
}
