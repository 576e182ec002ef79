package io.remus.netbuf.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The server as {@code make run} runs it (the same launcher, inside user-mode-linux, its packaged defaults) holding
 * {@code domains × vifs} PLUGGED buffers, created and started through its REST API, every domain checkpointed every
 * 100 ms by the built-in loop. Prints the live heap after a full GC (the GC the heap dump endpoint runs, read from
 * the server's GC log), the checkpoints the loop managed, and what the whole server allocated per domain checkpoint
 * (Micrometer's {@code jvm.gc.memory.allocated}, which counts at each collection; a full GC at both ends of the
 * window makes it exact). Then as many domains again without the checkpoint loop, started and stopped in the same
 * server: on UML's one CPU the checkpoints of the domains already started (two plug changes per buffer per tick,
 * which cost from C what they cost here) take their share of the time to start and stop the others.
 *
 * <p>Not a test: {@code make bench} runs {@link #main} after the plugin's benches ({@code 128 × 8}, the REST API's
 * most vifs per domain), and {@link ServerMemoryBenchSmokeTest} the short form.
 */
public final class ServerMemoryBench {

    static final String PASSWORD = "server-memory-bench";
    static final long MIB = 1024 * 1024;
    /** e.g. {@code [41.2s][info][gc] GC(37) Pause Full (Heap Dump Initiated GC) 112M->31M(214M) 420.1ms}. */
    static final Pattern FULL_GC = Pattern.compile("Pause Full \\(Heap Dump Initiated GC\\) (\\d+)([KMG])->(\\d+)([KMG])");

    record Sizes(int domains, int vifs, int seconds) {
        static Sizes bench() {
            return new Sizes(Integer.getInteger("bench.server-domains", 128), 8,
                    Integer.getInteger("bench.memory-seconds", 20));
        }

        static Sizes smoke() {
            return new Sizes(2, 2, 3);
        }

        int buffers() {
            return domains * vifs;
        }
    }

    private ServerMemoryBench() {
    }

