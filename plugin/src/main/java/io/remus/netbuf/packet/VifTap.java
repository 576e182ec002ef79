package io.remus.netbuf.packet;

import io.remus.netbuf.libc.LibC;
import java.util.Objects;

/**
 * A null tap on one vif: an AF_PACKET socket bound to that device alone, whose classic BPF filter takes no frame.
 *
 * <p>Why a socket that receives nothing: Xen's netback maps the guest's transmit pages into dom0 (zero-copy) and
 * tells the guest a frame is sent only when the skb holding those pages is freed. A plug qdisc holds frames for a
 * whole checkpoint, so the guest's TCP (TCP Small Queues) stalls waiting for those completions. With a packet tap
 * on the vif the kernel copies the mapped pages when it hands the frame to the tap ({@code skb_orphan_frags_rx} in
 * {@code deliver_skb}, before the ingress qdisc), and netback completes the request at once. The filter then drops
 * the frame, so the socket queues nothing.
 *
 * <p>The socket is made in the calling thread's network namespace and keeps it. If the vif is removed while the
 * tap is open, the kernel unhooks the socket; it stays harmless until {@link #close()}. Needs CAP_NET_RAW.
 */
public final class VifTap implements AutoCloseable {

    private static final int EPERM = 1;
    private static final int EACCES = 13;
    private static final int ENFILE = 23;
    private static final int EMFILE = 24;
    private static final int EAFNOSUPPORT = 97;
    private static final String OPEN = "open null tap";

    private final int ifindex;
    private final String vifName;
    private int fd;

    private VifTap(int fd, int ifindex, String vifName) {
        this.fd = fd;
        this.ifindex = ifindex;
        this.vifName = vifName;
    }

    /**
     * Opens the tap on the device {@code ifindex} (named {@code vifName}, for messages). The filter is attached
     * before the bind, so no frame is ever queued on the socket; on any failure the socket is closed again.
     *
     * @throws IllegalArgumentException if {@code ifindex} is not positive (0 would bind to every device)
     * @throws PacketSocketException if a call fails; {@link PacketSocketException#deviceGone()} when the vif is gone
     */
    public static VifTap open(int ifindex, String vifName) {
        Objects.requireNonNull(vifName, "vifName");
        if (ifindex <= 0) {
            throw new IllegalArgumentException("ifindex of " + vifName + " is " + ifindex
                    + ": a null tap needs a device's index (0 would tap every device)");
        }
        String unavailable = LibC.unavailable();
        if (unavailable != null) {
            throw new IllegalStateException(OPEN + " on " + vifName + " is not possible: " + unavailable);
        }
        int fd = LibC.openPacketSocket();
        if (fd < 0) {
            throw failure(vifName, ifindex, "socket(AF_PACKET, SOCK_RAW, 0)", -fd);
        }
        int rc = LibC.attachAcceptNothingFilter(fd);
        if (rc == 0) {
            rc = LibC.bindAllProtocols(fd, ifindex);
            if (rc == 0) {
                return new VifTap(fd, ifindex, vifName);
            }
            LibC.close(fd);
            throw failure(vifName, ifindex, "bind(AF_PACKET, ETH_P_ALL, ifindex " + ifindex + ")", -rc);
        }
        LibC.close(fd);
        throw failure(vifName, ifindex, "setsockopt(SO_ATTACH_FILTER, ret #0)", -rc);
    }

    private static PacketSocketException failure(String vifName, int ifindex, String call, int errno) {
        return new PacketSocketException(OPEN, vifName, call, errno, LibC.errorText(errno),
                fix(vifName, ifindex, errno));
    }

    private static String fix(String vifName, int ifindex, int errno) {
        return switch (errno) {
            case EPERM, EACCES -> "needs CAP_NET_RAW: run as root or grant the JVM cap_net_raw"
                    + " (setcap or systemd AmbientCapabilities)";
            case PacketSocketException.ENODEV, PacketSocketException.ENXIO -> vifName + " (ifindex " + ifindex
                    + ") is gone: no device has that index in this network namespace any more";
            case EMFILE, ENFILE -> "too many open files: raise the JVM's limit (ulimit -n, systemd LimitNOFILE)";
            case EAFNOSUPPORT -> "the kernel has no packet sockets: modprobe af_packet (CONFIG_PACKET)";
            default -> null;
        };
    }

    /** The index of the tapped device. */
    public int ifindex() {
        return ifindex;
    }

    /** The name of the tapped device, as given to {@link #open}. */
    public String vifName() {
        return vifName;
    }

    /** The socket's file descriptor, or -1 once closed. */
    synchronized int fd() {
        return fd;
    }

    /** Closes the socket; the kernel stops copying the vif's frames for it. Closing again does nothing. */
    @Override
    public synchronized void close() {
        if (fd >= 0) {
            // close(2) releases the descriptor even when it reports an error: nothing to retry or report
            LibC.close(fd);
            fd = -1;
        }
    }

    @Override
    public String toString() {
        return "VifTap[" + vifName + ", ifindex " + ifindex + "]";
    }
}
