package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.netlink.Wire;
import io.remus.netbuf.xen.Dom0Kernel;
import io.remus.netbuf.xen.XenDom0Run;
import io.remus.netbuf.xenstore.Xenstore;
import io.remus.netbuf.xlremus.XlRemusFollower;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The Remus criterion, in Xen's dom0, with the real server ({@code netbuf-server.hypervisor=xen}): the domU sends
 * numbered frames without end; a sniffer on another port of xenbr0 records every number the wire sees; {@code xl
 * remus -F -n} replicates the domU to a backup on this dom0; the primary is killed mid-stream as a host dies (its
 * sending xl and libxl-save-helper SIGKILLed, the domain destroyed at once: xl destroy alone hangs the sender); the
 * backup resumes from its last checkpoint and sends on from number S. Output commit held iff the wire saw no number
 * &ge; S before the backup came. Each failover's backup is the next round's primary.
 *
 * <p>With the domain marked (the follower on), {@code netbuf.dom0.failovers} rounds (default 2) must all hold; then
 * the control, unmarked (no buffering, as Debian's xl remus -n is), {@code netbuf.dom0.control-failovers} rounds
 * (default 1) must show the violation at least once. The kill is placed at another point of the checkpoint cycle
 * each round ({@link KillAt}), found from xenstore (the request, the guest's ack) and from the primary's vif (its
 * frames stop while the guest is suspended and come again when it is resumed). One line per round.
 */
@Tag(XenDom0Run.TAG)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class XlRemusFailoverDom0Test {

    static final String PASSWORD = "xl-remus-test-password";
    static final String DOMU = XlRemusDom0Server.DOMU;
    /** Where in the checkpoint cycle a round kills the primary. */
    enum KillAt {
        /** At the suspend request, before the guest has acknowledged it (if this JVM is quick enough). */
        REQUEST,
        /** 30 ms after the guest's ack: it is suspended, libxl copies its pages. */
        COPY,
        /** The moment the guest's stream comes again: resumed, the checkpoint not yet committed. */
        RESUME,
        /** 150 ms after the resume: the checkpoint committed, the guest runs toward the next request. */
        RUNNING
    }
    static final Duration BACKUP_UP = Duration.ofSeconds(240);
    static final int STREAM_EPOCH = 77;
    static final int STREAM_INTERVAL_MICROS = 20_000;

    /** One round's outcome. */
    record Round(int round, boolean followed, long requests, long checkpoints, long lateCloses, Double holdP50,
                 Double holdP99, Double closeP50, Double closeP99, KillAt killAt, String killPhase, int s, int highestFromPrimary, int primaryFrames,
                 double failoverSeconds) {

        boolean violated() {
            return highestFromPrimary >= s;
        }

        String line() {
            return String.format(Locale.ROOT, "[xl-remus] round %d %s: %d suspend requests, %d checkpoints followed,"
                            + " %d late closes, close p50 %s p99 %s ms, hold p50 %s p99 %s ms; killed at %s (%s); S=%d, highest from the primary %d (%d frames this round);"
                            + " failover %.1f s: %s", round, followed ? "followed" : "control (unbuffered)", requests,
                    checkpoints, lateCloses, ms(closeP50), ms(closeP99), ms(holdP50), ms(holdP99), killAt, killPhase, s, highestFromPrimary, primaryFrames, failoverSeconds,
                    violated() ? "VIOLATION (the wire saw " + (highestFromPrimary - s + 1) + " numbers >= S)"
                            : "held");
        }

        private static String ms(Double v) {
            return v == null ? "-" : String.format(Locale.ROOT, "%.0f", v);
        }
    }

    final Path database = Path.of(System.getProperty("java.io.tmpdir"), "xl-remus-" + System.nanoTime());
    /** xl's logs go to the run's directory, which the harness brings back. */
    final Path logs = Path.of(System.getProperty(XenDom0Run.DOMU_CONFIG_PROPERTY)).resolveSibling("xl-remus");
    final List<Round> rounds = new ArrayList<>();
    XlRemusDom0Server dom0;
    Wire wire;
    int round;

    @BeforeAll
    void start() throws IOException {
        Files.createDirectories(logs);
        dom0 = XlRemusDom0Server.start(database, PASSWORD);
        int domid = XlRemusDom0Server.domid();
        wire = Wire.onXenBridge("xenbr0", "vif" + domid + ".0", false);
        wire.stream(STREAM_EPOCH, 0, STREAM_INTERVAL_MICROS);
        XenServerDom0Test.await("the stream on the wire", Duration.ofSeconds(60),
                () -> wire.stamped().size() > 20 ? Optional.of(dom0.anonymous.get("/api/domains").json()) : Optional.empty());
    }

    @AfterAll
    void stop() {
        rounds.forEach(r -> System.out.println(r.line()));
        Sh.tryRun("pkill", "-9", "-f", "xl -vvv remus");
        if (wire != null) {
            wire.close();
        }
        if (dom0 != null) {
            dom0.close();
        }
    }

    @Test
    @Order(1)
    void withTheFollowerNoFailoverLetsOutANumberTheBackupSendsAgain() throws Exception {
        assertThat(dom0.admin.put("/api/domains/" + DOMU + "/remus", "").status()).isEqualTo(200);
        int n = Integer.getInteger("netbuf.dom0.failovers", 2);
        List<Round> followed = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Round r = failover(true);
            System.out.println(r.line());
            followed.add(r);
        }
        assertThat(followed).as("rounds that let out a number the backup sent again").noneMatch(Round::violated);
        assertThat(followed).allSatisfy(r -> assertThat(r.checkpoints()).as("checkpoints followed").isPositive());
    }

    @Test
    @Order(2)
    void withoutBufferingTheSameFailoverLetsThemOut() throws Exception {
        assertThat(dom0.admin.delete("/api/domains/" + DOMU + "/remus").status()).isEqualTo(204);
        int n = Integer.getInteger("netbuf.dom0.control-failovers", 1);
        List<Round> control = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Round r = failover(false);
            System.out.println(r.line());
            control.add(r);
        }
        System.out.printf("[xl-remus] control: %d of %d rounds let out numbers >= S%n",
                control.stream().filter(Round::violated).count(), n);
        assertThat(control).as("the control shows the violation the follower removes").anyMatch(Round::violated);
    }

    /** One round: replicate the current primary, kill it mid-stream, wait for the backup to send. */
    Round failover(boolean followed) throws Exception {
        int round = ++this.round;
        int seenBefore = wire.stamped().size();
        int primary = XlRemusDom0Server.domid();
        if (followed) {
            XenServerDom0Test.await("the primary " + primary + " followed", BACKUP_UP, () -> dom0.domain()
                    .filter(d -> d.get("buffered").asBoolean() && d.get("domid").asInt() == primary
                            && !d.get("xlRemus").isNull()));
        }
        if (followed && round == 1) {
            System.out.println("[xl-remus] the follower's thread runs at nice " + followerNice());
        }
        Path log = logs.resolve("round-" + round + ".log");
        Process remus = new ProcessBuilder("xl", "-vvv", "remus", "-F", "-n", "-i", "200", "-s", "", DOMU,
                "xl -vvv migrate-receive -r").redirectErrorStream(true).redirectOutput(log.toFile()).start();
        // the followed rounds from REQUEST on, the control's from RUNNING back (where no buffering shows at once)
        int n = KillAt.values().length;
        int nth = (int) rounds.stream().filter(r -> r.followed() == followed).count();
        KillAt killAt = KillAt.values()[followed ? nth % n : n - 1 - nth % n];
        String path = "/local/domain/" + primary + "/control/shutdown";
        Path rx = Path.of("/sys/class/net/vif" + primary + ".0/statistics/rx_packets");
        String phase;
        long killedAt;
        try (Xenstore xs = Xenstore.open()) {
            // the first checkpoints: a few, different in number each round
            awaitRequests(xs, path, 6 + round % 5, remus, log);
            List<ProcessHandle> sender = sender(remus);
            assertThat(sender).as("the sending xl and its save helper").hasSize(2);
            long request = awaitRequests(xs, path, 1, remus, log);
            phase = placeKill(killAt, xs, path, rx, request);
            killedAt = epochNanos();
            kill(sender);
            phase += String.format(Locale.ROOT, "; killed %.0f ms after the request", (System.nanoTime() - request) / 1e6);
        }
        XlRemusFollower.Status status = followed ? follower().status(DOMU).filter(f -> f.domid() == primary)
                .orElseThrow(() -> new AssertionError("the follower has no status of domain " + primary)) : null;
        Sh.run("xl", "destroy", String.valueOf(primary));
        long destroyed = epochNanos();
        JsonNode backup = XenServerDom0Test.await("the backup running as " + DOMU, BACKUP_UP,
                () -> dom0.domain().filter(d -> d.get("domid").asInt() != primary && d.get("state").asText()
                        .equals("CONNECTED")));
        // The primary sends nothing once xl destroy has returned; the backup only once it is restored and unpaused,
        // seconds later. So the frames the kernel received up to 1 s after the destroy are the primary's, and the
        // backup's first is the first after that, which must come after a clear gap. (The sniffer reads late under
        // load: its receive times are the kernel's, and it is made to catch up before the frames are counted.)
        long splitAt = destroyed + 1_000_000_000L;
        XenServerDom0Test.await("the backup's frames on the wire", Duration.ofSeconds(180), () -> {
            wire.sync();
            return wire.stamped().stream().filter(f -> f.at() > splitAt).count() > 20 ? Optional.of(backup)
                    : Optional.empty();
        });
        List<Wire.Stamped> all = wire.stamped();
        int split = seenBefore;
        while (all.get(split).at() <= splitAt) {
            split++;
        }
        List<Wire.Stamped> fromPrimary = all.subList(0, split);
        Wire.Stamped first = all.get(split);
        System.out.println("[xl-remus] round " + round + ": the wire's last frames from the primary, then the backup's"
                + " first (seq @ ms from the kill): " + around(all, split, killedAt));
        assertThat(first.at() - all.get(split - 1).at()).as("a gap of over 1 s between the primary's last frame and"
                + " the backup's first (else the split is not sure)").isGreaterThan(1_000_000_000L);
        if (remus.isAlive()) {
            remus.destroyForcibly();
        }
        int highest = fromPrimary.subList(seenBefore, fromPrimary.size()).stream().filter(f -> f.epoch() == STREAM_EPOCH).mapToInt(Wire.Stamped::seq).max()
                .orElse(-1);
        Round r = new Round(round, followed, status == null ? 0 : status.requests(),
                status == null ? 0 : status.checkpoints(), status == null ? 0 : status.lateCloses(),
                status == null ? null : status.holdP50Millis(), status == null ? null : status.holdP99Millis(),
                status == null ? null : status.closeP50Millis(), status == null ? null : status.closeP99Millis(),
                killAt, phase, first.seq(), highest, fromPrimary.size() - seenBefore,
                (first.at() - killedAt) / 1e9);
        rounds.add(r);
        return r;
    }

    /** Waits for {@code n} more suspend requests of the domain; returns when the last was seen (System.nanoTime). */
    static long awaitRequests(Xenstore xs, String path, int n, Process remus, Path log) throws IOException {
        String token = "xl-remus-test";
        xs.watch(path, token);
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(300).toNanos();
            boolean pending = xs.read(path).orElse("").equals("suspend");
            int seen = 0;
            while (true) {
                if (!remus.isAlive()) {
                    throw new AssertionError("xl remus ended (" + remus.exitValue() + "):\n"
                            + tail(Files.readString(log), 30));
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no " + n + " suspend requests of " + path + " within 300 s:\n"
                            + tail(Files.readString(log), 30));
                }
                if (xs.awaitEvent(200).isPresent()) {
                    boolean now = xs.read(path).orElse("").equals("suspend");
                    if (now && !pending && ++seen == n) {
                        return System.nanoTime();
                    }
                    pending = now;
                }
            }
        } finally {
            xs.unwatch(path, token);
        }
    }

    /** Waits for the point {@code at} of the cycle begun by the request seen at {@code request}; says what it saw. */
    static String placeKill(KillAt at, Xenstore xs, String path, Path rx, long request) throws Exception {
        if (at == KillAt.REQUEST) {
            return xs.read(path).orElse("").equals("suspend") ? "the request not yet acknowledged"
                    : "the guest had acknowledged already";
        }
        long deadline = System.nanoTime() + 3_000_000_000L;
        while (xs.read(path).orElse("").equals("suspend") && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        long ack = System.nanoTime();
        String acked = String.format(Locale.ROOT, "ack seen %.0f ms after the request", (ack - request) / 1e6);
        if (at == KillAt.COPY) {
            Thread.sleep(30);
            return acked;
        }
        // the first frame after a resume is netfront's gratuitous ARP: the stream is back once two more came
        long frames = Long.parseLong(Files.readString(rx).strip());
        while (Long.parseLong(Files.readString(rx).strip()) < frames + 3 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        long resumed = System.nanoTime();
        String resume = System.nanoTime() < deadline
                ? String.format(Locale.ROOT, "%s, the stream again %.0f ms after it", acked, (resumed - ack) / 1e6)
                : acked + ", the stream not again within 3 s of the request";
        if (at == KillAt.RUNNING) {
            Thread.sleep(150);
        }
        return resume;
    }

    /**
     * The sending side of {@code xl remus}: its save helper ({@code libxl-save-helper --save-domain}, a descendant
     * of the sending xl, as the receiving xl is with {@code -s ''}), then the sending xl. Found before the kill point
     * so that the kill itself is two system calls: spawning {@code kill} from this JVM took seconds under TCG.
     */
    static List<ProcessHandle> sender(Process remus) {
        List<ProcessHandle> sender = new ArrayList<>(remus.toHandle().descendants().filter(p -> p.info().commandLine()
                .filter(c -> c.contains("libxl-save-helper") && c.contains("--save-domain")).isPresent()).toList());
        sender.add(remus.toHandle());
        return sender;
    }

    /**
     * SIGKILL of the sending xl and its save helper, as if their host had died; then of any save helper still
     * there (one not found among xl's descendants keeps the stream open, and the backup then waits for ever:
     * seen once in the guest-view test).
     */
    static void kill(List<ProcessHandle> sender) {
        sender.forEach(ProcessHandle::destroyForcibly);
        ProcessHandle.allProcesses().filter(p -> !sender.contains(p)).filter(p -> p.info().commandLine()
                .filter(c -> c.contains("libxl-save-helper") && c.contains("--save-domain")).isPresent())
                .forEach(p -> {
                    System.out.println("[xl-remus] killing a save helper still there: " + p.pid() + " "
                            + p.info().commandLine().orElse(""));
                    p.destroyForcibly();
                });
    }

    static void kill(Process remus) {
        kill(sender(remus));
    }

    XlRemusFollower follower() {
        return dom0.bean(XlRemusFollower.class);
    }

    /** The nice value of this JVM's thread netbuf-xl-remus (field 19 of its stat), or "none" if there is none. */
    static String followerNice() throws IOException {
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                if (Files.readString(task.resolve("comm")).strip().equals("netbuf-xl-remus")) {
                    String stat = Files.readString(task.resolve("stat"));
                    return stat.substring(stat.lastIndexOf(')') + 2).split(" ")[16];
                }
            }
        }
        return "none";
    }

    static long epochNanos() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** The frames around the split, each with its receive time in ms from {@code t0} (epoch ns). */
    static String around(List<Wire.Stamped> all, int split, long t0) {
        StringBuilder out = new StringBuilder();
        for (int i = Math.max(0, split - 4); i < Math.min(all.size(), split + 3); i++) {
            out.append(i == split ? " | " : " ").append(all.get(i).seq())
                    .append(String.format(Locale.ROOT, "@%.0f", (all.get(i).at() - t0) / 1e6));
        }
        return out.toString().strip();
    }

    static String tail(String text, int lines) {
        List<String> all = text.lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }
}
