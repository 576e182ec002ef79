package io.remus.netbuf.bench;

import io.remus.netbuf.lifecycle.BufferLifecycle;
import io.remus.netbuf.lifecycle.FaultInjection;
import io.remus.netbuf.lifecycle.NetbufSettings;
import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.BufferObjects;
import io.remus.netbuf.netlink.InstalledBuffer;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.RedirectFilter;
import io.remus.netbuf.netlink.StepOutcome;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import javax.sql.DataSource;

/**
 * Inside user-mode-linux (the plug is part of an install): one buffer installed and uninstalled on a vif through
 * BufferInstaller, against the same libnl sequence in C; and, for scale, the same through the lifecycle, which
 * journals every step in H2 before and after it. Then a domain of 8 vifs protected and stopped step by step through
 * BufferInstaller.run, a batch per step, against the same requests in C.
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
            Paired life = Paired.measure("lifecycle", journaled, "C", inC, sizes.n(20, 2), sizes.smoke() ? 1 : 3, 2, 0);
            report.add(String.format("user-mode-linux, one buffer installed + uninstalled (ifb, ingress, redirect,"
                            + " plug and back): FFM %.2f ms, C %.2f ms; through the lifecycle with its H2 journal"
                            + " %.2f ms", p.candidatePerOp() / 1e6, p.baselinePerOp() / 1e6,
                    life.candidatePerOp() / 1e6));
            report.verdict("  " + p.verdictAtMost(1.3), p.atMost(1.3));
            report.verdict("  " + life.verdictAtMost(2.0) + " (9 steps, each one transaction of its intent and one of its outcome in H2, each intent"
                    + " written by the buffer's living state machine)", life.atMost(2.0));
        } finally {
            Bench.sh("ip", "link", "del", "vif1.0");
        }
        domain(sizes, c, db, report);
    }

    static final int DOMAIN_VIFS = 8;
    static final List<BufferEvent> DOMAIN_STEPS = List.of(BufferEvent.ACQUIRE_IFB, BufferEvent.ADD_INGRESS,
            BufferEvent.ADD_REDIRECT, BufferEvent.ADD_PLUG, BufferEvent.RELEASE, BufferEvent.REMOVE_PLUG,
            BufferEvent.REMOVE_REDIRECT,
            BufferEvent.REMOVE_INGRESS, BufferEvent.RELEASE_IFB);

    /**
     * A domain of {@link #DOMAIN_VIFS} vifs protected and stopped: BufferInstaller.run for each install step, then
     * each removal step (CREATE mode), every step one batch for all the vifs; against the C baseline's
     * {@code domain} command, which sends the same libnl requests the same way.
     */
    private static void domain(Bench.Sizes sizes, CBaseline c, DataSource db, Bench.Report report) {
        List<String> vifs = IntStream.range(0, DOMAIN_VIFS).mapToObj(i -> "vif2." + i).toList();
        List<String> made = new ArrayList<>();
        try (Netlink netlink = Netlink.open()) {
            for (String vif : vifs) {
                Bench.sh("ip", "link", "add", vif, "type", "veth", "peer", "name", vif + "p");
                made.add(vif);
                Bench.sh("ip", "link", "set", vif, "up");
            }
            BufferInstaller installer = new BufferInstaller(netlink);
            List<BufferObjects> buffers = IntStream.range(0, DOMAIN_VIFS).mapToObj(i -> new BufferObjects(
                    InterfaceName.of(vifs.get(i)), InterfaceName.of("nbdom" + i), true, RedirectFilter.ETH_P_ALL,
                    RedirectFilter.DEFAULT_PRIORITY, PlugQdisc.DEFAULT_HANDLE, PlugQdisc.DEFAULT_LIMIT_BYTES)).toList();
            long[] stepNs = new long[DOMAIN_STEPS.size()];
            long[] domains = new long[1];
            Paired.Side ffm = ops -> Bench.time(() -> {
                for (int op = 0; op < ops; op++) {
                    for (int k = 0; k < DOMAIN_STEPS.size(); k++) {
                        long t0 = System.nanoTime();
                        List<StepOutcome> outcomes = installer.run(DOMAIN_STEPS.get(k), buffers);
                        stepNs[k] += System.nanoTime() - t0;
                        for (StepOutcome o : outcomes) {
                            if (!o.ok() || o.note() != null) {
                                throw new IllegalStateException(DOMAIN_STEPS.get(k) + ": " + o, o.failure());
                            }
                        }
                    }
                }
                domains[0] += ops;
            });
            Paired.Side inC = ops -> c.run("domain vif2. " + DOMAIN_VIFS + " nbdom " + ops);
            Paired p = Paired.measure("FFM", ffm, "C", inC, sizes.n(20, 2), sizes.smoke() ? 1 : 3, 2, 0);
            StringBuilder perStep = new StringBuilder();
            for (int k = 0; k < DOMAIN_STEPS.size(); k++) {
                perStep.append(k == 0 ? "" : ", ").append(DOMAIN_STEPS.get(k)).append(' ')
                        .append(String.format("%.2f", stepNs[k] / 1e6 / domains[0]));
            }
            report.add(String.format("user-mode-linux, a domain of %d vifs protected + stopped through"
                            + " BufferInstaller.run, each of its 8 steps one batch for all vifs: FFM %.2f ms, C %.2f ms",
                    DOMAIN_VIFS, p.candidatePerOp() / 1e6, p.baselinePerOp() / 1e6));
            report.add("  domain FFM/C = " + String.format("%.3f %s", p.ratio(), p.spread())
                    + " (no target); FFM's mean per step in ms: " + perStep);

            // the same domain through the lifecycle, as NetbufService.protect and stop run it: each step one
            // transaction of intents (written by each buffer's machine), the batch, one transaction of outcomes
            BufferLifecycle lifecycle = new BufferLifecycle(new BufferStore(db), installer,
                    NetbufSettings.defaults(), FaultInjection.none());
            List<InterfaceName> vifNames = vifs.stream().map(InterfaceName::of).toList();
            Paired.Side journaled = ops -> Bench.time(() -> {
                for (int op = 0; op < ops; op++) {
                    List<BufferRecord> protectedVifs = lifecycle.install("dom2", vifNames);
                    lifecycle.teardown(protectedVifs, false);
                }
            });
            Paired life = Paired.measure("lifecycle", journaled, "C", inC, sizes.n(20, 2), sizes.smoke() ? 1 : 3, 2, 0);
            report.add(String.format("user-mode-linux, a domain of %d vifs protected + stopped through the lifecycle"
                    + " (9 steps, each for all vifs at once) with its H2 journal: %.2f ms, the same requests from C"
                    + " %.2f ms", DOMAIN_VIFS, life.candidatePerOp() / 1e6, life.baselinePerOp() / 1e6));
            report.verdict("  " + life.verdictAtMost(1.5), life.atMost(1.5));
        } finally {
            for (String vif : made) {
                Bench.sh("ip", "link", "del", vif);
            }
        }
    }
}
