package io.remus.netbuf.netlink;

import io.remus.netbuf.model.BufferEvent;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The kernel steps of a buffer, one method each, in the design's order (ifb up, ingress, redirect filter, plug)
 * and back. The lifecycle calls them one per transition; {@link #install} and {@link #uninstall} run them all.
 * Removal steps take names, not links: the device may be gone, and then there is nothing left to remove.
 */
public final class BufferInstaller {

    /** The steps of an install, in order; a {@link StepListener} hears each one before it runs. */
    public enum Step { ACQUIRE_IFB, ADD_INGRESS, ADD_REDIRECT, ADD_PLUG }

    /** Called before each install step: where tests inject faults. */
    @FunctionalInterface
    public interface StepListener {
        void before(Step step, InterfaceName vif);
    }

    /** How long removing a plug waits for released frames to leave before it deletes the qdisc. */
    static final long DRAIN_MILLIS = 200;

    private final Netlink netlink;
    private final IfbMode ifbMode;
    private final long limitBytes;
    private final int protocol;

    /** For the step methods, which take each buffer's own parameters. */
    public BufferInstaller(Netlink netlink) {
        this(netlink, IfbMode.CREATE, PlugQdisc.DEFAULT_LIMIT_BYTES, RedirectFilter.ETH_P_ALL);
    }

    /** For {@link #install}: every buffer it makes gets this ifb mode, limit and protocol. */
    public BufferInstaller(Netlink netlink, IfbMode ifbMode, long limitBytes, int protocol) {
        PlugQdisc.checkLimit(limitBytes);
        this.netlink = netlink;
        this.ifbMode = ifbMode;
        this.limitBytes = limitBytes;
        this.protocol = protocol;
    }

    public Netlink netlink() {
        return netlink;
    }

    // ---------------------------------------------------------------- one method per step

    /**
     * Creates the ifb (CREATE mode), without IPv6 addresses, and sets it up; an ifb it created but could not set up
     * is deleted again. Without an address the ifb sends nothing of its own into its plug (a router solicitation,
     * MLD reports), which would count against the limit and the backlog.
     */
    public Link createIfb(InterfaceName ifb) {
        Link link = netlink.createIfb(ifb);
        try {
            netlink.noIpv6Address(link);
            netlink.setUp(link);
        } catch (RuntimeException e) {
            try {
                netlink.deleteLink(link);
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return link;
    }

    /** Sets an existing pool ifb up (without IPv6 addresses if it was down: see {@link #createIfb}). */
    public Link takeIfb(InterfaceName ifb) {
        Link link = require(ifb, "take ifb");
        if (!netlink.isUp(link)) {
            netlink.noIpv6Address(link);
        }
        netlink.setUp(link);
        return link;
    }

    /**
     * The pool ifbs whose root is not a plug qdisc, except {@code claimed}; the caller claims one of them. One link
     * dump and one qdisc dump, however large the pool (a qdisc dump per ifb made each install cost
     * O(ifbs × qdiscs)).
     */
    public List<InterfaceName> freePoolIfbs(Set<InterfaceName> claimed) {
        Set<Integer> plugged = netlink.qdiscs().stream()
                .filter(q -> q.parent().equals(TcHandle.ROOT) && PlugQdisc.KIND.equals(q.kind()))
                .map(QdiscInfo::ifindex)
                .collect(Collectors.toSet());
        return netlink.ifbLinks().stream()
                .filter(l -> !claimed.contains(l.name()) && !plugged.contains(l.index()))
                .map(Link::name)
                .toList();
    }

    public void addIngress(InterfaceName vif) {
        netlink.addIngress(new IngressQdisc(require(vif, "add ingress qdisc")));
    }

    public void addRedirect(InterfaceName vif, InterfaceName ifb, int filterProtocol, int priority) {
        netlink.addRedirect(new RedirectFilter(require(vif, "add redirect filter"), require(ifb, "add redirect filter"),
                filterProtocol, priority));
    }

    /**
     * Replaces the redirect filters of earlier versions, whose u32 key a runt frame is too short for, with this
     * version's: the new node is added in front of the old one (u32 tries a bucket's nodes in node order), then the
     * old one is deleted, so no frame passes unbuffered in between. Replacing the node itself would not do: the
     * kernel keeps a u32 node's key when it is replaced and changes only its actions. A node already in front
     * (an upgrade cut short) is kept.
     *
     * @return whether a filter was upgraded
     */
    public boolean upgradeRedirect(InterfaceName vif, int priority) {
        List<RedirectFilter> found = netlink.redirects(require(vif, "upgrade redirect filter"), priority);
        if (found.stream().allMatch(RedirectFilter::holdsEveryFrame)) {
            return false;
        }
        if (!found.getFirst().holdsEveryFrame()) {
            netlink.addRedirect(found.getFirst().upgraded());
        }
        found.stream().filter(f -> !f.holdsEveryFrame()).forEach(netlink::deleteRedirect);
        return true;
    }

    /**
     * Adds the plug qdisc and releases it indefinitely: a new plug qdisc starts blocked, and a domain's traffic
     * must pass until its first epoch begins.
     */
    public PlugQdisc addPlug(InterfaceName ifb, TcHandle handle, long limit) {
        PlugQdisc plug = new PlugQdisc(require(ifb, "add plug qdisc"), handle, limit);
        netlink.addPlug(plug);
        netlink.plugReleaseIndefinite(plug);
        return plug;
    }

    /** {@code release_indefinite}: everything queued goes out, and nothing is held until the next buffer. */
    public void releasePlug(InterfaceName ifb, TcHandle handle) {
        netlink.plugReleaseIndefinite(new PlugQdisc(require(ifb, "plug release_indefinite"), handle,
                PlugQdisc.DEFAULT_LIMIT_BYTES));
    }

    /** Fails, naming what is missing, unless the ifb has our plug qdisc. */
    public void requirePlug(InterfaceName ifb, TcHandle handle) {
        PlugQdisc plug = new PlugQdisc(require(ifb, "find plug qdisc"), handle, PlugQdisc.DEFAULT_LIMIT_BYTES);
        if (netlink.plugStats(plug).isEmpty()) {
            throw new NetlinkException("find plug qdisc", ifb.value(), -Nle.OBJ_NOTFOUND, "no plug " + handle
                    + " at the root of " + ifb, "stop the domain and start it again to install a new buffer");
        }
    }

    /** Whether the vif has a redirect filter of this priority that redirects to the ifb (both must exist). */
    public boolean redirectsTo(InterfaceName vif, InterfaceName ifb, int priority) {
        Optional<Link> vifLink = netlink.findLink(vif);
        Optional<Link> ifbLink = netlink.findLink(ifb);
        return vifLink.isPresent() && ifbLink.isPresent() && netlink.findRedirect(vifLink.get(), priority)
                .filter(f -> f.ifb().index() == ifbLink.get().index()).isPresent();
    }

    /**
     * Releases what the plug holds so no frame is lost, waits for it to drain, deletes the plug. Absent is done.
     *
     * @return false if the ifb was gone (and the plug with it)
     */
    public boolean removePlug(InterfaceName ifb, TcHandle handle) {
        Optional<Link> link = netlink.findLink(ifb);
        if (link.isEmpty()) {
            return false;
        }
        PlugQdisc plug = new PlugQdisc(link.get(), handle, PlugQdisc.DEFAULT_LIMIT_BYTES);
        if (netlink.plugStats(plug).isPresent()) {
            netlink.plugReleaseIndefinite(plug);
            awaitDrained(plug);
        }
        netlink.deletePlug(plug);
        return true;
    }

    /**
     * Deletes the plug with what it holds, unreleased: those frames are freed, never sent. Absent is done.
     *
     * @return false if the ifb was gone (and the plug with it)
     */
    public boolean dropPlug(InterfaceName ifb, TcHandle handle) {
        Optional<Link> link = netlink.findLink(ifb);
        link.ifPresent(l -> netlink.deletePlug(new PlugQdisc(l, handle, PlugQdisc.DEFAULT_LIMIT_BYTES)));
        return link.isPresent();
    }

    /**
     * Deletes the redirect filter; a vif that is gone took its filters with it.
     *
     * @return false if the vif was gone
     */
    public boolean removeRedirect(InterfaceName vif, int filterProtocol, int priority) {
        Optional<Link> link = netlink.findLink(vif);
        // the ifb plays no part in deleting by priority and protocol
        link.ifPresent(l -> netlink.deleteRedirect(new RedirectFilter(l, l, filterProtocol, priority)));
        return link.isPresent();
    }

    /**
     * Deletes the vif's ingress qdisc; a vif that is gone took it with it.
     *
     * @return false if the vif was gone
     */
    public boolean removeIngress(InterfaceName vif) {
        Optional<Link> link = netlink.findLink(vif);
        link.ifPresent(l -> netlink.deleteIngress(new IngressQdisc(l)));
        return link.isPresent();
    }

    /**
     * Deletes the ifb if this buffer created it, else sets it down and leaves it in the pool. Absent is done.
     *
     * @return false if the ifb was gone
     */
    public boolean releaseIfb(InterfaceName ifb, boolean created) {
        Optional<Link> link = netlink.findLink(ifb);
        link.ifPresent(l -> {
            if (created) {
                netlink.deleteLink(l);
            } else {
                netlink.setDown(l);
            }
        });
        return link.isPresent();
    }

    // ---------------------------------------------------------------- a step for many buffers

    /**
     * Runs {@code step}'s kernel call for each of {@code buffers} (a domain's vifs): the step's one place where an
     * event of the table meets the kernel. Per buffer, in order, what it came to; one buffer's failure does not
     * keep the others from their step.
     *
     * @throws IllegalArgumentException for an event without a kernel call (FAIL, CLEARED)
     */
    public List<StepOutcome> run(BufferEvent step, List<BufferObjects> buffers) {
        List<StepOutcome> outcomes = new java.util.ArrayList<>(buffers.size());
        for (BufferObjects b : buffers) {
            try {
                outcomes.add(StepOutcome.done(runOne(step, b)));
            } catch (RuntimeException e) {
                outcomes.add(StepOutcome.failed(e));
            }
        }
        return outcomes;
    }

    /** One buffer's kernel call for {@code step}; returns the journal's note, if any. */
    private String runOne(BufferEvent step, BufferObjects b) {
        String vifGone = "vif " + b.vif() + " is gone: it took its ingress qdisc and filter with it";
        String ifbGone = "ifb " + b.ifb() + " is gone: it took its plug qdisc with it";
        switch (step) {
            case ACQUIRE_IFB -> {
                if (b.ifbCreated()) {
                    createIfb(b.ifb());
                } else {
                    takeIfb(b.ifb());
                }
            }
            case ADD_INGRESS -> addIngress(b.vif());
            case ADD_REDIRECT -> addRedirect(b.vif(), b.ifb(), b.protocol(), b.priority());
            case ADD_PLUG -> addPlug(b.ifb(), b.plugHandle(), b.limitBytes());
            case RELEASE -> releasePlug(b.ifb(), b.plugHandle());
            case RESUME -> requirePlug(b.ifb(), b.plugHandle());
            case REMOVE_PLUG -> {
                return removePlug(b.ifb(), b.plugHandle()) ? null : ifbGone;
            }
            case DROP_HELD -> {
                return dropPlug(b.ifb(), b.plugHandle()) ? null : ifbGone;
            }
            case REMOVE_REDIRECT -> {
                return removeRedirect(b.vif(), b.protocol(), b.priority()) ? null : vifGone;
            }
            case REMOVE_INGRESS -> {
                return removeIngress(b.vif()) ? null : vifGone;
            }
            case RELEASE_IFB -> {
                return releaseIfb(b.ifb(), b.ifbCreated()) ? null : "ifb " + b.ifb() + " is gone";
            }
            case FAIL, CLEARED -> throw new IllegalArgumentException(step + " has no kernel call");
        }
        return null;
    }

    // ---------------------------------------------------------------- all steps at once

    public InstalledBuffer install(InterfaceName vifName, InterfaceName ifbName) {
        return install(vifName, ifbName, Set.of(), (step, vif) -> { });
    }

    /**
     * Runs the four steps; a failure undoes, in reverse, the steps made before it, then rethrows.
     *
     * @param ifbName the name of the ifb to create (CREATE mode); ignored in POOL mode
     * @param claimed ifb names other buffers hold, which POOL mode must not take
     */
    public InstalledBuffer install(InterfaceName vifName, InterfaceName ifbName, Set<InterfaceName> claimed,
                                   StepListener listener) {
        Link vif = netlink.link(vifName);
        Deque<Runnable> undo = new ArrayDeque<>();
        try {
            listener.before(Step.ACQUIRE_IFB, vifName);
            boolean created = ifbMode == IfbMode.CREATE;
            InterfaceName ifbTaken = created ? ifbName : freePoolIfbs(claimed).stream().findFirst()
                    .orElseThrow(BufferInstaller::poolEmpty);
            Link ifb = created ? createIfb(ifbTaken) : takeIfb(ifbTaken);
            undo.push(() -> releaseIfb(ifbTaken, created));

            // each undo is pushed once its step has succeeded: a step refused because the object belongs to
            // someone else (a second install on the same vif) must not remove the other's object
            listener.before(Step.ADD_INGRESS, vifName);
            addIngress(vifName);
            undo.push(() -> removeIngress(vifName));

            listener.before(Step.ADD_REDIRECT, vifName);
            addRedirect(vifName, ifbTaken, protocol, RedirectFilter.DEFAULT_PRIORITY);
            undo.push(() -> removeRedirect(vifName, protocol, RedirectFilter.DEFAULT_PRIORITY));

            listener.before(Step.ADD_PLUG, vifName);
            PlugQdisc plug = addPlug(ifbTaken, PlugQdisc.DEFAULT_HANDLE, limitBytes);
            return new InstalledBuffer(vif, ifb, created, new IngressQdisc(vif),
                    new RedirectFilter(vif, ifb, protocol, RedirectFilter.DEFAULT_PRIORITY), plug);
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

    /** Runs the removal steps in reverse order. Idempotent: objects already gone, or a vanished vif, are done. */
    public void uninstall(InstalledBuffer buffer) {
        removePlug(buffer.plug().ifb().name(), buffer.plug().handle());
        removeRedirect(buffer.vif().name(), buffer.redirect().protocol(), buffer.redirect().priority());
        removeIngress(buffer.vif().name());
        releaseIfb(buffer.ifb().name(), buffer.ifbCreated());
    }

    private Link require(InterfaceName name, String operation) {
        return netlink.findLink(name).orElseThrow(() ->
                new LinkNotFoundException(operation, name.value(), -Nle.NODEV, "no such device"));
    }

    /** The error for a pool without a free ifb, naming the two ways out. */
    public static NetlinkException poolEmpty() {
        return new NetlinkException("acquire ifb", "ifb pool", -Nle.OBJ_NOTFOUND, "no free ifb device",
                "load more: modprobe ifb numifbs=N, or set netbuf.ifb-mode=create");
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
}
