package io.remus.netbuf.bench;

import io.remus.netbuf.netlink.IngressQdisc;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Link;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugAction;
import io.remus.netbuf.netlink.PlugControl;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.uml.UserModeLinux;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The netbuf benchmark harness (not a test). Every figure is a ratio against a baseline measured in the same run,
 * with rounds of the candidates interleaved so that drift hits them alike; each figure is the median round.
 *
 * <ul>
 *   <li>Inside user-mode-linux (kernel 6.1, has sch_plug): the checkpoint hot path, plug {@code buffer} +
 *       {@code release_one} on one ifb, through our FFM binding, through the same libnl3 calls in C, and through
 *       {@code tc qdisc change ... plug block|release} exec'd per operation. Also the Java heap allocated per
 *       operation after warm-up.</li>
 *   <li>On the host kernel (no sch_plug), where a netlink round trip costs microseconds: ingress qdisc add + delete
 *       through FFM against the same calls in C, in a network namespace of its own.</li>
 * </ul>
 *
 * Run: {@code make bench}. Sizes: {@code -Dbench.rounds=N} (default 9) and {@code -Dbench.scale=F} (default 1).
 */
public final class NetbufBench {

    static final int ROUNDS = Integer.getInteger("bench.rounds", 9);
    static final double SCALE = Double.parseDouble(System.getProperty("bench.scale", "1"));
    static final int SCALE_PLUGS = 1024;

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("uml-guest")) {
            umlGuest(Path.of(args[1]), Path.of(args[2]));
            return;
        }
        Path work = Path.of(args.length > 0 ? args[0] : "target/bench").toAbsolutePath();
        Files.createDirectories(work);
        Path cBench = compileC(work);
        List<String> report = new ArrayList<>();
        report.add("# netbuf bench, " + LocalDate.now() + ", " + Runtime.getRuntime().availableProcessors()
                + " CPUs, Java " + Runtime.version() + ", " + ROUNDS + " rounds, median of each");
        boolean ok = host(cBench, report);

        Path out = work.resolve("uml-results.txt");
        Files.deleteIfExists(out);
        UserModeLinux.Run run = UserModeLinux.runJava(work.resolve("uml"), NetbufBench.class.getName(),
                List.of("uml-guest", cBench.toString(), out.toString()),
                List.of("-Xmx600m", "-Dbench.rounds=" + ROUNDS, "-Dbench.scale=" + SCALE), Duration.ofMinutes(20));
        if (run.guestExit() != 0 || !Files.exists(out)) {
            System.out.println(String.join("\n", report));
            throw new IllegalStateException("the UML part of the bench failed (exit " + run.guestExit() + ")\n"
                    + run.tail());
        }
        List<String> uml = Files.readAllLines(out);
        report.addAll(uml);
        ok &= uml.stream().noneMatch(l -> l.contains("MISSED"));
        String text = String.join("\n", report);
        System.out.println(text);
        Files.writeString(work.resolve("results.txt"), text + "\n");
        if (!ok) {
            System.exit(1);
        }
    }

    // ------------------------------------------------------------------ host: ingress add + delete

    static boolean host(Path cBench, List<String> report) throws Exception {
        String ns = "nbbench" + ProcessHandle.current().pid();
        sh("ip", "netns", "add", ns);
        try {
            sh("ip", "-n", ns, "link", "add", "vif1.0", "type", "veth", "peer", "name", "eth0");
            sh("ip", "-n", ns, "link", "set", "vif1.0", "up");
            try (Netlink netlink = Netlink.openInNamespace(Path.of("/run/netns", ns))) {
                Link vif = netlink.link(InterfaceName.of("vif1.0"));
                IngressQdisc ingress = new IngressQdisc(vif);
                int upOps = (int) (20_000 * SCALE);
                boolean ok = compare(report, "host kernel " + System.getProperty("os.version")
                                + ", link set up (one cheap round trip)", upOps, 1.05,
                        () -> {
                            for (int i = 0; i < upOps; i++) {
                                netlink.setUp(vif);
                            }
                        },
                        () -> cRound("ip", "netns", "exec", ns, cBench.toString(), "up", "vif1.0", upOps));
                int ingressOps = (int) (1000 * SCALE);
                ok &= compare(report, "host kernel " + System.getProperty("os.version")
                                + ", ingress qdisc add + delete", ingressOps, 1.05,
                        () -> {
                            for (int i = 0; i < ingressOps; i++) {
                                netlink.addIngress(ingress);
                                netlink.deleteIngress(ingress);
                            }
                        },
                        () -> cRound("ip", "netns", "exec", ns, cBench.toString(), "ingress", "vif1.0", ingressOps));
                return ok;
            }
        } finally {
            sh("ip", "netns", "del", ns);
        }
    }

    /** Interleaved rounds of the Java loop and the C program; reports the medians and the FFM/C ratio. */
    static boolean compare(List<String> report, String label, int ops, double target, Runnable java,
                           java.util.function.LongSupplier c) {
        for (int i = 0; i < 5; i++) {
            java.run(); // warm-up: let C2 compile the path
        }
        long[] ffm = new long[ROUNDS];
        long[] cs = new long[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            ffm[r] = time(java);
            cs[r] = c.getAsLong();
        }
        double ffmNs = median(ffm) / ops;
        double cNs = median(cs) / ops;
        double ratio = ffmNs / cNs;
        report.add(String.format("%s: FFM %.0f ns/op, C %.0f ns/op, FFM/C = %.3f (target <= %.2f) %s",
                label, ffmNs, cNs, ratio, target, ratio <= target ? "met" : "MISSED"));
        report.add("  rounds (ms): FFM " + millis(ffm) + ", C " + millis(cs));
        return ratio <= target;
    }

    /** Runs the C program with as many warm-up operations as timed ones; returns the nanoseconds it printed. */
    static long cRound(Object... commandThenOps) {
        List<String> cmd = new ArrayList<>();
        for (Object o : commandThenOps) {
            cmd.add(String.valueOf(o));
        }
        cmd.add(cmd.getLast()); // WARMUP = OPS
        return Long.parseLong(sh(cmd.toArray(String[]::new)).strip());
    }

    // ------------------------------------------------------------------ UML: the checkpoint hot path

    static void umlGuest(Path cBench, Path out) throws Exception {
        List<String> lines = new ArrayList<>();
        try (Netlink netlink = Netlink.open()) {
            Link ifb = netlink.createIfb(InterfaceName.of("nbbench0"));
            netlink.setUp(ifb);
            PlugQdisc plug = PlugQdisc.on(ifb, PlugQdisc.DEFAULT_LIMIT_BYTES);
            netlink.addPlug(plug);
            int ops = (int) (1000 * SCALE);
            int execOps = (int) Math.max(4, 20 * SCALE);
            try (PlugControl control = netlink.openPlugControl(plug)) {
                Runnable java = () -> {
                    for (int i = 0; i < ops; i++) {
                        control.buffer();
                        control.releaseOne();
                    }
                };
                for (int i = 0; i < 10; i++) {
                    java.run();
                }
                long[] ffm = new long[ROUNDS];
                long[] c = new long[ROUNDS];
                long[] tc = new long[ROUNDS];
                for (int r = 0; r < ROUNDS; r++) {
                    ffm[r] = time(java);
                    c[r] = cRound(cBench, "plug", "nbbench0", ops);
                    tc[r] = time(() -> {
                        for (int i = 0; i < execOps; i++) {
                            sh("tc", "qdisc", "change", "dev", "nbbench0", "root", "plug", "block");
                            sh("tc", "qdisc", "change", "dev", "nbbench0", "root", "plug", "release");
                        }
                    });
                }
                double ffmNs = median(ffm) / ops;
                double cNs = median(c) / ops;
                double tcNs = median(tc) / execOps;
                lines.add("  rounds (ms): FFM " + millis(ffm) + ", C " + millis(c) + ", tc " + millis(tc));
                lines.add(String.format("user-mode-linux %s, one checkpoint = plug buffer + release_one:"
                                + " FFM %.0f ns/op (%.0f ops/s), C %.0f ns/op (%.0f ops/s), tc exec %.0f ns/op (%.1f ops/s)",
                        System.getProperty("os.version"), ffmNs, 1e9 / ffmNs, cNs, 1e9 / cNs, tcNs, 1e9 / tcNs));
                lines.add(String.format("  FFM/C = %.3f (target <= 1.02) %s", ffmNs / cNs,
                        ffmNs / cNs <= 1.02 ? "met" : "MISSED"));
                lines.add(String.format("  tc exec/FFM = %.0fx (target >= 300x) %s; tc exec/C = %.0fx", tcNs / ffmNs,
                        tcNs / ffmNs >= 300 ? "met" : "MISSED", tcNs / cNs));

                var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
                long before = threads.getCurrentThreadAllocatedBytes();
                java.run();
                long allocated = threads.getCurrentThreadAllocatedBytes() - before;
                lines.add(String.format("  Java heap allocated on the hot path after warm-up: %d bytes over %d ops"
                                + " = %.3f bytes/op (target 0) %s", allocated, 2L * ops, allocated / (2.0 * ops),
                        allocated == 0 ? "met" : "MISSED"));
            }
            netlink.deletePlug(plug);
            netlink.deleteLink(ifb);
            epochAtScale(netlink, cBench, lines);
        }
        Files.write(out, lines);
    }

    /**
     * One epoch (buffer, then release_one) on {@value #SCALE_PLUGS} plug qdiscs: in one batch each way through our
     * binding, one by one through it, and in one batch each way from C with the same libnl calls.
     */
    static void epochAtScale(Netlink netlink, Path cBench, List<String> lines) throws Exception {
        int n = Integer.getInteger("bench.plugs", SCALE_PLUGS);
        StringBuilder links = new StringBuilder();
        StringBuilder qdiscs = new StringBuilder();
        for (int i = 0; i < n; i++) {
            links.append("link add nbb").append(i).append(" type ifb\nlink set nbb").append(i).append(" up\n");
            qdiscs.append("qdisc add dev nbb").append(i).append(" root handle 4e42: plug limit 4194304\n");
        }
        Path batchFile = Files.createTempFile("nbb", ".batch");
        Files.writeString(batchFile, links);
        sh("ip", "-batch", batchFile.toString());
        Files.writeString(batchFile, qdiscs);
        sh("tc", "-batch", batchFile.toString());
        Files.delete(batchFile);

        PlugControl[] controls = new PlugControl[n];
        for (int i = 0; i < n; i++) {
            controls[i] = netlink.openPlugControl(PlugQdisc.on(netlink.link(InterfaceName.of("nbb" + i)),
                    PlugQdisc.DEFAULT_LIMIT_BYTES));
        }
        int[] errors = new int[n];
        int batchEpochs = (int) Math.max(2, 10 * SCALE);
        int singleEpochs = (int) Math.max(1, 2 * SCALE);
        Runnable batch = () -> {
            for (int e = 0; e < batchEpochs; e++) {
                if (netlink.plugBatch(controls, n, PlugAction.BUFFER, errors)
                        + netlink.plugBatch(controls, n, PlugAction.RELEASE_ONE, errors) != 0) {
                    throw new IllegalStateException("a batch had failures");
                }
            }
        };
        Runnable oneByOne = () -> {
            for (int e = 0; e < singleEpochs; e++) {
                for (PlugControl c : controls) {
                    c.buffer();
                }
                for (PlugControl c : controls) {
                    c.releaseOne();
                }
            }
        };
        for (int i = 0; i < 3; i++) {
            batch.run();
            oneByOne.run();
        }
        long[] ffmBatch = new long[ROUNDS];
        long[] ffmSingle = new long[ROUNDS];
        long[] cBatch = new long[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            ffmBatch[r] = time(batch);
            ffmSingle[r] = time(oneByOne);
            cBatch[r] = cRound(cBench, "batch", "nbb", n, batchEpochs);
        }
        double batchNs = median(ffmBatch) / batchEpochs;
        double singleNs = median(ffmSingle) / singleEpochs;
        double cNs = median(cBatch) / batchEpochs;
        lines.add(String.format("user-mode-linux, one epoch (buffer + release_one) on %d plug qdiscs: FFM batch %.2f ms,"
                + " FFM one by one %.2f ms, C batch %.2f ms", n, batchNs / 1e6, singleNs / 1e6, cNs / 1e6));
        lines.add("  rounds (ms): FFM batch " + millis(ffmBatch) + ", one by one " + millis(ffmSingle) + ", C batch "
                + millis(cBatch));
        lines.add(String.format("  FFM batch/C batch = %.3f (target <= 1.5) %s", batchNs / cNs,
                batchNs / cNs <= 1.5 ? "met" : "MISSED"));
        lines.add(String.format("  one by one/FFM batch = %.1fx (target >= 20x) %s", singleNs / batchNs,
                singleNs / batchNs >= 20 ? "met" : "MISSED"));
        for (PlugControl c : controls) {
            c.close();
        }
    }

    // ------------------------------------------------------------------ helpers

    static Path compileC(Path work) throws IOException, InterruptedException {
        Path source = Path.of("src/test/c/netbuf_bench.c").toAbsolutePath();
        if (!Files.exists(source)) {
            source = Path.of("plugin/src/test/c/netbuf_bench.c").toAbsolutePath();
        }
        Path binary = work.resolve("netbuf_bench");
        String flags = sh("pkg-config", "--cflags", "--libs", "libnl-route-3.0").strip();
        List<String> cmd = new ArrayList<>(List.of("gcc", "-O2", "-o", binary.toString(), source.toString()));
        cmd.addAll(Arrays.asList(flags.split("\\s+")));
        sh(cmd.toArray(String[]::new));
        return binary;
    }

    static String millis(long[] rounds) {
        return Arrays.stream(rounds).mapToObj(n -> String.format("%.1f", n / 1e6)).toList().toString();
    }

    static long time(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return System.nanoTime() - t0;
    }

    static double median(long[] values) {
        long[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2.0;
    }

    static String sh(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command[0] + " (make bench installs what it needs)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
