package io.remus.netbuf.release;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.netlink.TestNamespace;
import io.remus.netbuf.netlink.Wire;
import io.remus.netbuf.uml.UserModeLinux;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * How long a guest is black-holed when the server's JVM is killed with SIGKILL, on a kernel with sch_plug
 * (user-mode-linux): {@link HoldingServerStandIn}, started by src/uml/run-server.sh in host mode as the server is,
 * holds real frames in its plug (Wire topology); the test kills that JVM and times the first held frame's arrival
 * on the wire, with the launcher's split (the JVM's exit noticed, the release command started, the release done).
 * The command runs once before, as after any earlier exit of the server, so its class-data sharing archive exists
 * (the first run after a new jar or JDK makes it). {@value #DEFAULT_RUNS} kill here; the long form:
 * {@code -Dnetbuf.blackHole.runs=5}.
 */
@Tag("uml-guest")
class ServerCrashBlackHoleTest {

    static final int DEFAULT_RUNS = 1;
    static final int RUNS = Integer.getInteger("netbuf.blackHole.runs", DEFAULT_RUNS);
    static final Pattern STAMP = Pattern.compile("(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) ");

    @Test
    void heldFramesReachTheWireSoonAfterTheServersJvmIsKilled() throws Exception {
        for (int run = 1; run <= RUNS; run++) {
            try (TestNamespace ns = TestNamespace.create()) {
                ns.addVif("vif7.0", "eth0");
                if (run == 1) {
                    assertThat(ReleaseCommand.run("--netbuf.namespace=" + ns.file()).exit()).isZero();
                }
                try (Wire wire = new Wire(ns, "vif7.0", "eth0")) {
                    killAndTime(run, ns, wire);
                }
            }
        }
    }

    private static void killAndTime(int run, TestNamespace ns, Wire wire) throws Exception {
        Path log = Files.createTempFile(Path.of("/run/tmp"), "launcher", ".log");
        ProcessBuilder pb = new ProcessBuilder(ReleaseCommand.script("run-server.sh").toString(), "-cp",
                UserModeLinux.testClassPath(), HoldingServerStandIn.class.getName(), "--netbuf.namespace=" + ns.file())
                .redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        ReleaseCommand.environment(pb.environment());
        pb.environment().put("NETBUF_RUN_IN", "host");
        Process launcher = pb.start();
        try {
            awaitLine(launcher, log, HoldingServerStandIn.HOLDING);
            wire.send(1, 0, 5, 300);
            awaitQueued(ns, 5);
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
            assertThat(out).contains("released plug 4e42: on nbifb7(#", "done (status 0)");

            System.out.printf("black hole after SIGKILL of the server's JVM (run %d): first held frame on the wire"
                            + " %d ms after the kill; after the kill: exit noticed +%d ms, release command started"
                            + " +%d ms, its JVM exited +%d ms; its main %s%n", run, firstFrameMillis,
                    sinceKill(killedAt, out, "the server's JVM exited"), sinceKill(killedAt, out, "starting"),
                    sinceKill(killedAt, out, "done (status"), took(out));
        } finally {
            launcher.descendants().forEach(ProcessHandle::destroyForcibly);
            launcher.destroyForcibly();
            launcher.waitFor(30, TimeUnit.SECONDS);
            Files.deleteIfExists(log);
        }
    }

    private static void awaitLine(Process launcher, Path log, String line) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (!Files.readString(log).contains(line)) {
            assertThat(launcher.isAlive()).as("the launcher runs\n%s", Files.readString(log)).isTrue();
            assertThat(System.nanoTime()).as("%s within 3 min\n%s", line, Files.readString(log)).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static void awaitQueued(TestNamespace ns, long frames) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (ns.qdisc("nbifb7", "plug").orElseThrow().path("qlen").asLong() < frames) {
            assertThat(System.nanoTime()).as("the plug queues %d frames: %s", frames, ns.qdiscs("nbifb7"))
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
