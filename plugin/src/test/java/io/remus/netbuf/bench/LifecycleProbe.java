package io.remus.netbuf.bench;

import com.zaxxer.hikari.HikariDataSource;
import io.remus.netbuf.lifecycle.BufferLifecycle;
import io.remus.netbuf.lifecycle.FaultInjection;
import io.remus.netbuf.lifecycle.NetbufSettings;
import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.model.BufferMachine;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.model.Transition;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.uml.UserModeLinux;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Not a bench: a probe of where the lifecycle's time goes, op by op (a clock read, a machine built, a machine event,
 * an empty transaction, a step's intent and outcome transactions, the whole install + teardown), in
 * user-mode-linux ({@code uml WORKDIR}) or in this JVM ({@code local}). Each op is timed in rounds taken in turn,
 * after a warm-up; the median per op of the rounds is printed.
 *
 * <p>{@code java -cp target/test-classes:target/classes:$(cat target/test.classpath)
 * io.remus.netbuf.bench.LifecycleProbe uml target/probe [OPS]}
 */
public final class LifecycleProbe {

    private LifecycleProbe() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "uml" -> {
                Path work = Path.of(args[1]).toAbsolutePath();
                Path out = work.resolve("probe.txt");
                Files.deleteIfExists(out);
                List<String> guestArgs = new ArrayList<>(List.of("guest", out.toString()));
                guestArgs.addAll(Arrays.asList(args).subList(2, args.length));
                List<String> options = new ArrayList<>(List.of("-Xmx600m", "-XX:+UseSerialGC"));
                // e.g. -Dprobe.jvm=-XX:StartFlightRecording=delay=60s,filename=/tmp/p.jfr (the guest sees the host's /tmp)
                String jvm = System.getProperty("probe.jvm", "");
                if (!jvm.isBlank()) {
                    options.addAll(List.of(jvm.trim().split("\\s+")));
                }
                System.getProperties().stringPropertyNames().stream().filter(p -> p.startsWith("probe."))
                        .forEach(p -> options.add("-D" + p + "=" + System.getProperty(p)));
                UserModeLinux.Run run = UserModeLinux.runJava(work.resolve("uml"), LifecycleProbe.class.getName(),
                        guestArgs, options, Duration.ofMinutes(30));
                System.out.println(Files.exists(out) ? Files.readString(out) : run.tail());
                System.exit(run.guestExit());
            }
            case "guest", "local" -> {
                List<String> lines = probe(args[0].equals("guest"),
                        args.length > 2 ? List.of(args[2].split(","))
                                : System.getProperty("probe.only", "").isBlank() ? List.of()
                                : List.of(System.getProperty("probe.only").split(",")));
                if (args[0].equals("guest")) {
                    Files.write(Path.of(args[1]), lines);
                }
                lines.forEach(System.out::println);
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    private static List<String> probe(boolean kernel, List<String> only) throws Exception {
        int rounds = Integer.getInteger("probe.rounds", 15);
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "netbuf-probe");
        Map<String, Op> ops = new LinkedHashMap<>();
        List<String> lines = new ArrayList<>();
        try (HikariDataSource db = NetbufBench.h2(dir, "probe")) {
            BufferStore store = new BufferStore(db);
            ops.put("nanoTime", new Op(1000, () -> System.nanoTime()));
            ops.put("currentTimeMillis", new Op(1000, () -> System.currentTimeMillis()));
            ops.put("machine build+stop", new Op(5, () -> BufferMachine.restoredTo(BufferState.FREE).stop()));
            BufferMachine m = BufferMachine.restoredTo(BufferState.FREE);
            List<BufferEvent> cycle = InstallBench.STEPS;
            int[] at = {0};
            ops.put("machine event", new Op(9, () -> {
                m.fire(cycle.get(at[0]), t -> { });
                at[0] = (at[0] + 1) % cycle.size();
            }));
            ops.put("pool checkout+close", new Op(20, () -> {
                try (Connection c = db.getConnection()) {
                    c.isClosed();
                }
            }));
            ops.put("empty transaction", new Op(20, () -> store.transaction("probe", () -> null)));
            ops.put("raw JDBC commit (1 update)", new Op(20, () -> {
                try (Connection c = db.getConnection()) {
                    c.setAutoCommit(false);
                    try (PreparedStatement s = c.prepareStatement("UPDATE netbuf_buffer SET epoch = epoch + 1"
                            + " WHERE id = -1")) {
                        s.executeUpdate();
                    }
                    c.commit();
                    c.setAutoCommit(true);
                }
            }));
            BufferRecord[] b = {store.create("probe", "vifprobe.0", 1 << 22, 3, 1, 0x4e420000)};
            // H2 itself, on a connection held outside the pool (its proxy unwrapped)
            Connection pooled = db.getConnection();
            Connection held = pooled.unwrap(org.h2.jdbc.JdbcConnection.class);
            long id = b[0].id();
            ops.put("held: select by id", new Op(20, () -> {
                try (PreparedStatement s = held.prepareStatement("SELECT * FROM netbuf_buffer WHERE id = ?")) {
                    s.setLong(1, id);
                    try (var rs = s.executeQuery()) {
                        rs.next();
                    }
                }
            }));
            ops.put("held: setAutoCommit false+true", new Op(20, () -> {
                held.setAutoCommit(false);
                held.setAutoCommit(true);
            }));
            ops.put("held: empty commit", new Op(20, () -> {
                held.setAutoCommit(false);
                held.commit();
                held.setAutoCommit(true);
            }));
            ops.put("held: update + commit", new Op(20, () -> {
                held.setAutoCommit(false);
                try (PreparedStatement s = held.prepareStatement("UPDATE netbuf_buffer SET epoch = epoch + 1"
                        + " WHERE id = ?")) {
                    s.setLong(1, id);
                    s.executeUpdate();
                }
                held.commit();
                held.setAutoCommit(true);
            }));
            ops.put("held: journal insert + commit", new Op(20, () -> {
                held.setAutoCommit(false);
                try (PreparedStatement s = held.prepareStatement("INSERT INTO netbuf_journal (buffer_id, at, step,"
                        + " outcome, from_state, to_state, detail, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                    s.setLong(1, id);
                    s.setTimestamp(2, new java.sql.Timestamp(0));
                    s.setString(3, "ADD_PLUG");
                    s.setString(4, "INTENT");
                    s.setString(5, "FREE");
                    s.setString(6, "FREE");
                    s.setString(7, "probe");
                    s.setString(8, null);
                    s.executeUpdate();
                }
                held.commit();
                held.setAutoCommit(true);
            }));
            ops.put("store.find", new Op(20, () -> store.find(id)));
            ops.put("spring tx: 1 update", new Op(20, () -> store.transaction("probe", () -> {
                store.setEpoch(b[0], 7);
                return null;
            })));
            int[] step = {0};
            // the 9 steps' intents and outcomes, each its own transaction, as DomainSteps writes them (without
            // the next step's intents in the outcome's transaction)
            ops.put("intent tx + outcome tx (1 buffer)", new Op(9, () -> {
                BufferEvent e = cycle.get(step[0]);
                Transition t = new Transition(b[0].state(), e, e.target());
                b[0] = store.transaction("probe", () -> store.intents(List.of(new BufferStore.Intent(b[0], t,
                        "probe", e == BufferEvent.ACQUIRE_IFB ? "nbprobe0" : null, true)))).getFirst();
                b[0] = store.transaction("probe", () -> store.outcomes(List.of(new BufferStore.StepResult(b[0], t,
                        null, null)))).getFirst();
                step[0] = (step[0] + 1) % cycle.size();
            }));
            Netlink netlink = null;
            if (kernel) {
                Bench.sh("ip", "link", "add", "vif1.0", "type", "veth", "peer", "name", "vif1.0p");
                Bench.sh("ip", "link", "set", "vif1.0", "up");
                netlink = Netlink.open();
                BufferInstaller installer = new BufferInstaller(netlink);
                InterfaceName vif = InterfaceName.of("vif1.0");
                BufferLifecycle lifecycle = new BufferLifecycle(store, installer, NetbufSettings.defaults(),
                        FaultInjection.none());
                ops.put("lifecycle install+teardown (1 buffer)", new Op(1, () -> {
                    BufferRecord r = lifecycle.install("dom1", vif);
                    lifecycle.teardown(r.id());
                }));
                List<InterfaceName> vifs = new ArrayList<>();
                for (int i = 0; i < InstallBench.DOMAIN_VIFS; i++) {
                    Bench.sh("ip", "link", "add", "vif2." + i, "type", "veth", "peer", "name", "vif2." + i + "p");
                    Bench.sh("ip", "link", "set", "vif2." + i, "up");
                    vifs.add(InterfaceName.of("vif2." + i));
                }
                ops.put("lifecycle install+teardown (domain of 8)", new Op(1, () -> lifecycle.teardown(
                        lifecycle.install("dom2", vifs), false)));
                int cold = Integer.getInteger("probe.cold", 0);
                if (cold > 0) {
                    // the first install+teardowns of this JVM, one by one: what the JIT's warm-up costs
                    StringBuilder times = new StringBuilder("cold lifecycle install+teardown (1 buffer), ms:");
                    for (int i = 0; i < cold; i++) {
                        long t0 = System.nanoTime();
                        BufferRecord r = lifecycle.install("dom1", vif);
                        lifecycle.teardown(r.id());
                        times.append(String.format(" %.1f", (System.nanoTime() - t0) / 1e6));
                    }
                    lines.add(times.toString());
                }
            }
            ops.keySet().removeIf(k -> !only.isEmpty() && only.stream().noneMatch(k::startsWith));
            // warm-up: the JIT, H2's caches
            for (int w = 0; w < Integer.getInteger("probe.warmup", 200); w++) {
                for (Op op : ops.values()) {
                    op.body.run();
                }
            }
            int traced = Integer.getInteger("probe.strace", 0);
            if (traced > 0) {
                // system calls per op, counted by strace attached to every thread of this JVM
                for (String k : ops.keySet()) {
                    lines.add("## " + k + ": system calls per op, over " + traced + " ops");
                    lines.addAll(strace(ops.get(k), traced));
                }
                return lines;
            }
            Map<String, double[]> perOp = new LinkedHashMap<>();
            ops.keySet().forEach(k -> perOp.put(k, new double[rounds]));
            for (int r = 0; r < rounds; r++) {
                List<String> order = new ArrayList<>(ops.keySet());
                if (r % 2 == 1) {
                    java.util.Collections.reverse(order);
                }
                for (String k : order) {
                    Op op = ops.get(k);
                    long t0 = System.nanoTime();
                    for (int i = 0; i < op.count; i++) {
                        op.body.run();
                    }
                    perOp.get(k)[r] = (System.nanoTime() - t0) / 1e3 / op.count;
                }
            }
            lines.add("# probe " + (kernel ? "in user-mode-linux" : "in this JVM") + ", " + rounds + " rounds, load "
                    + Bench.load());
            perOp.forEach((k, v) -> {
                Arrays.sort(v);
                lines.add(String.format("%-40s median %10.1f us  (min %.1f, max %.1f)", k, v[v.length / 2], v[0],
                        v[v.length - 1]));
            });
            if (netlink != null) {
                netlink.close();
                Bench.sh("ip", "link", "del", "vif1.0");
            }
        }
        return lines;
    }

    /** Runs {@code op} {@code n} times under {@code strace -c -f}; the summary with counts divided by n. */
    private static List<String> strace(Op op, int n) throws Exception {
        Path out = Files.createTempFile("probe", ".strace");
        boolean raw = Boolean.getBoolean("probe.raw");
        List<String> cmd = new ArrayList<>(raw ? List.of("strace", "-f", "-o", out.toString())
                : List.of("strace", "-c", "-f", "-o", out.toString()));
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            tasks.forEach(t -> {
                cmd.add("-p");
                cmd.add(t.getFileName().toString());
            });
        }
        Process strace = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(
                ProcessBuilder.Redirect.DISCARD).start();
        Thread.sleep(3000);
        for (int i = 0; i < n; i++) {
            op.body.run();
        }
        strace.destroy();
        strace.waitFor();
        List<String> lines = new ArrayList<>();
        if (raw) {
            // system calls by thread (its name from /proc) and name
            Map<String, Integer> counts = new java.util.TreeMap<>();
            for (String l : Files.readAllLines(out)) {
                String[] f = l.trim().split("\\s+", 2);
                if (f.length == 2 && f[0].matches("\\d+") && f[1].indexOf('(') > 0) {
                    String name;
                    try {
                        name = Files.readString(Path.of("/proc/self/task/" + f[0] + "/comm")).strip();
                    } catch (java.io.IOException e) {
                        name = "gone";
                    }
                    counts.merge(f[0] + " " + name + " " + f[1].substring(0, f[1].indexOf('(')), 1, Integer::sum);
                }
            }
            counts.forEach((k, c) -> lines.add(String.format("  %-50s %8.2f per op", k, c / (double) n)));
            Files.copy(out, Path.of(System.getProperty("java.io.tmpdir"), "..", "strace-raw.txt"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return lines;
        }
        for (String l : Files.readAllLines(out)) {
            String[] f = l.trim().split("\\s+");
            // % time, seconds, usecs/call, calls, [errors], syscall
            if (f.length >= 5 && f[3].matches("\\d+")) {
                lines.add(String.format("  %-20s %8.2f per op", f[f.length - 1], Long.parseLong(f[3]) / (double) n));
            }
        }
        return lines;
    }

    private record Op(int count, Body body) {
    }

    @FunctionalInterface
    private interface Body {
        void run() throws Exception;
    }
}
