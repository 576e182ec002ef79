package io.remus.netbuf.netlink;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Real frames through a buffered vif, as on a Xen host: the vif is a port of a bridge whose other port is a veth
 * into a third namespace, the "wire", where a sniffer records every tagged frame that arrives. A sender puts tagged
 * IPv4, IPv6 and ARP frames (and 802.1Q ones, if asked) on the guest end of the vif: {@code frames.py send} in the
 * guest namespace, or, on a real Xen vif, the domU's own sender ({@code xen_frames.c}) driven by
 * {@code frames.py remote}, which answers once it saw the frames arrive on the vif.
 */
public final class Wire implements AutoCloseable {

    /**
     * A tagged frame that reached the wire: its {@code ethertype} (0x8100 for an 802.1Q frame, whose {@code vlan}
     * is its VLAN id and {@code inner} the type it carries; else vlan -1 and inner = ethertype) and its
     * {@code length} on the wire, VLAN tag included.
     */
    /** A frame of a stream ({@link #stream}) and when the kernel received it on the wire (epoch nanoseconds). */
    public record Stamped(int epoch, int seq, long at) {
    }

    public record Frame(int epoch, int seq, int ethertype, int length, int vlan, int inner) {
    }

    /** Every frame size below the 60-byte Ethernet minimum, down to the 14-byte header alone. */
    public static final List<Integer> RUNTS = IntStream.range(14, 60).boxed().toList();
    /** The 802.1Q ethertype: in a sender's types, a frame of VLAN 10 carrying IPv4. */
    public static final int VLAN = 0x8100;

    private final String vifNs;
    private final String wireNs;
    private final String wirePort;
    private final Process sniffer;
    private final Writer snifferIn;
    private final BlockingQueue<Long> snifferDrops = new LinkedBlockingQueue<>();
    private final Process sender;
    private final Writer senderIn;
    private final BlockingQueue<String> senderOut = new LinkedBlockingQueue<>();
    private final BlockingQueue<Frame> arrived = new LinkedBlockingQueue<>();
    private final List<Stamped> stamped = java.util.Collections.synchronizedList(new ArrayList<>());
    private volatile boolean streaming;
    private final BlockingQueue<Boolean> synced = new LinkedBlockingQueue<>();
    private final List<String> others = new java.util.concurrent.CopyOnWriteArrayList<>();

    public Wire(TestNamespace ns, String vif, String guestDev) {
        this(ns.name, ns.guest, vif, guestDev);
    }

    /**
     * The same with the vif in namespace {@code vifNs}, made a port of a new bridge {@code br0} there, and its guest
     * end {@code guestDev} in {@code guestNs}.
     */
    public Wire(String vifNs, String guestNs, String vif, String guestDev) {
        this(vifNs, vifNs + "w", "br0", vif, List.of("ip", "netns", "exec", guestNs, "python3", "-u", tool(), "send",
                guestDev));
    }

    /**
     * A Xen vif in this (dom0's) namespace, already a port of {@code bridge}: the wire is a new port of that bridge,
     * and the frames are sent by the domU's own kernel. With {@code watchVif} a send returns once the frames were
     * seen arriving on the vif (a tap on it); without, once the domU was asked to send them.
     */
    public static Wire onXenBridge(String bridge, String vif, boolean watchVif) {
        return new Wire(null, "netbufwire", bridge, vif,
                List.of("python3", "-u", tool(), watchVif ? "remote" : "ask", vif));
    }

    private Wire(String vifNs, String wireNs, String bridge, String vif, List<String> senderCommand) {
        this.vifNs = vifNs;
        this.wireNs = wireNs;
        this.wirePort = vifNs == null ? "nbwire0" : "wire0";
        Sh.run("ip", "netns", "add", wireNs);
        try {
            connect(bridge, vif);
        } catch (RuntimeException | AssertionError e) {
            Sh.tryRun("ip", "netns", "del", wireNs);
            throw e;
        }
        try {
            sniffer = new ProcessBuilder("ip", "netns", "exec", wireNs, "python3", "-u", tool(), "sniff", "eth0")
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            snifferIn = new OutputStreamWriter(sniffer.getOutputStream(), StandardCharsets.UTF_8);
            BufferedReader sniffed = new BufferedReader(new InputStreamReader(sniffer.getInputStream(), StandardCharsets.UTF_8));
            if (!"ready".equals(sniffed.readLine())) {
                fail("the sniffer in " + wireNs + " did not start");
            }
            Thread.ofPlatform().daemon().name("sniffer-" + wireNs).start(() -> {
                try {
                    for (String line; (line = sniffed.readLine()) != null; ) {
                        String[] p = line.split(" ");
                        if (p[0].equals("synced")) {
                            synced.add(Boolean.TRUE);
                            continue;
                        }
                        if (p[0].equals("drops")) {
                            snifferDrops.add(Long.parseLong(p[1]));
                            continue;
                        }
                        if (p[0].equals("other")) {
                            others.add(line.substring("other ".length()));
                            continue;
                        }
                        if (streaming) {
                            stamped.add(new Stamped(Integer.parseInt(p[0]), Integer.parseInt(p[1]),
                                    Long.parseLong(p[6])));
                            continue;
                        }
                        arrived.add(new Frame(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.decode(p[2]),
                                Integer.parseInt(p[3]), Integer.parseInt(p[4]), Integer.decode(p[5])));
                    }
                } catch (IOException ignored) {
                    // the sniffer was stopped
                }
            });
            sender = new ProcessBuilder(senderCommand).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            senderIn = new OutputStreamWriter(sender.getOutputStream(), StandardCharsets.UTF_8);
            BufferedReader answers = new BufferedReader(new InputStreamReader(sender.getInputStream(), StandardCharsets.UTF_8));
            Thread.ofPlatform().daemon().name("sender-" + wireNs).start(() -> {
                try {
                    for (String line; (line = answers.readLine()) != null; ) {
                        senderOut.add(line);
                    }
                } catch (IOException ignored) {
                    // the sender was stopped
                }
                senderOut.add("(the sender exited)");
            });
        } catch (IOException e) {
            throw new AssertionError("cannot start the frame tools (python3 is needed)", e);
        }
    }

