package io.remus.netbuf.service;

import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Link;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugControl;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.TcHandle;
import io.remus.netbuf.packet.VifTap;
import io.remus.netbuf.persistence.BufferRecord;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open plug controls of checkpointed buffers ({@link Netlink#openPlugControl}), each opened at the buffer's
 * first epoch and kept for the hot path, with the null tap on its vif opened alongside
 * ({@code netbuf.copy-held-frames}). All of it goes through the hot path's socket ({@link Netlink#hotPath}), the
 * lookup of a buffer's ifb at its first epoch too, so no listing or lifecycle step on the main socket delays it. A
 * domain's are closed together, when it fails over, stops or is gone; each call for a domain is made under its
 * lock.
 */
final class PlugControls {

    private static final Logger log = LoggerFactory.getLogger(PlugControls.class);

    /** A buffer's open control, and the tap on its vif (empty: none asked for, or it could not be opened). */
    private record Open(String domain, PlugControl control, Optional<VifTap> tap) {
    }

    private final Netlink netlink;
    private final boolean copyHeldFrames;
    private final ConcurrentMap<Long, Open> open = new ConcurrentHashMap<>();

    /** @param netlink the hot path's socket */
    PlugControls(Netlink netlink, boolean copyHeldFrames) {
        this.netlink = netlink;
        this.copyHeldFrames = copyHeldFrames;
    }

    /** The plug qdisc of a buffer whose ifb is {@code ifb}. */
    static PlugQdisc plugOf(BufferRecord b, Link ifb) {
        return new PlugQdisc(ifb, new TcHandle(b.plugHandle()), b.limitBytes());
    }

    /**
     * The buffer's control, opened (with its vif's tap) if it is not open yet.
     *
     * @throws RuntimeException if it cannot be opened (its ifb is gone): nothing is kept, the next call tries again
     */
    PlugControl control(BufferRecord b) {
        Open o = open.get(b.id()); // the hot path only looks
        if (o == null) {
            PlugControl control = netlink.openPlugControl(plugOf(b, netlink.link(InterfaceName.of(b.ifb()))));
            o = new Open(b.domain(), control, copyHeldFrames ? openTap(b) : Optional.empty());
            open.put(b.id(), o);
        }
        return o.control();
    }

    /** Closes every control (and tap) open for the domain's buffers, whatever state they are in now. */
    void closeDomain(String domain) {
        open.forEach((id, o) -> {
            if (o.domain().equals(domain) && open.remove(id, o)) {
                close(o);
            }
        });
    }

    /** How many controls are open (for the tests). */
    int openCount() {
        return open.size();
    }

    private static void close(Open o) {
        o.control().close();
        o.tap().ifPresent(VifTap::close);
    }

    /**
     * Xen's netback maps the guest's transmit pages and completes a frame only when it is freed, so a frame held in
     * the plug for a checkpoint keeps the guest waiting, and its TCP (TCP Small Queues) all but stops: 1 MiB took
     * 200 s under xl remus in the Xen tests. A tap on the vif makes the kernel copy the frame as it arrives, before
     * the ingress qdisc, and netback completes it at once (25 s). Without the tap output commit still holds, only
     * slower: a failure is logged, not thrown.
     */
    private Optional<VifTap> openTap(BufferRecord b) {
        try {
            return Optional.of(netlink.openNullTap(netlink.link(InterfaceName.of(b.vif()))));
        } catch (RuntimeException e) {
            log.warn("buffer {} (domain {}, vif {}): no tap on the vif ({}); its frames stay in the guest's pages"
                    + " while held, which slows the guest's TCP under checkpointing (netbuf.copy-held-frames)",
                    b.id(), b.domain(), b.vif(), e.getMessage());
            return Optional.empty();
        }
    }
}
