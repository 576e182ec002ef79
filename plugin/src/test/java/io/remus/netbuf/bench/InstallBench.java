package io.remus.netbuf.bench;

import io.remus.netbuf.lifecycle.BufferLifecycle;
import io.remus.netbuf.lifecycle.FaultInjection;
import io.remus.netbuf.lifecycle.NetbufSettings;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.InstalledBuffer;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import javax.sql.DataSource;

/**
 * Inside user-mode-linux (the plug is part of an install): one buffer installed and uninstalled on a vif through
 * BufferInstaller, against the same libnl sequence in C; and, for scale, the same through the lifecycle, which
 * journals every step in H2 before and after it.
 */
final class InstallBench {

    private InstallBench() {
    }

    static void run(Bench.Sizes sizes, CBaseline c, DataSource db, Bench.Report report) {
        Bench.sh("ip", "link", "add", "vif1.0", "type", "veth", "peer", "name", "vif1.0p");
        Bench.sh("ip", "link", "set", "vif1.0", "up");
        try (Netlink netlink = Netlink.open()) {
            BufferInstaller installer = new BufferInstaller(netlink);
            InterfaceName vif = InterfaceName.of("vif1.0");
            InterfaceName ifb = InterfaceName.of("nbinst0");
            Paired.Side ffm = ops -> Bench.time(() -> {
                for (int i = 0; i < ops; i++) {
                    InstalledBuffer buffer = installer.install(vif, ifb);
                    installer.uninstall(buffer);
                }
            });
            Paired.Side inC = ops -> c.run("install vif1.0 nbinst0 " + ops);
            // an ifb's removal waits for RCU grace periods, so one install varies a lot: rounds of several
            Paired p = Paired.measure("FFM", ffm, "C", inC, sizes.n(30, 2), sizes.smoke() ? 1 : 5, 2, 0);

            BufferLifecycle lifecycle = new BufferLifecycle(new BufferStore(db), installer,
                    NetbufSettings.defaults(), FaultInjection.none());
            Paired.Side journaled = ops -> Bench.time(() -> {
                for (int i = 0; i < ops; i++) {
                    BufferRecord b = lifecycle.install("dom1", vif);
                    lifecycle.teardown(b.id());
                }
            });
            Paired life = Paired.measure("lifecycle", journaled, "C", inC, sizes.n(6, 2), 1, 1, 0);
            report.add(String.format("user-mode-linux, one buffer installed + uninstalled (ifb, ingress, redirect,"
                            + " plug and back): FFM %.2f ms, C %.2f ms; through the lifecycle with its H2 journal"
                            + " %.2f ms", p.candidatePerOp() / 1e6, p.baselinePerOp() / 1e6,
                    life.candidatePerOp() / 1e6));
            report.verdict("  " + p.verdictAtMost(1.3), p.atMost(1.3));
            report.add("  lifecycle/C = " + String.format("%.3f %s", life.ratio(), life.spread())
                    + " (9 steps, each journaled before and after in H2; no target)");
        } finally {
            Bench.sh("ip", "link", "del", "vif1.0");
        }
    }
}
