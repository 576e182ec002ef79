package io.remus.netbuf.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** What the benches share: their sizes, the report they add lines to, and a shell for the baselines' setup. */
final class Bench {

    /**
     * How much each bench measures. {@link #forBench} is what {@code make bench} runs (scaled by
     * {@code -Dbench.scale=F}); {@link #forSmokeTest} is the short form {@code make test} runs to see that every bench
     * works, with no verdict taken from its figures.
     */
    record Sizes(double scale, int plugs, int domains, int partials, int memoryBuffers, int memorySeconds,
                 boolean smoke) {

        static Sizes forBench() {
            double scale = Double.parseDouble(System.getProperty("bench.scale", "1"));
            return new Sizes(scale, Integer.getInteger("bench.plugs", 1024), 64,
                    Integer.getInteger("bench.partials", 1000), Integer.getInteger("bench.memory-buffers", 1024),
                    Integer.getInteger("bench.memory-seconds", 20), false);
        }

        static Sizes forSmokeTest() {
            return new Sizes(0.02, 16, 4, 16, 16, 2, true);
        }

        /** {@code n} scaled, at least {@code min}. */
        int n(int n, int min) {
            return (int) Math.max(min, Math.round(n * scale));
        }
    }

    /** Lines of the report, and whether every target so far was met. */
    static final class Report {
        final List<String> lines = new ArrayList<>();
        boolean allMet = true;

        void add(String line) {
            lines.add(line);
            System.out.println(line);
            System.out.flush();
        }

        /** A line with a verdict: a MISSED target fails the run. */
        void verdict(String line, boolean met) {
            add(line);
            allMet &= met;
        }
    }

    private Bench() {
    }

    static long time(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return System.nanoTime() - t0;
    }

    /**
     * The time of a round of plug changes, ending with a yield of the CPU inside it (Thread.yield is
     * sched_yield(2); the C baseline's rounds end the same way). A release_one schedules the ifb's transmit
     * softirq, which the kernel may run after the system call has returned: in ksoftirqd, once the round's
     * process blocks. Without the yield, a round's softirq work runs inside whatever the CPU does next, which is
     * the other side's round: a batch of 1,024 release_one measured half its own cost and charged the rest to C.
     */
    static long timePlugRound(Runnable r) {
        return time(() -> {
            r.run();
            Thread.yield();
        });
    }

    /** The 1, 5 and 15 minute load averages, for the report: the figures' noise depends on them. */
    static String load() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    static String sh(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
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

    /** Runs {@code ip -batch} or {@code tc -batch} (the {@code tool}) over {@code lines}. */
    static void batch(String tool, List<String> lines, String... options) {
        try {
            Path file = Files.createTempFile("netbuf-bench", ".batch");
            try {
                Files.write(file, lines);
                List<String> cmd = new ArrayList<>(List.of(tool));
                cmd.addAll(List.of(options));
                cmd.add("-batch");
                cmd.add(file.toString());
                sh(cmd.toArray(String[]::new));
            } finally {
                Files.delete(file);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot write a batch file for " + tool, e);
        }
    }
}
