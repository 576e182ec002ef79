package io.remus.netbuf.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.remus.netbuf.persistence.NetbufDatabase;
import io.remus.netbuf.uml.UserModeLinux;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.List;

/**
 * The netbuf benchmark harness (not a test): every figure is a ratio against a baseline measured in the same run,
 * printed with its target and {@code met} or {@code MISSED}; see {@link Paired} for how rounds are taken and
 * compared. The host part runs here; the rest inside user-mode-linux (kernel 6.1, which has sch_plug), where this
 * class runs again as the guest's main.
 *
 * <p>Run: {@code make bench}, which writes {@code plugin/target/bench/results.txt} and exits non-zero if a target
 * was missed. Sizes: {@code -Dbench.scale=F} (rounds), {@code -Dbench.plugs}, {@code -Dbench.partials},
 * {@code -Dbench.memory-buffers}, {@code -Dbench.memory-seconds}; {@code -Dbench.only=NAME,...} runs some only.
 */
public final class NetbufBench {

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("uml-guest")) {
            Bench.Report report = new Bench.Report();
            guest(Bench.Sizes.forBench(), Path.of(args[1]), report);
            Files.write(Path.of(args[2]), report.lines);
            return;
        }
        Path work = Path.of(args.length > 0 ? args[0] : "target/bench").toAbsolutePath();
        Bench.Report report = run(Bench.Sizes.forBench(), work);
        Files.writeString(work.resolve("results.txt"), String.join("\n", report.lines) + "\n");
        String readme = System.getProperty("bench.readme", "");
        if (!readme.isBlank()) {
            ResultsTable.update(Path.of(readme), report.lines, System.getProperty("bench.command", "make bench"));
        }
        System.exit(report.allMet ? 0 : 1);
    }

    /** The whole bench: the host part here, the rest in user-mode-linux; returns the report. */
    static Bench.Report run(Bench.Sizes sizes, Path work) throws Exception {
        Files.createDirectories(work);
        Path cBench = CBaseline.compile(work);
        Bench.Report report = new Bench.Report();
        report.add("# netbuf bench, " + LocalDate.now() + ", " + machine() + ", run " + cpus() + ", Java "
                + Runtime.version() + ", load average " + Bench.load()
                + (sizes.smoke() ? ", SMOKE SIZES: figures are not verdicts" : ""));
        if (selected("host")) {
            HostBench.run(sizes, cBench, report);
        }
        if (selected("recovery")) {
            RecoveryBench.run(sizes, work.resolve("h2"), report);
        }
        if (!selected("checkpoint") && !selected("epoch") && !selected("install") && !selected("memory")
                && !selected("teardown") && !selected("listing")) {
            return report;
        }

        inUml("uml", guestJvmOptions(sizes, System.getProperty("bench.only", "")), UserModeLinux.Cpus.ONE_IDLE,
                work, cBench, report);
        if (selected("epoch")) {
            // again in a UML of its own on every CPU: there a round trip is a cross-CPU wake-up, and one plug at
            // a time pays it 2,048 times an epoch (see UserModeLinux.Cpus)
            List<String> options = new java.util.ArrayList<>(guestJvmOptions(sizes, "epoch"));
            options.add("-D" + CheckpointBench.UNPINNED + "=true");
            inUml("uml-unpinned", options, UserModeLinux.Cpus.ALL, work, cBench, report);
        }
        report.add("# load average at the end of the plugin's benches " + Bench.load());
        return report;
    }

    /** Boots UML on {@code cpus}, runs {@link #guest} there with {@code options}, adds what it printed. */
    private static void inUml(String name, List<String> options, UserModeLinux.Cpus cpus, Path work, Path cBench,
                              Bench.Report report) throws Exception {
        Path out = work.resolve(name + "-results.txt");
        Files.deleteIfExists(out);
        UserModeLinux.Run run = UserModeLinux.runJava(work.resolve(name), NetbufBench.class.getName(),
                List.of("uml-guest", cBench.toString(), out.toString()), options, Duration.ofMinutes(20), cpus);
        if (run.guestExit() != 0 || !Files.exists(out)) {
            throw new IllegalStateException("the UML part of the bench (" + name + ") failed (exit "
                    + run.guestExit() + ")\n" + run.tail());
        }
        for (String line : Files.readAllLines(out)) {
            report.verdict(line, !line.contains("MISSED"));
        }
    }

    /**
     * The guest JVM: as the server would run (serial GC on one CPU), with the bench's sizes passed on, the teardown
     * bench's own {@code bench.teardown.*} properties too, and {@code only} as its {@code bench.only}.
     */
    static List<String> guestJvmOptions(Bench.Sizes s, String only) {
        List<String> options = new java.util.ArrayList<>(List.of("-Xmx600m", "-XX:+UseSerialGC",
                "-Dbench.scale=" + s.scale(), "-Dbench.plugs=" + s.plugs(), "-Dbench.partials=" + s.partials(),
                "-Dbench.memory-buffers=" + s.memoryBuffers(), "-Dbench.memory-seconds=" + s.memorySeconds(),
                "-Dbench.only=" + only));
        System.getProperties().stringPropertyNames().stream().filter(p -> p.startsWith("bench.teardown.") || p.equals("bench.lifecycle-warmup")).sorted()
                .forEach(p -> options.add("-D" + p + "=" + System.getProperty(p)));
        return options;
    }

    /** Every UML bench, in order; each leaves the guest's kernel as it found it. */
    static void guest(Bench.Sizes sizes, Path cBench, Bench.Report report) throws Exception {
        try (CBaseline c = new CBaseline(cBench)) {
            if (selected("checkpoint")) {
                CheckpointBench.checkpoint(sizes, c, report);
            }
            // install before the epoch bench: removing its 1,024 ifbs leaves the kernel busy freeing them
            if (selected("install")) {
                try (HikariDataSource db = h2(guestTmp(), "install")) {
                    InstallBench.run(sizes, c, db, report);
                }
            }
            if (selected("epoch")) {
                CheckpointBench.epochAtScale(sizes, c, report);
            }
        }
        if (selected("memory")) {
            MemoryBench.run(sizes, guestTmp(), report);
        }
        if (selected("listing")) {
            ListingBench.run(sizes, guestTmp(), report);
        }
        // last: it makes and removes 1,024 ifbs too, and compares its own phases only (64, 1,024, 64 again)
        if (selected("teardown")) {
            try (HikariDataSource db = h2(guestTmp(), "teardown")) {
                TeardownBench.run(sizes, db, report);
            }
        }
    }

    private static Path guestTmp() {
        return Path.of(System.getProperty("java.io.tmpdir"), "netbuf-bench");
    }

    /** {@code -Dbench.only=host,recovery,checkpoint,epoch,install,memory,listing,teardown} runs some only. */
    static boolean selected(String bench) {
        String only = System.getProperty("bench.only", "");
        return only.isBlank() || List.of(only.split(",")).contains(bench);
    }

    /** A new pooled H2 file database under {@code dir}, migrated: the plugin's embedded default. */
    static HikariDataSource h2(Path dir, String name) {
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(NetbufDatabase.h2FileUrl(dir.resolve(name + "-" + System.nanoTime())));
        config.setUsername("sa");
        HikariDataSource ds = new HikariDataSource(config);
        NetbufDatabase.migrate(ds);
        return ds;
    }

    /** e.g. {@code 2 x AMD EPYC, 24 GiB}. */
    private static String machine() {
        try {
            List<String> cpuinfo = Files.readAllLines(Path.of("/proc/cpuinfo"));
            long cpus = cpuinfo.stream().filter(l -> l.startsWith("processor")).count();
            String model = cpuinfo.stream().filter(l -> l.startsWith("model name")).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse("?");
            long kib = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:"))
                    .findFirst().map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).orElse(0L);
            return cpus + " x " + model + ", " + Math.round(kib / 1024.0 / 1024.0) + " GiB";
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    private static String cpus() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Cpus_allowed_list:")).findFirst()
                    .map(l -> "pinned to " + l.substring(l.indexOf(':') + 1).strip()).orElse("?");
        } catch (java.io.IOException e) {
            return "?";
        }
    }
}