    /** The vif a port of {@code bridge} (made here in a test namespace), and the wire's veth another. */
    private void connect(String bridge, String vif) {
        if (vifNs != null) {
            Sh.run("ip", "-n", vifNs, "link", "add", bridge, "type", "bridge", "stp_state", "0");
            ip("link", "set", vif, "master", bridge);
        }
        // br_netfilter (built into some kernels, this host's among them) would hand bridged IPv4, IPv6 and ARP
        // frames to iptables after checking their headers, and drop runts on the way: a plain bridge forwards them
        inVifNs("sh", "-c", "for t in arptables iptables ip6tables; do"
                + " f=/proc/sys/net/bridge/bridge-nf-call-$t; [ ! -e $f ] || echo 0 > $f; done");
        ip("link", "add", wirePort, "type", "veth", "peer", "name", "eth0", "netns", wireNs);
        ip("link", "set", wirePort, "master", bridge);
        for (String dev : List.of(bridge, wirePort)) {
            ip("link", "set", dev, "up");
        }
        Sh.run("ip", "-n", wireNs, "link", "set", "eth0", "up");
    }

    /** frames.py: the file itself, or a copy of it when this class runs from the plugin's test-jar (src's tests). */
    private static synchronized String tool() {
        java.net.URL url = Wire.class.getResource("/netbuf-test/frames.py");
        try {
            if ("file".equals(url.getProtocol())) {
                return Path.of(url.toURI()).toString();
            }
            Path copy = java.nio.file.Files.createTempFile("frames", ".py");
            copy.toFile().deleteOnExit();
            try (java.io.InputStream in = url.openStream()) {
                java.nio.file.Files.copy(in, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            return copy.toString();
        } catch (URISyntaxException | IOException e) {
            throw new AssertionError("cannot read " + url, e);
        }
    }

    /**
     * Has the frame sender in the Xen domU behind {@code vif} run {@code command} with /bin/sh, in the background
     * (its output goes to the domU's console). Returns once the command frame is sent.
     */
    public static void shellInDomU(String vif, String command) {
        try {
            Process ask = new ProcessBuilder("python3", "-u", tool(), "ask", vif)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try (Writer in = new OutputStreamWriter(ask.getOutputStream(), StandardCharsets.UTF_8)) {
                in.write("shell " + command + "\n");
            }
            String answer = new String(ask.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!ask.waitFor(60, TimeUnit.SECONDS) || !answer.equals("asked")) {
                ask.destroyForcibly();
                fail("the frame sender on " + vif + " was not asked to run '" + command + "': " + answer);
            }
        } catch (IOException e) {
            throw new AssertionError("cannot start the frame tool (python3 is needed)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** {@code ip ARGS} in the vif's namespace. */
    private void ip(String... args) {
        List<String> command = new ArrayList<>(List.of("ip"));
        if (vifNs != null) {
            command.addAll(List.of("-n", vifNs));
        }
        command.addAll(List.of(args));
        Sh.run(command.toArray(String[]::new));
    }

    private void inVifNs(String... command) {
        List<String> c = new ArrayList<>(vifNs == null ? List.of() : List.of("ip", "netns", "exec", vifNs));
        c.addAll(List.of(command));
        Sh.run(c.toArray(String[]::new));
    }

    /** Sends {@code count} frames of {@code size} bytes tagged with {@code epoch} and sequence numbers from {@code firstSeq}. */
    public void send(int epoch, int firstSeq, int count, int size) {
        send(epoch, firstSeq, count, String.valueOf(size));
    }

    /**
     * Sends one frame per entry of {@code sizes} (bytes on the wire, Ethernet header included), tagged with
     * {@code epoch} and sequence numbers from {@code firstSeq}. Returns when the sender has put them all on the
     * guest's device.
     */
    public void send(int epoch, int firstSeq, List<Integer> sizes) {
        send(epoch, firstSeq, sizes, List.of());
    }

    /** The same, frame {@code seq} of ethertype {@code types[seq % types.size()]} (empty: IPv4, IPv6, ARP). */
    public void send(int epoch, int firstSeq, List<Integer> sizes, List<Integer> types) {
        List<Integer> missing = trySend(epoch, firstSeq, sizes, types);
        if (!missing.isEmpty()) {
            fail("the guest's frames " + missing + " (of " + firstSeq + ".." + (firstSeq + sizes.size() - 1)
                    + ") did not arrive on its vif within 20 s");
        }
    }

    /**
     * The same for a remote sender (a Xen domU's), which may fail to deliver: returns the sequence numbers (their low
     * 24 bits) of the frames that did not arrive on the vif within 20 s.
     */
    public List<Integer> trySend(int epoch, int firstSeq, List<Integer> sizes, List<Integer> types) {
        String line = epoch + " " + firstSeq + " " + sizes.size() + " "
                + String.join(",", sizes.stream().map(String::valueOf).toList())
                + (types.isEmpty() ? "" : " " + String.join(",", types.stream().map(Integer::toHexString).toList()));
        String answer = ask(line);
        if (answer.startsWith("missing ")) {
            return Stream.of(answer.substring("missing ".length()).split(",")).map(Integer::valueOf).toList();
        }
        return List.of();
    }

    private void send(int epoch, int firstSeq, int count, String sizes) {
        ask(epoch + " " + firstSeq + " " + count + " " + sizes);
    }

    /**
     * Starts the remote sender's endless stream of numbered frames (IPv4, 64 bytes), one every {@code intervalMicros},
     * from {@code firstSeq}. From then on every tagged frame the wire sees goes to {@link #stamped()}.
     */
    public void stream(int epoch, int firstSeq, int intervalMicros) {
        streaming = true;
        try {
            senderIn.write("stream " + epoch + " " + firstSeq + " " + intervalMicros + "\n");
            senderIn.flush();
            String answer = senderOut.poll(60, TimeUnit.SECONDS);
            if (!"streaming".equals(answer)) {
                fail("the frame sender did not start the stream: " + answer);
            }
        } catch (IOException e) {
            throw new AssertionError("the frame sender stopped", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Returns once every frame the kernel gave the sniffer before this call is in {@link #stamped()} (or the others). */
    public void sync() {
        try {
            snifferIn.write("sync\n");
            snifferIn.flush();
            if (synced.poll(120, TimeUnit.SECONDS) == null) {
                List<Stamped> seen = stamped();
                fail("the sniffer did not catch up within 120 s: " + seen.size() + " stream frames read"
                        + (seen.isEmpty() ? "" : ", the last received by the kernel "
                        + (System.currentTimeMillis() - seen.getLast().at() / 1_000_000) + " ms ago"));
            }
        } catch (IOException e) {
            throw new AssertionError("the sniffer stopped", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The stream's frames the wire saw so far, in arrival order. */
    public List<Stamped> stamped() {
        synchronized (stamped) {
            return List.copyOf(stamped);
        }
    }

    /** Gives the sender one line; returns its answer, "sent N" or (a remote sender) "missing SEQ,...". */
    private String ask(String line) {
        try {
            senderIn.write(line + "\n");
            senderIn.flush();
            String answer = senderOut.poll(60, TimeUnit.SECONDS);
            if (answer == null || !(answer.startsWith("sent") || answer.startsWith("missing "))) {
                fail("the frame sender stopped: " + (answer == null ? "no answer within 60 s" : answer));
            }
            return answer;
        } catch (IOException e) {
            throw new AssertionError("the frame sender stopped", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Waits until {@code n} more frames have arrived (at most {@code millis}) and returns what arrived. */
    public List<Frame> await(int n, long millis) throws InterruptedException {
        List<Frame> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (got.size() < n) {
            Frame f = arrived.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (f == null) {
                break;
            }
            got.add(f);
        }
        return got;
    }

    /**
     * Frames the sniffer's own socket has lost so far (its receive buffer overflowed). Must be 0: a frame lost
     * there never reached the wire as far as this test can tell, whatever the plug did.
     */
    public long snifferDrops() throws InterruptedException {
        try {
            snifferIn.write("drops\n");
            snifferIn.flush();
        } catch (IOException e) {
            throw new AssertionError("the sniffer stopped", e);
        }
        Long drops = snifferDrops.poll(10, TimeUnit.SECONDS);
        if (drops == null) {
            fail("the sniffer did not report its drops within 10 s");
        }
        return drops;
    }

    /** The untagged frames that arrived on the wire (not the sender's), as "ETHERTYPE LENGTH SOURCE_MAC". */
    public List<String> others() {
        return List.copyOf(others);
    }

    /** Frames that have arrived and not yet been taken. */
    public List<Frame> drain() {
        List<Frame> got = new ArrayList<>();
        arrived.drainTo(got);
        return got;
    }

    @Override
    public void close() {
        if (sender != null) {
            sender.destroyForcibly();
        }
        if (sniffer != null) {
            sniffer.destroyForcibly();
        }
        Sh.tryRun("ip", "netns", "del", wireNs);
        if (vifNs == null) {
            Sh.tryRun("ip", "link", "del", wirePort); // gone with its peer already, unless the namespace lingers
        }
    }
}