    /** {@code ServerMemoryBench OUT}: the bench's lines, appended to OUT (make bench's results.txt). */
    public static void main(String[] args) throws Exception {
        List<String> lines = run(Sizes.bench());
        lines.forEach(System.out::println);
        Files.write(Path.of(args[0]), lines, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
        System.exit(0);
    }

    static List<String> run(Sizes sizes) throws Exception {
        Path gcLog = Path.of("target").toAbsolutePath().resolve("memory-gc-" + ProcessHandle.current().pid() + ".log");
        Files.deleteIfExists(gcLog);
        List<String> jvm = new ArrayList<>(List.of("-Xlog:gc:file=" + gcLog));
        // a profile of the server, e.g. -Dbench.server-jfr=duration=60s,filename=/tmp/server.jfr (written when the
        // recording ends: the server is killed, not stopped, at the bench's end)
        String jfr = System.getProperty("bench.server-jfr");
        if (jfr != null) {
            jvm.add("-XX:StartFlightRecording=settings=profile," + jfr);
        }
        UmlServer server = UmlServer.start("memory", PASSWORD, Duration.ofMinutes(6), jvm,
                List.of("--netbuf-server.demo.enabled=false",
                        "--management.endpoints.web.exposure.include=health,prometheus,heapdump",
                        "--management.endpoint.heapdump.access=unrestricted",
                        "--netbuf.checkpoint.interval=100ms", "--logging.level.root=WARN"));
        try {
            boolean basic = "basic".equals(System.getProperty("bench.server-auth", "session"));
            Http admin = basic ? new Http(server.port).basic("admin", PASSWORD)
                    : new Http(server.port).session("admin", PASSWORD);
            boolean checkpoint = Boolean.parseBoolean(System.getProperty("bench.server-checkpoint", "true"));
            double startSeconds = startAll(admin, server, "mem", sizes, checkpoint);
            double ticks = metric(admin, "netbuf_checkpoint_tick_seconds_count");
            double tickSeconds = metric(admin, "netbuf_checkpoint_tick_seconds_sum");
            JsonNode buffers = admin.get("/api/netbuf/buffers").json();
            long plugged = 0;
            for (JsonNode b : buffers) {
                plugged += b.path("state").asText().equals("PLUGGED") ? 1 : 0;
            }
            if (plugged != sizes.buffers()) {
                throw new IllegalStateException(plugged + " of " + sizes.buffers() + " buffers PLUGGED: " + buffers
                        + "\n" + server.logTail());
            }

            Thread.sleep(sizes.seconds() * 1000L / 2); // warm-up
            // Micrometer counts what was allocated at each GC: a full GC at both ends of the window makes it exact
            fullGc(admin, gcLog, 1);
            double begun0 = metric(admin, "netbuf_epochs_begun_total");
            double allocated0 = metric(admin, "jvm_gc_memory_allocated_bytes_total");
            long w0 = System.nanoTime();
            Thread.sleep(sizes.seconds() * 1000L);
            long live = fullGc(admin, gcLog, 2);
            double begun = metric(admin, "netbuf_epochs_begun_total") - begun0;
            double allocated = metric(admin, "jvm_gc_memory_allocated_bytes_total") - allocated0;
            double window = (System.nanoTime() - w0) / 1e9;
            boolean heapOk = live < 64 * MIB;
            List<String> lines = new ArrayList<>();
            double stopSeconds = stopAll(admin, server, "mem", sizes);
            // the same again without the checkpoint loop, in the same server (warmer now): what the checkpoints of
            // the domains already started cost the ones starting (on UML's one CPU)
            double bareStart = startAll(admin, server, "bare", sizes, false);
            double bareStop = stopAll(admin, server, "bare", sizes);
            lines.add(String.format("user-mode-linux, the server as make run starts it, holding %d PLUGGED buffers of %d"
                            + " domains, each domain checkpointed every 100 ms:", sizes.buffers(), sizes.domains()));
            lines.add(String.format("  created and started through its REST API in %.1f s (target <= 15 s) %s",
                    startSeconds, startSeconds <= 15 ? "met" : "MISSED"));
            lines.add(String.format("  while they started, the checkpoint loop's %.0f ticks took %.1f s of it (%.1f%%), %.1f ms"
                    + " each on average (no target)", ticks, tickSeconds, 100 * tickSeconds / startSeconds,
                    ticks == 0 ? 0 : 1000 * tickSeconds / ticks));
            lines.add(String.format("  stopped through its REST API in %.1f s (target <= 15 s) %s", stopSeconds,
                    stopSeconds <= 15 ? "met" : "MISSED"));
            lines.add(String.format("  then %d more domains without the checkpoint loop, in the same server (so warmer): created"
                    + " and started in %.1f s, stopped in %.1f s (no target)", sizes.domains(), bareStart, bareStop));
            lines.add(String.format("  live heap after a full GC %.1f MiB (the GC of a heap dump, from the server's GC"
                    + " log) (target < 64 MiB) %s", live / (double) MIB, heapOk ? "met" : "MISSED"));
            lines.add(String.format("  the loop managed %.1f checkpoints/s per domain (10 asked); the whole server"
                            + " allocated %.0f KiB per domain checkpoint (the database bookkeeping, HTTP and metrics"
                            + " included)", begun / window / sizes.domains(),
                    begun == 0 ? 0 : allocated / 1024.0 / begun));
            return lines;
        } finally {
            server.kill(); // whatever the stops left is thrown away with the run
        }
    }

    /** Creates and starts {@code prefix0..} through the REST API; the seconds it took, all told. */
    private static double startAll(Http admin, UmlServer server, String prefix, Sizes sizes, boolean checkpoint) {
        long t0 = System.nanoTime();
        long creating = 0;
        for (int d = 0; d < sizes.domains(); d++) {
            String name = prefix + d;
            long c0 = System.nanoTime();
            expect(admin.post("/api/domains", "{\"name\":\"" + name + "\",\"remus\":true,\"checkpoint\":"
                    + checkpoint + ",\"vifs\":" + sizes.vifs() + "}"), 201, server);
            creating += System.nanoTime() - c0;
            expect(admin.post("/api/domains/" + name + "/start"), 200, server);
            if (d % 16 == 15) {
                System.out.printf("%s: %d domains at %.1f s%n", prefix, d + 1, (System.nanoTime() - t0) / 1e9);
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("%s: create %.1f ms/domain, start %.1f ms/domain%n", prefix,
                creating / 1e6 / sizes.domains(), (seconds * 1e9 - creating) / 1e6 / sizes.domains());
        return seconds;
    }

    private static double stopAll(Http admin, UmlServer server, String prefix, Sizes sizes) {
        long s0 = System.nanoTime();
        for (int d = 0; d < sizes.domains(); d++) {
            expect(admin.post("/api/domains/" + prefix + d + "/stop"), 200, server);
        }
        return (System.nanoTime() - s0) / 1e9;
    }

    private static void expect(Http.Response r, int status, UmlServer server) {
        if (r.status() != status) {
            throw new IllegalStateException("expected " + status + ", got " + r + "\n" + server.logTail());
        }
    }

    /** One sample of a counter on the Prometheus endpoint (summed over its series). */
    static double metric(Http http, String name) {
        Http.Response r = http.getText("/actuator/prometheus");
        double sum = 0;
        boolean found = false;
        for (String line : r.body().lines().toList()) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        if (!found) {
            throw new IllegalStateException("no " + name + " on /actuator/prometheus: " + r.status());
        }
        return sum;
    }

    /**
     * A heap dump, for the full GC it runs first (its body is thrown away); returns the heap after that GC, the
     * {@code nth} such line of the GC log.
     */
    static long fullGc(Http admin, Path gcLog, int nth) throws Exception {
        int status = admin.getDiscarding("/actuator/heapdump");
        if (status != 200) {
            throw new IllegalStateException("the heap dump endpoint answered " + status);
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            List<Long> after = new ArrayList<>();
            if (Files.exists(gcLog)) {
                for (String line : Files.readAllLines(gcLog)) {
                    Matcher m = FULL_GC.matcher(line);
                    if (m.find()) {
                        after.add(bytes(Long.parseLong(m.group(3)), m.group(4)));
                    }
                }
            }
            if (after.size() >= nth) {
                return after.get(nth - 1);
            }
            Thread.sleep(200); // the log reaches the host's file through hostfs
        }
        throw new IllegalStateException("no 'Pause Full (Heap Dump Initiated GC)' number " + nth + " in " + gcLog);
    }

    private static long bytes(long n, String unit) {
        return switch (unit) {
            case "K" -> n * 1024;
            case "M" -> n * MIB;
            default -> n * 1024 * MIB;
        };
    }
}
