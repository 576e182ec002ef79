package io.remus.netbuf.release;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.netlink.TestNamespace;
import io.remus.netbuf.netlink.Wire;
import io.remus.netbuf.uml.UserModeLinux;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * How long a guest is black-holed when the server's JVM is killed with SIGKILL, on a kernel with sch_plug
 * (user-mode-linux): a JVM started by src/uml/run-server.sh in host mode, as the server is, holds real frames in a
 * plug (Wire topology); the test kills that JVM and times the first held frame's arrival on the wire, with the
 * launcher's split (the JVM's exit noticed, the release command started, its JVM exited).
 * <ul>
 *   <li>In {@code make test}, {@value #DEFAULT_RUNS} kill of {@link HoldingServerStandIn}, which buffers a vif as the
 *       plugin does and begins an epoch (seconds to start, where the server takes tens of seconds).</li>
 *   <li>Long form, {@code -Dnetbuf.blackHole.runs=5 -Dnetbuf.blackHole.server=true}: the real server
 *       ({@code src/target/netbuf-server.jar}, built by {@code ./mvnw install -DskipTests}) with a Remus domain
 *       started and an epoch begun through its REST API, its vif's guest end in the domain's own namespace.</li>
 * </ul>
 * The command runs once before, as after any earlier exit of the server, so its class-data sharing archive exists
 * (the first run after a new jar or JDK makes it).
 */
@Tag("uml-guest")
class ServerCrashBlackHoleTest {

    static final int DEFAULT_RUNS = 1;
    static final int RUNS = Integer.getInteger("netbuf.blackHole.runs", DEFAULT_RUNS);
    static final boolean REAL_SERVER = Boolean.getBoolean("netbuf.blackHole.server");
    static final String PASSWORD = "black-hole-test";
    static final Pattern STAMP = Pattern.compile("(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) ");

    @Test
    void heldFramesReachTheWireSoonAfterTheServersJvmIsKilled() throws Exception {
        for (int run = 1; run <= RUNS; run++) {
            try (TestNamespace ns = TestNamespace.create()) {
                if (run == 1) {
                    assertThat(ReleaseCommand.run("--netbuf.namespace=" + ns.file()).exit()).isZero();
                }
                killAndTime(run, ns);
            }
        }
    }

    private static void killAndTime(int run, TestNamespace ns) throws Exception {
        Path log = Files.createTempFile(Path.of("/run/tmp"), "launcher", ".log");
        int port = 18000 + run;
        List<String> command = new ArrayList<>(List.of(ReleaseCommand.script("run-server.sh").toString()));
        if (REAL_SERVER) {
            Path jar = ReleaseCommand.repo().resolve("src/target/netbuf-server.jar");
            assertThat(jar).as("the server's jar: ./mvnw install -DskipTests").exists();
            command.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx300m",
                    "-Djava.io.tmpdir=/run/tmp", "-jar", jar.toString(), "--netbuf.namespace=" + ns.file(),
                    "--spring.datasource.url=jdbc:h2:file:" + log + "-db;WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE",
                    "--netbuf-server.demo.enabled=false"));
        } else {
            ns.addVif("vif7.0", "eth0");
            command.addAll(List.of("-cp", UserModeLinux.testClassPath(), HoldingServerStandIn.class.getName(),
                    "--netbuf.namespace=" + ns.file()));
        }
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        ReleaseCommand.environment(pb.environment());
        pb.environment().put("NETBUF_RUN_IN", "host");
        pb.environment().put("NETBUF_PORT", String.valueOf(port));
        pb.environment().put("NETBUF_ADMIN_PASSWORD", PASSWORD);
        Process launcher = pb.start();
        String domain = "bh" + run;
        try {
            String vif = "vif7.0";
            String guestNs = ns.guest;
            if (REAL_SERVER) {
                awaitLine(launcher, log, "Started NetbufServerApplication");
                String defined = post(port, "/api/domains", "{\"name\":\"" + domain
                        + "\",\"remus\":true,\"checkpoint\":false,\"vifs\":1}");
                vif = defined.replaceAll(".*\"hostVifs\":\\[\"([^\"]+)\".*", "$1");
                post(port, "/api/domains/" + domain + "/start", "");
                guestNs = "nbdom-" + domain;
            } else {
                awaitLine(launcher, log, HoldingServerStandIn.HOLDING);
            }
            try (Wire wire = new Wire(ns.name, guestNs, vif, "eth0")) {
                if (REAL_SERVER) {
                    post(port, "/api/netbuf/domains/" + domain + "/epochs", ""); // epoch 1 begins: its frames are held
                }
                String ifb = ns.linksOfType("ifb").getFirst();
                wire.send(1, 0, 5, 300);
                awaitQueued(ns, ifb, 5);
                assertThat(wire.await(1, 300)).as("held frames stay off the wire").isEmpty();

                ProcessHandle jvm = launcher.children().findFirst().orElseThrow();
                LocalTime killedAt = LocalTime.now(ZoneOffset.UTC);
                long killed = System.nanoTime();
                jvm.destroyForcibly();
                List<Wire.Frame> first = wire.await(1, 60_000);
                long firstFrameMillis = (System.nanoTime() - killed) / 1_000_000;
                assertThat(first).as("the first held frame reached the wire\n%s", Files.readString(log)).hasSize(1);
                assertThat(wire.await(4, 10_000)).extracting(Wire.Frame::seq).containsExactly(1, 2, 3, 4);
                assertThat(launcher.waitFor(1, TimeUnit.MINUTES)).isTrue();
                String out = Files.readString(log);
                assertThat(launcher.exitValue()).as("the launcher exits with the JVM's status\n%s", out).isEqualTo(137);
                assertThat(out).contains("released plug 4e42: on " + ifb + "(#", "done (status 0)");

                System.out.printf("black hole after SIGKILL of the %s's JVM (run %d): first held frame on the wire"
                                + " %d ms after the kill; after the kill: exit noticed +%d ms, release command started"
                                + " +%d ms, its JVM exited +%d ms; its main %s%n", REAL_SERVER ? "server" : "stand-in",
                        run, firstFrameMillis, sinceKill(killedAt, out, "the server's JVM exited"),
                        sinceKill(killedAt, out, "starting"), sinceKill(killedAt, out, "done (status"), took(out));
            }
        } finally {
            launcher.descendants().forEach(ProcessHandle::destroyForcibly);
            launcher.destroyForcibly();
            launcher.waitFor(30, TimeUnit.SECONDS);
            Files.deleteIfExists(log);
            if (REAL_SERVER) {
                Sh.tryRun("ip", "netns", "del", "nbdom-" + domain); // the killed server's domain is left running
            }
        }
    }

    /** POST with the admin's credentials; returns the body of a 2xx answer. */
    private static String post(int port, String path, String json) throws IOException, InterruptedException {
        String auth = Base64.getEncoder().encodeToString(("admin:" + PASSWORD).getBytes(StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofMinutes(2)).header("Authorization", "Basic " + auth)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build();
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as("POST %s: %s", path, r.body()).isBetween(200, 299);
            return r.body();
        }
    }

    private static void awaitLine(Process launcher, Path log, String line) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (!Files.readString(log).contains(line)) {
            assertThat(launcher.isAlive()).as("the launcher runs\n%s", Files.readString(log)).isTrue();
            assertThat(System.nanoTime()).as("%s within 5 min\n%s", line, Files.readString(log)).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static void awaitQueued(TestNamespace ns, String ifb, long frames) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (ns.qdisc(ifb, "plug").orElseThrow().path("qlen").asLong() < frames) {
            assertThat(System.nanoTime()).as("the plug queues %d frames: %s", frames, ns.qdiscs(ifb))
                    .isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    /** Milliseconds from the kill to the time stamp of the first log line that contains {@code text}. */
    private static long sinceKill(LocalTime killedAt, String log, String text) {
        String line = log.lines().filter(l -> l.contains(text)).findFirst().orElseThrow(() ->
                new AssertionError("no line with '" + text + "' in\n" + log));
        Matcher m = STAMP.matcher(line);
        assertThat(m.find()).as("a time stamp in: %s", line).isTrue();
        return Duration.between(killedAt, LocalTime.parse(m.group(1))).toMillis();
    }

    private static String took(String log) {
        Matcher m = Pattern.compile("\\(took (\\d+ ms)\\)").matcher(log);
        return m.find() ? "took " + m.group(1) : "(no time)";
    }
}
