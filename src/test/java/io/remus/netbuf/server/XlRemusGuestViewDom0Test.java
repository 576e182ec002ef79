package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.netlink.Wire;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What the guest sees (issue 11, item 4), in Xen's dom0 with the real server: ping round trips from a peer on
 * xenbr0 to the domU and a TCP transfer from the domU (busybox httpd serving 1 MiB), measured without xl remus, and
 * with {@code xl remus -F -n} at {@code -i 200} and {@code -i 100}, each unbuffered (Debian's xl remus as it is) and
 * followed (the domain marked: every reply and every segment the domU sends waits for its checkpoint). Each xl
 * remus configuration ends with a failover (kill and destroy of the primary), its backup the next one's primary. A
 * line per configuration; not a target: under QEMU's TCG a checkpoint cycle takes 1-2 s whatever -i says, so the
 * figures show the shape, not what real hardware gives. The followed vifs have the server's null tap
 * ({@code netbuf.copy-held-frames}, on by default). Run alone (not in the default selection):
 * {@code make test-xen-guest-view}.
 */
@Tag(XenDom0Run.TAG)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class XlRemusGuestViewDom0Test {

    static final String PASSWORD = "guest-view-test-password";
    static final String DOMU = XlRemusDom0Server.DOMU;
    static final String PEER_NS = "netbufpeer";
    static final String PEER_IP = "169.254.71.1";
    static final String DOMU_IP = "169.254.71.2";
    static final int BLOB_BYTES = 1 << 20;
    static final int PINGS = Integer.getInteger("netbuf.dom0.pings", 40);
    static final Duration BACKUP_UP = Duration.ofSeconds(240);
    static final Pattern RTT = Pattern.compile("icmp_seq=\\d+ ttl=\\d+ time=([0-9.]+) ms");
    /** ping's summary; with -w it sends until PINGS replies came, so more requests than PINGS under a long RTT. */
    static final Pattern SENT = Pattern.compile("(\\d+) packets transmitted");

    /** One configuration's figures. */
    record View(String config, int sent, int replies, int duplicates, double rttP50, double rttP99,
                double transferSeconds, long requests, long checkpoints) {

        String line() {
            return String.format(Locale.ROOT, "[guest-view] %-26s ping: %d replies to %d requests (%d duplicates),"
                            + " RTT p50 %.0f ms p99 %.0f ms; 1 MiB from the domU over TCP in %.1f s (%.0f KiB/s)%s",
                    config, replies, sent, duplicates, rttP50, rttP99, transferSeconds, 1024 / transferSeconds,
                    requests < 0 ? "" : String.format(Locale.ROOT, "; follower: %d suspend requests, %d checkpoints",
                            requests, checkpoints));
        }
    }

    final Path database = Path.of(System.getProperty("java.io.tmpdir"), "guest-view-" + System.nanoTime());
    final Path logs = Path.of(System.getProperty(XenDom0Run.DOMU_CONFIG_PROPERTY)).resolveSibling("guest-view");
    final List<View> views = new ArrayList<>();
    XlRemusDom0Server dom0;

    @BeforeAll
    void start() throws Exception {
        Files.createDirectories(logs);
        dom0 = XlRemusDom0Server.start(database, PASSWORD);
        // the peer: a veth port of xenbr0 in a namespace of its own
        Sh.run("ip", "netns", "add", PEER_NS);
        Sh.run("ip", "link", "add", "nbpeer0", "type", "veth", "peer", "name", "eth0", "netns", PEER_NS);
        Sh.run("ip", "link", "set", "nbpeer0", "master", "xenbr0");
        Sh.run("ip", "link", "set", "nbpeer0", "up");
        Sh.run("ip", "-n", PEER_NS, "addr", "add", PEER_IP + "/24", "dev", "eth0");
        Sh.run("ip", "-n", PEER_NS, "link", "set", "eth0", "up");
        Wire.shellInDomU("vif" + XlRemusDom0Server.domid() + ".0", "ip addr add " + DOMU_IP
                + "/24 dev eth0; mkdir -p /www;"
                + " head -c " + BLOB_BYTES + " /dev/zero > /www/blob; httpd -p 8000 -h /www");
        XenServerDom0Test.await("the domU answering ping", Duration.ofSeconds(120), () ->
                Sh.tryRun("ip", "netns", "exec", PEER_NS, "ping", "-c", "1", "-W", "5", DOMU_IP).ok()
                        ? Optional.of(dom0.anonymous.get("/api/domains").json()) : Optional.empty());
    }

    @AfterAll
    void stop() {
        views.forEach(v -> System.out.println(v.line()));
        Sh.tryRun("pkill", "-9", "-f", "xl -vvv remus");
        Sh.tryRun("ip", "link", "del", "nbpeer0");
        Sh.tryRun("ip", "netns", "del", PEER_NS);
        if (dom0 != null) {
            dom0.close();
        }
    }

    @Test
    void pingAndTcpWithoutAndWithTheFollower() throws Exception {
        views.add(measure("no xl remus", -1, false));
        views.add(underRemus(200, false));
        assertThat(dom0.admin.put("/api/domains/" + DOMU + "/remus", "").status()).isEqualTo(200);
        views.add(underRemus(200, true));
        views.add(underRemus(100, true));
        assertThat(dom0.admin.delete("/api/domains/" + DOMU + "/remus").status()).isEqualTo(204);
        views.add(underRemus(100, false));
        views.forEach(v -> System.out.println(v.line()));
        assertThat(views).allSatisfy(v -> assertThat(v.replies()).as(v.config() + ": ping replies").isPositive());
        assertThat(views).filteredOn(v -> v.config().contains("followed"))
                .allSatisfy(v -> assertThat(v.checkpoints()).as(v.config() + ": checkpoints followed").isPositive());
    }

    /** Replicates the domU with xl remus at {@code -i interval}, measures, then fails it over to its backup. */
    View underRemus(int interval, boolean followed) throws Exception {
        int primary = XlRemusDom0Server.domid();
        if (followed) {
            XenServerDom0Test.await("the primary " + primary + " followed", BACKUP_UP, () -> dom0.domain()
                    .filter(d -> d.get("buffered").asBoolean() && d.get("domid").asInt() == primary
                            && !d.get("xlRemus").isNull()));
        }
        String config = "xl remus -i " + interval + (followed ? ", followed" : ", unbuffered");
        Path log = logs.resolve("remus-i" + interval + (followed ? "-followed" : "-unbuffered") + ".log");
        Process remus = new ProcessBuilder("xl", "-vvv", "remus", "-F", "-n", "-i", String.valueOf(interval), "-s",
                "", DOMU, "xl -vvv migrate-receive -r").redirectErrorStream(true).redirectOutput(log.toFile()).start();
        View view;
        try (Xenstore xs = Xenstore.open()) {
            // past the first, whole copy of its memory: checkpoints of dirty pages only
            XlRemusFailoverDom0Test.awaitRequests(xs, "/local/domain/" + primary + "/control/shutdown", 3, remus, log);
            view = measure(config, primary, followed);
        }
        XlRemusFailoverDom0Test.kill(remus);
        Sh.run("xl", "destroy", String.valueOf(primary));
        XenServerDom0Test.await("the backup running as " + DOMU, BACKUP_UP, () -> dom0.domain().filter(d ->
                d.get("domid").asInt() != primary && d.get("state").asText().equals("CONNECTED")));
        XenServerDom0Test.await("the backup answering ping", Duration.ofSeconds(120), () ->
                Sh.tryRun("ip", "netns", "exec", PEER_NS, "ping", "-c", "1", "-W", "5", DOMU_IP).ok()
                        ? Optional.of(dom0.anonymous.get("/api/domains").json()) : Optional.empty());
        return view;
    }

    /** Pings the domU from the peer, then fetches 1 MiB from its httpd; with the follower, reads its counts. */
    View measure(String config, int domid, boolean followed) throws IOException {
        Optional<XlRemusFollower.Status> before = followerStatus(domid, followed);
        Sh.Result ping = Sh.tryRun("ip", "netns", "exec", PEER_NS, "ping", "-c", String.valueOf(PINGS), "-i", "0.25",
                "-W", "30", "-w", "180", DOMU_IP);
        List<Double> rtts = new ArrayList<>();
        int duplicates = 0;
        for (String line : ping.out().lines().toList()) {
            Matcher m = RTT.matcher(line);
            if (line.contains("DUP!")) {
                duplicates++;
                System.out.println("[guest-view] " + config + ": " + line);
            } else if (m.find()) {
                rtts.add(Double.parseDouble(m.group(1)));
            }
        }
        rtts.sort(null);
        String fetch = Sh.run("ip", "netns", "exec", PEER_NS, "timeout", "300", "python3", "-c", """
                import socket, sys, time
                t0 = time.monotonic()
                s = socket.create_connection((sys.argv[1], 8000), timeout=120)
                s.sendall(b"GET /blob HTTP/1.0\\r\\n\\r\\n")
                got = b""
                while True:
                    b = s.recv(1 << 16)
                    if not b:
                        break
                    got += b
                body = got.split(b"\\r\\n\\r\\n", 1)[1] if b"\\r\\n\\r\\n" in got else b""
                print(len(body), time.monotonic() - t0)
                """, DOMU_IP).strip();
        String[] f = fetch.split(" ");
        assertThat(Integer.parseInt(f[0])).as(config + ": bytes of the blob received").isEqualTo(BLOB_BYTES);
        Optional<XlRemusFollower.Status> after = followerStatus(domid, followed);
        Matcher sent = SENT.matcher(ping.out());
        View v = new View(config, sent.find() ? Integer.parseInt(sent.group(1)) : -1, rtts.size(), duplicates,
                percentile(rtts, 0.5), percentile(rtts, 0.99),
                Double.parseDouble(f[1]), after.map(a -> a.requests() - before.map(XlRemusFollower.Status::requests)
                .orElse(0L)).orElse(-1L), after.map(a -> a.checkpoints() - before.map(
                XlRemusFollower.Status::checkpoints).orElse(0L)).orElse(-1L));
        System.out.println(v.line());
        if (followed) {
            for (var b : dom0.anonymous.get("/api/netbuf/buffers").json()) {
                if (b.get("domain").asText().equals(DOMU)) {
                    System.out.println("[guest-view] " + config + ": buffer " + b);
                }
            }
        }
        return v;
    }

    Optional<XlRemusFollower.Status> followerStatus(int domid, boolean followed) {
        return followed ? dom0.bean(XlRemusFollower.class).status(DOMU).filter(s -> s.domid() == domid)
                : Optional.empty();
    }

    static double percentile(List<Double> sorted, double q) {
        return sorted.isEmpty() ? Double.NaN : sorted.get((int) Math.min(sorted.size() - 1,
                Math.ceil(q * sorted.size()) - 1));
    }

}
