package io.remus.netbuf.netlink;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.Set;

/**
 * Installs a buffer on a vif in the design's order (ifb up, ingress, redirect filter, plug) and removes it in
 * the reverse order. A failed install undoes the steps it made before rethrowing. Uninstall is idempotent.
 */
public final class BufferInstaller {

    /** The steps of an install, in order; a {@link StepListener} hears each one before it runs. */
    public enum Step { ACQUIRE_IFB, ADD_INGRESS, ADD_REDIRECT, ADD_PLUG }

    /** Called before each install step: the place a caller records its intent, and where tests inject faults. */
    @FunctionalInterface
    public interface StepListener {
        void before(Step step, InterfaceName vif);
    }

    /** How long uninstall waits for released frames to leave before it deletes the plug qdisc. */
    static final long DRAIN_MILLIS = 200;

    private final Netlink netlink;
    private final IfbMode ifbMode;
    private final long limitBytes;
    private final int protocol;

    public BufferInstaller(Netlink netlink, IfbMode ifbMode, long limitBytes, int protocol) {
        PlugQdisc.checkLimit(limitBytes);
        this.netlink = netlink;
        this.ifbMode = ifbMode;
        this.limitBytes = limitBytes;
        this.protocol = protocol;
    }

    public InstalledBuffer install(InterfaceName vifName, InterfaceName ifbName) {
        return install(vifName, ifbName, Set.of(), (step, vif) -> { });
    }

    /**
     * @param ifbName   the name of the ifb to create (CREATE mode); ignored in POOL mode
     * @param claimed   ifb names other buffers hold, which POOL mode must not take
     */
    public InstalledBuffer install(InterfaceName vifName, InterfaceName ifbName, Set<InterfaceName> claimed,
                                   StepListener listener) {
        Link vif = netlink.link(vifName);
        Deque<Runnable> undo = new ArrayDeque<>();
        try {
            listener.before(Step.ACQUIRE_IFB, vifName);
            boolean created = ifbMode == IfbMode.CREATE;
            Link ifb = created ? netlink.createIfb(ifbName) : freePoolIfb(claimed);
            undo.push(() -> releaseIfb(ifb, created));
            netlink.setUp(ifb);

            listener.before(Step.ADD_INGRESS, vifName);
            IngressQdisc ingress = new IngressQdisc(vif);
            netlink.addIngress(ingress);
            undo.push(() -> netlink.deleteIngress(ingress));

            listener.before(Step.ADD_REDIRECT, vifName);
            RedirectFilter redirect = new RedirectFilter(vif, ifb, protocol, RedirectFilter.DEFAULT_PRIORITY);
            netlink.addRedirect(redirect);
            undo.push(() -> netlink.deleteRedirect(redirect));

            listener.before(Step.ADD_PLUG, vifName);
            PlugQdisc plug = PlugQdisc.on(ifb, limitBytes);
            netlink.addPlug(plug);
            undo.push(() -> netlink.deletePlug(plug));
            // A new plug qdisc starts blocked; pass traffic until the domain's first epoch begins.
            netlink.plugReleaseIndefinite(plug);
            return new InstalledBuffer(vif, ifb, created, ingress, redirect, plug);
        } catch (RuntimeException e) {
            while (!undo.isEmpty()) {
                try {
                    undo.pop().run();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /**
     * Removes the buffer in reverse order: releases what the plug holds so no frame is lost, then plug, filter,
     * ingress, and the ifb (deleted if this buffer created it, else set down and returned to the pool). Objects
     * already gone, and a vif that has vanished, are not errors.
     */
    public void uninstall(InstalledBuffer buffer) {
        if (netlink.plugStats(buffer.plug()).isPresent()) {
            netlink.plugReleaseIndefinite(buffer.plug());
            awaitDrained(buffer.plug());
        }
        netlink.deletePlug(buffer.plug());
        netlink.deleteRedirect(buffer.redirect());
        netlink.deleteIngress(buffer.ingress());
        releaseIfb(buffer.ifb(), buffer.ifbCreated());
    }

    /**
     * The kernel dequeues released frames in softirq context, after the release call has returned; deleting the
     * qdisc before then would drop them. Waits until the backlog is empty, for at most {@link #DRAIN_MILLIS}.
     */
    private void awaitDrained(PlugQdisc plug) {
        long deadline = System.nanoTime() + DRAIN_MILLIS * 1_000_000L;
        while (System.nanoTime() < deadline) {
            Optional<PlugStats> stats = netlink.plugStats(plug);
            if (stats.isEmpty() || stats.get().backlogPackets() == 0) {
                return;
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void releaseIfb(Link ifb, boolean created) {
        if (created) {
            netlink.deleteLink(ifb);
        } else {
            netlink.setDown(ifb);
        }
    }

    /** An ifb whose root is not a plug qdisc and that no other buffer holds. */
    private Link freePoolIfb(Set<InterfaceName> claimed) {
        Optional<Link> free = netlink.ifbLinks().stream()
                .filter(l -> !claimed.contains(l.name()))
                .filter(l -> netlink.qdiscs(l).stream()
                        .noneMatch(q -> q.parent().equals(TcHandle.ROOT) && PlugQdisc.KIND.equals(q.kind())))
                .findFirst();
        return free.orElseThrow(() -> new NetlinkException("acquire ifb", "ifb pool", -Nle.OBJ_NOTFOUND,
                "no free ifb device", "load more: modprobe ifb numifbs=N, or set netbuf.ifb-mode=create"));
    }
}
