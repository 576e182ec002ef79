package io.remus.netbuf.bench;

import io.remus.netbuf.netlink.IngressQdisc;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Link;
import io.remus.netbuf.netlink.Netlink;
import java.nio.file.Path;

/**
 * On the host kernel (no sch_plug), in a network namespace of its own, where a netlink round trip costs a few
 * microseconds and the binding's own cost shows most: FFM against the same libnl calls in C.
 */
final class HostBench {

    private HostBench() {
    }

    static void run(Bench.Sizes sizes, Path cBench, Bench.Report report) {
        String ns = "nbbench" + ProcessHandle.current().pid();
        Bench.sh("ip", "netns", "add", ns);
        try {
            Bench.sh("ip", "-n", ns, "link", "add", "vif1.0", "type", "veth", "peer", "name", "eth0");
            Bench.sh("ip", "-n", ns, "link", "set", "vif1.0", "up");
            try (Netlink netlink = Netlink.openInNamespace(Path.of("/run/netns", ns));
                 CBaseline c = new CBaseline(cBench, "ip", "netns", "exec", ns);
                 CBaseline threaded = new CBaseline(cBench, true, "ip", "netns", "exec", ns)) {
                Link vif = netlink.link(InterfaceName.of("vif1.0"));
                String kernel = "host kernel " + System.getProperty("os.version");

                Paired up = Paired.measure("FFM", ops -> Bench.time(() -> {
                    for (int i = 0; i < ops; i++) {
                        netlink.setUp(vif);
                    }
                }), "C", ops -> c.run("up vif1.0 " + ops), sizes.n(400, 5), sizes.smoke() ? 10 : 2000, 20, 200);
                report.add(String.format("%s, link set up (one cheap round trip): FFM %.0f ns/op, C %.0f ns/op",
                        kernel, up.candidatePerOp(), up.baselinePerOp()));
                // No target here: issue 3 takes its host target (<= 1.05) on a qdisc operation, ingress add + delete
                // below. This cheapest round trip shows the fixed cost of a call from a JVM process, explained by
                // the next line.
                report.add(String.format("  FFM/C = %.3f %s (no target: the fixed cost per call of a JVM process)",
                        up.ratio(), up.spread()));
                Paired mt = Paired.measure("C with an idle thread", ops -> threaded.run("up vif1.0 " + ops), "C",
                        ops -> c.run("up vif1.0 " + ops), sizes.n(200, 5), sizes.smoke() ? 10 : 2000, 10, 200);
                report.add(String.format("  C with an idle thread/C = %.3f %s: the same C, multi-threaded as a JVM"
                        + " always is (glibc's malloc then locks its arena)", mt.ratio(), mt.spread()));

                IngressQdisc ingress = new IngressQdisc(vif);
                Paired add = Paired.measure("FFM", ops -> Bench.time(() -> {
                    for (int i = 0; i < ops; i++) {
                        netlink.addIngress(ingress);
                        netlink.deleteIngress(ingress);
                    }
                }), "C", ops -> c.run("ingress vif1.0 " + ops), sizes.n(150, 5), sizes.smoke() ? 2 : 40, 10, 5);
                report.add(String.format("%s, ingress qdisc add + delete: FFM %.0f ns/op, C %.0f ns/op", kernel,
                        add.candidatePerOp(), add.baselinePerOp()));
                report.verdict("  " + add.verdictAtMost(1.05), add.atMost(1.05));
            }
        } finally {
            Bench.sh("ip", "netns", "del", ns);
        }
    }
}
