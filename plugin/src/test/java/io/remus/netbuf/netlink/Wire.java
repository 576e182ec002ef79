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

/**
 * Real frames through a buffered vif, as on a Xen host: the vif is a port of bridge {@code br0}, whose other port
 * is a veth into a third namespace, the "wire", where a sniffer records every tagged frame that arrives. A sender in
 * the guest namespace puts tagged IPv4, IPv6 and ARP frames on the guest end of the vif.
 */
public final class Wire implements AutoCloseable {

    public record Frame(int epoch, int seq, int ethertype) {
    }

    /** Every frame size below the 60-byte Ethernet minimum, down to the 14-byte header alone. */
    public static final List<Integer> RUNTS = IntStream.range(14, 60).boxed().toList();

    private final String wireNs;
    private final Process sniffer;
    private final Writer snifferIn;
    private final BlockingQueue<Long> snifferDrops = new LinkedBlockingQueue<>();
    private final Process sender;
    private final Writer senderIn;
    private final BlockingQueue<String> senderOut = new LinkedBlockingQueue<>();
    private final BlockingQueue<Frame> arrived = new LinkedBlockingQueue<>();

    public Wire(TestNamespace ns, String vif, String guestDev) {
        this(ns.name, ns.guest, vif, guestDev);
    }

    /** The same with the vif in namespace {@code vifNs} and its guest end {@code guestDev} in {@code guestNs}. */
    public Wire(String vifNs, String guestNs, String vif, String guestDev) {
        wireNs = vifNs + "w";
        Sh.run("ip", "netns", "add", wireNs);
        Sh.run("ip", "-n", vifNs, "link", "add", "br0", "type", "bridge", "stp_state", "0");
        // br_netfilter (built into some kernels, this host's among them) would hand bridged IPv4, IPv6 and ARP
        // frames to iptables after checking their headers, and drop runts on the way: a plain bridge forwards them
        Sh.run("ip", "netns", "exec", vifNs, "sh", "-c", "for t in arptables iptables ip6tables; do"
                + " f=/proc/sys/net/bridge/bridge-nf-call-$t; [ ! -e $f ] || echo 0 > $f; done");
        Sh.run("ip", "-n", vifNs, "link", "add", "wire0", "type", "veth", "peer", "name", "eth0", "netns", wireNs);
        Sh.run("ip", "-n", vifNs, "link", "set", vif, "master", "br0");
        Sh.run("ip", "-n", vifNs, "link", "set", "wire0", "master", "br0");
        for (String dev : List.of("br0", "wire0")) {
            Sh.run("ip", "-n", vifNs, "link", "set", dev, "up");
        }
        Sh.run("ip", "-n", wireNs, "link", "set", "eth0", "up");
        try {
            String tool = Path.of(Wire.class.getResource("/netbuf-test/frames.py").toURI()).toString();
            sniffer = new ProcessBuilder("ip", "netns", "exec", wireNs, "python3", "-u", tool, "sniff", "eth0")
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
                        if (p[0].equals("drops")) {
                            snifferDrops.add(Long.parseLong(p[1]));
                            continue;
                        }
                        arrived.add(new Frame(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.decode(p[2])));
                    }
                } catch (IOException ignored) {
                    // the sniffer was stopped
                }
            });
            sender = new ProcessBuilder("ip", "netns", "exec", guestNs, "python3", "-u", tool, "send", guestDev)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
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
        } catch (IOException | URISyntaxException e) {
            throw new AssertionError("cannot start the frame tools (python3 is needed)", e);
        }
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
        send(epoch, firstSeq, sizes.size(), String.join(",", sizes.stream().map(String::valueOf).toList()));
    }

    private void send(int epoch, int firstSeq, int count, String sizes) {
        try {
            senderIn.write(epoch + " " + firstSeq + " " + count + " " + sizes + "\n");
            senderIn.flush();
            String answer = senderOut.poll(60, TimeUnit.SECONDS);
            if (answer == null || !answer.startsWith("sent")) {
                fail("the frame sender stopped: " + (answer == null ? "no answer within 60 s" : answer));
            }
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
    }
}
