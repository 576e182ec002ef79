package io.remus.netbuf.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Link;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.NetworkNamespace;
import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.netlink.TestNamespace;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Host kernel: a null tap on {@code vif7.0}, the host end of a veth pair in a test namespace (the guest end
 * {@code eth0} in a namespace of its own). The tap is opened as the service opens it,
 * {@link Netlink#openNullTap} on a socket opened in the test namespace (so on a thread inside it, never in the JVM's
 * own); observed through {@code /proc/net/packet} read by {@code cat} in the namespace.
 */
class VifTapTest {

    static final String VIF = "vif7.0";
    static final String HOST_ADDRESS = "169.254.77.1";
    static final String GUEST_ADDRESS = "169.254.77.2";

    TestNamespace ns;
    Netlink netlink;
    int vifIndex;
    final List<VifTap> taps = new ArrayList<>();

    @BeforeEach
    void setUp() {
        ns = TestNamespace.create();
        ns.addVif(VIF, "eth0");
        vifIndex = ns.link(VIF).orElseThrow().get("ifindex").asInt();
        netlink = Netlink.openInNamespace(NetworkNamespace.of(ns.name));
    }

    @AfterEach
    void tearDown() {
        taps.forEach(VifTap::close);
        if (netlink != null) {
            netlink.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    @Test
    void opensOnePacketSocketBoundToTheVifAloneAndCloseRemovesIt() {
        assertThat(packetSockets(ns.name)).isEmpty();

        VifTap tap = openInside(vifIndex);

        List<PacketSocket> sockets = packetSockets(ns.name);
        assertThat(sockets).hasSize(1);
        PacketSocket s = sockets.getFirst();
        assertThat(s.inode()).as("the row is the tap's own socket").isEqualTo(inode(tap));
        assertThat(s.iface()).isEqualTo(vifIndex);
        assertThat(s.proto()).isEqualTo("0003");
        assertThat(s.type()).as("SOCK_RAW").isEqualTo(3);
        assertThat(s.running()).as("hooked on the device").isEqualTo(1);
        assertThat(s.rmem()).isZero();
        assertThat(tap.ifindex()).isEqualTo(vifIndex);
        assertThat(tap.vifName()).isEqualTo(VIF);
        // not in the guest's namespace, not in the JVM's own
        assertThat(packetSockets(ns.guest)).isEmpty();
        assertThat(jvmNamespacePacketSocketInodes()).doesNotContain(s.inode());

        tap.close();
        assertThat(packetSockets(ns.name)).isEmpty();
    }

    @Test
    void framesFlowWhileTappedAndTheTapQueuesNone() throws Exception {
        Sh.run("ip", "-n", ns.name, "addr", "add", HOST_ADDRESS + "/30", "dev", VIF);
        Sh.run("ip", "-n", ns.guest, "addr", "add", GUEST_ADDRESS + "/30", "dev", "eth0");
        VifTap tap = openInside(vifIndex);
        // the control: a packet socket on the same vif with no filter, which does queue what it is handed
        Process control = unfilteredSocket(ns.name, VIF);
        try {
            Sh.Result fromGuest = Sh.tryRun("ip", "netns", "exec", ns.guest, "ping", "-c", "20", "-i", "0.05",
                    "-s", "1400", "-W", "2", HOST_ADDRESS);
            assertThat(fromGuest.ok()).as("ping from the guest: %s %s", fromGuest.out(), fromGuest.err()).isTrue();
            assertThat(fromGuest.out()).contains("20 received");
            Sh.Result toGuest = Sh.tryRun("ip", "netns", "exec", ns.name, "ping", "-c", "5", "-i", "0.05", "-W", "2",
                    GUEST_ADDRESS);
            assertThat(toGuest.ok()).as("ping to the guest: %s %s", toGuest.out(), toGuest.err()).isTrue();

            long tapInode = inode(tap);
            List<PacketSocket> sockets = packetSockets(ns.name);
            assertThat(sockets).hasSize(2).allSatisfy(s -> assertThat(s.iface()).isEqualTo(vifIndex));
            PacketSocket tapped = sockets.stream().filter(s -> s.inode() == tapInode).findFirst().orElseThrow();
            PacketSocket unfiltered = sockets.stream().filter(s -> s.inode() != tapInode).findFirst().orElseThrow();
            assertThat(unfiltered.rmem()).as("the control socket queued the frames").isPositive();
            assertThat(tapped.rmem()).as("the null tap queued nothing").isZero();
            assertThat(tapped.running()).isEqualTo(1);
        } finally {
            control.destroyForcibly().waitFor();
        }
    }

    @Test
    void aGoneVifIsNamedAndNoSocketIsLeftOpen() {
        ns.deleteLink(VIF);

        assertThatThrownBy(() -> openInside(vifIndex))
                .isInstanceOfSatisfying(PacketSocketException.class, e -> {
                    assertThat(e.deviceGone()).isTrue();
                    assertThat(e.device()).isEqualTo(VIF);
                    assertThat(e.call()).startsWith("bind(");
                })
                .hasMessageContaining("open null tap on " + VIF)
                .hasMessageContaining("No such device")
                .hasMessageContaining(VIF + " (ifindex " + vifIndex + ") is gone");
        assertThat(packetSockets(ns.name)).as("the socket is closed on the failure path").isEmpty();
    }

    @Test
    void closingTwiceIsFine() {
        VifTap tap = openInside(vifIndex);
        tap.close();
        tap.close();
        assertThat(tap.fd()).isEqualTo(-1);
        assertThat(packetSockets(ns.name)).isEmpty();
    }

    @Test
    void anIndexThatIsNoDeviceIsRefusedBeforeAnySocketIsMade() {
        // a Link cannot carry index 0, so the service's path never passes it; VifTap refuses it on its own
        List<Long> before = jvmNamespacePacketSocketInodes();
        assertThatThrownBy(() -> taps.add(VifTap.open(0, VIF)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(VIF)
                .hasMessageContaining("every device");
        assertThat(jvmNamespacePacketSocketInodes()).isEqualTo(before);
        assertThat(packetSockets(ns.name)).isEmpty();
    }

    /** Opens the tap as the service does, in the test namespace; kept for closing after the test. */
    VifTap openInside(int ifindex) {
        VifTap tap = netlink.openNullTap(new Link(InterfaceName.of(VIF), ifindex));
        taps.add(tap);
        return tap;
    }

    /** One row of /proc/net/packet: sk RefCnt Type Proto Iface R Rmem User Inode. */
    record PacketSocket(int type, String proto, int iface, int running, long rmem, long inode) {
        static PacketSocket parse(String row) {
            String[] f = row.strip().split("\\s+");
            return new PacketSocket(Integer.parseInt(f[2]), f[3], Integer.parseInt(f[4]), Integer.parseInt(f[5]),
                    Long.parseLong(f[6]), Long.parseLong(f[8]));
        }
    }

    static List<PacketSocket> packetSockets(String namespace) {
        return rows(Sh.run("ip", "netns", "exec", namespace, "cat", "/proc/net/packet"));
    }

    /** Only read: the inodes of the packet sockets in the namespace the JVM itself runs in. */
    static List<Long> jvmNamespacePacketSocketInodes() {
        try {
            return rows(Files.readString(Path.of("/proc/self/net/packet"))).stream().map(PacketSocket::inode).toList();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static List<PacketSocket> rows(String table) {
        return table.lines().skip(1).filter(l -> !l.isBlank()).map(PacketSocket::parse).toList();
    }

    /** The socket inode behind the tap's descriptor ({@code socket:[N]}). */
    static long inode(VifTap tap) {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + tap.fd())).toString();
            assertThat(target).startsWith("socket:[");
            return Long.parseLong(target.substring("socket:[".length(), target.length() - 1));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A packet socket bound to {@code dev} for ETH_P_ALL without a filter, held by a python3 in the namespace. */
    static Process unfilteredSocket(String namespace, String dev) throws IOException {
        Process p = new ProcessBuilder("ip", "netns", "exec", namespace, "python3", "-c", """
                import socket, sys, time
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
                s.bind((sys.argv[1], 0))
                print("bound", flush=True)
                time.sleep(120)
                """, dev).redirectErrorStream(true).start();
        String answer = new BufferedReader(new InputStreamReader(p.getInputStream())).readLine();
        assertThat(answer).as("the unfiltered control socket on " + dev).isEqualTo("bound");
        return p;
    }
}
