package io.remus.netbuf.netlink;

import io.remus.netbuf.model.BufferEvent;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The kernel steps of a buffer, one method each, in the design's order (ifb up, ingress, redirect filter, plug)
 * and back, and {@link #run}, which runs a step for a domain's buffers: the lifecycle calls it once per step.
 * Removal steps take names, not links: the device may be gone, and then there is nothing left to remove.
 */
public final class BufferInstaller {

    /** How long removing a plug waits for released frames to leave before it deletes the qdisc. */
    static final long DRAIN_MILLIS = 200;

    private final Netlink netlink;

    /** The step methods take each buffer's own parameters. */
    public BufferInstaller(Netlink netlink) {
        this.netlink = netlink;
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

    private static NetlinkException noPlug(InterfaceName ifb, TcHandle handle) {
        return new NetlinkException("find plug qdisc", ifb.value(), -Nle.OBJ_NOTFOUND, "no plug " + handle
                + " at the root of " + ifb, "stop the domain and start it again to install a new buffer");
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
     * event of the table meets the kernel. Per buffer, in order, what it came to, as the step's single method above
     * would have come to it alone (the same journal notes, the same errors); one buffer's failure does not keep the
     * others from their step.
     *
     * <p>Batched: the step's requests for all buffers go out in one sendmsg ({@link NetlinkBatch}), after one
     * sendmsg of gets that finds the step's devices by name ({@link Netlink#linksNamed}): a get per vif or ifb the
     * step acts on, never a dump of every link on the host, so a step's cost does not grow with the number of
     * buffers on the host. Where a request may only be sent once an earlier one has succeeded, a step takes a
     * second sendmsg for all buffers: ACQUIRE_IFB in CREATE mode (the new ifb's addrgenmode and up only once it is
     * created: sent with the create, they would change a device of that name that was there before; then one more
     * sendmsg of gets for the new ifindexes), and ADD_PLUG (release_indefinite only on a plug it made: sent with
     * the add, it would release another plug's held frames). A third goes out only to undo what a failed buffer's
     * step left (the ifb it created). REMOVE_PLUG's drain wait and RESUME read each plug with its own get.
     *
     * @throws IllegalArgumentException for an event without a kernel call (FAIL, CLEARED)
     * @throws NetlinkException         if finding the links fails (every buffer's step would have failed with it)
     */
    public List<StepOutcome> run(BufferEvent step, List<BufferObjects> buffers) {
        if (step == BufferEvent.FAIL || step == BufferEvent.CLEARED) {
            throw new IllegalArgumentException(step + " has no kernel call");
        }
        StepOutcome[] out = new StepOutcome[buffers.size()];
        if (buffers.isEmpty()) {
            return List.of();
        }
        try {
            switch (step) {
                case ACQUIRE_IFB -> acquireIfbs(buffers, out);
                case ADD_INGRESS -> addIngresses(buffers, out);
                case ADD_REDIRECT -> addRedirects(buffers, out);
                case ADD_PLUG -> addPlugs(buffers, out);
                case RELEASE -> releasePlugs(buffers, out);
                case RESUME -> requirePlugs(buffers, out);
                case REMOVE_PLUG -> removePlugs(buffers, out);
                case DROP_HELD -> dropPlugs(buffers, out);
                case REMOVE_REDIRECT -> removeRedirects(buffers, out);
                case REMOVE_INGRESS -> removeIngresses(buffers, out);
                case RELEASE_IFB -> releaseIfbs(buffers, out);
                case FAIL, CLEARED -> throw new AssertionError(step);
            }
        } catch (NetlinkException e) {
            // a batch as a whole could not be sent or answered: each buffer not yet settled failed with it
            for (int i = 0; i < out.length; i++) {
                if (out[i] == null) {
                    out[i] = StepOutcome.failed(e);
                }
            }
        }
        return List.of(out);
    }

    private static String vifGone(BufferObjects b) {
        return "vif " + b.vif() + " is gone: it took its ingress qdisc and filter with it";
    }

    private static String ifbGone(BufferObjects b) {
        return "ifb " + b.ifb() + " is gone: it took its plug qdisc with it";
    }

    private static Optional<Link> find(Map<String, LibNl.LinkRow> links, InterfaceName name) {
        LibNl.LinkRow row = links.get(name.value());
        return row == null ? Optional.empty() : Optional.of(new Link(name, row.index()));
    }

    /** As {@link #require}, from the step's links. */
    private static Link require(Map<String, LibNl.LinkRow> links, InterfaceName name, String operation) {
        return find(links, name).orElseThrow(() -> notFound(name, operation));
    }

    /** The step's vifs that exist, by name ({@link Netlink#linksNamed}: one sendmsg, no dump). */
    private Map<String, LibNl.LinkRow> vifs(List<BufferObjects> buffers) {
        return netlink.linksNamed(buffers.stream().map(BufferObjects::vif).toList());
    }

    /** The step's ifbs that exist, by name. */
    private Map<String, LibNl.LinkRow> ifbs(List<BufferObjects> buffers) {
        return netlink.linksNamed(buffers.stream().map(BufferObjects::ifb).toList());
    }

    /** The step's vifs and ifbs that exist, by name, from one sendmsg. */
    private Map<String, LibNl.LinkRow> vifsAndIfbs(List<BufferObjects> buffers) {
        return netlink.linksNamed(buffers.stream().flatMap(b -> java.util.stream.Stream.of(b.vif(), b.ifb()))
                .toList());
    }

    private static StepOutcome outcome(NetlinkBatch batch, int request, int buffer) {
        return batch.ok(request) ? StepOutcome.done() : StepOutcome.failed(batch.failure(request));
    }

    private static int[] none(int n) {
        int[] requests = new int[n];
        Arrays.fill(requests, -1);
        return requests;
    }

    /** {@link Netlink#noIpv6Address}'s failure, or null: a kernel without IPv6 has nothing to turn off. */
    private static NetlinkException noIpv6Failure(NetlinkBatch batch, int request) {
        return request < 0 || batch.ok(request) || Math.abs(batch.code(request)) == Nle.AF_NOSUPPORT ? null
                : batch.failure(request);
    }

    /** {@link #createIfb} or {@link #takeIfb} for each buffer, as {@link #run} describes. */
    private void acquireIfbs(List<BufferObjects> buffers, StepOutcome[] out) {
        int n = buffers.size();
        boolean anyPool = buffers.stream().anyMatch(b -> !b.ifbCreated());
        Map<String, LibNl.LinkRow> before = anyPool ? netlink.linksNamed(buffers.stream()
                .filter(b -> !b.ifbCreated()).map(BufferObjects::ifb).toList()) : Map.of();
        NetlinkBatch first = netlink.newBatch();
        int[] create = none(n), poolNoIpv6 = none(n), poolUp = none(n);
        Link[] links = new Link[n];
        for (int i = 0; i < n; i++) {
            BufferObjects b = buffers.get(i);
            if (b.ifbCreated()) {
                create[i] = first.createIfb(b.ifb());
                continue;
            }
            LibNl.LinkRow row = before.get(b.ifb().value());
            if (row == null) {
                out[i] = StepOutcome.failed(notFound(b.ifb(), "take ifb"));
                continue;
            }
            links[i] = new Link(b.ifb(), row.index());
            if (!row.up()) {
                poolNoIpv6[i] = first.noIpv6Address(links[i]);
            }
            poolUp[i] = first.setUp(links[i]);
        }
        netlink.send(first);

        // what a failed buffer's step must undo: an ifb it created, a pool ifb it set up after all
        NetlinkBatch undo = netlink.newBatch();
        int[] undoOf = none(n);
        NetlinkException[] failed = new NetlinkException[n];
        for (int i = 0; i < n; i++) {
            if (poolUp[i] >= 0) {
                failed[i] = noIpv6Failure(first, poolNoIpv6[i]);
                if (failed[i] == null) {
                    failed[i] = first.failure(poolUp[i]);
                } else if (first.ok(poolUp[i])) {
                    undoOf[i] = undo.setDown(links[i]); // alone, the step would have stopped before up
                }
            } else if (create[i] >= 0 && !first.ok(create[i])) {
                failed[i] = first.failure(create[i]);
            }
        }

        List<InterfaceName> created = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (create[i] >= 0 && first.ok(create[i])) {
                created.add(buffers.get(i).ifb());
            }
        }
        if (!created.isEmpty()) {
            Map<String, LibNl.LinkRow> after = netlink.linksNamed(created);
            NetlinkBatch second = netlink.newBatch();
            int[] noIpv6 = none(n), up = none(n);
            for (int i = 0; i < n; i++) {
                if (create[i] >= 0 && first.ok(create[i])) {
                    InterfaceName ifb = buffers.get(i).ifb();
                    Optional<Link> made = find(after, ifb);
                    if (made.isEmpty()) {
                        failed[i] = Netlink.failure(Nle.Step.FIND_LINK, ifb.value(), -Nle.NODEV);
                        continue;
                    }
                    links[i] = made.get();
                    noIpv6[i] = second.noIpv6Address(links[i]);
                    up[i] = second.setUp(links[i]);
                }
            }
            netlink.send(second);
            for (int i = 0; i < n; i++) {
                if (up[i] >= 0) {
                    failed[i] = noIpv6Failure(second, noIpv6[i]);
                    if (failed[i] == null) {
                        failed[i] = second.failure(up[i]);
                    }
                    if (failed[i] != null) {
                        undoOf[i] = undo.deleteLink(links[i]);
                    }
                }
            }
        }

        if (!undo.isEmpty()) {
            netlink.send(undo);
            for (int i = 0; i < n; i++) {
                if (undoOf[i] >= 0 && !undo.ok(undoOf[i]) && !Nle.isGone(undo.code(undoOf[i]))) {
                    failed[i].addSuppressed(undo.failure(undoOf[i]));
                }
            }
        }
        for (int i = 0; i < n; i++) {
            if (out[i] == null) {
                out[i] = failed[i] == null ? StepOutcome.done() : StepOutcome.failed(failed[i]);
            }
        }
    }

    private void addIngresses(List<BufferObjects> buffers, StepOutcome[] out) {
        Map<String, LibNl.LinkRow> links = vifs(buffers);
        oneEach(out, (batch, i) -> batch.addIngress(new IngressQdisc(require(links, buffers.get(i).vif(),
                "add ingress qdisc"))), BufferInstaller::outcome);
    }

    private void addRedirects(List<BufferObjects> buffers, StepOutcome[] out) {
        Map<String, LibNl.LinkRow> links = vifsAndIfbs(buffers);
        oneEach(out, (batch, i) -> {
            BufferObjects b = buffers.get(i);
            return batch.addRedirect(new RedirectFilter(require(links, b.vif(), "add redirect filter"),
                    require(links, b.ifb(), "add redirect filter"), b.protocol(), b.priority()));
        }, BufferInstaller::outcome);
    }

    /** Every add in one sendmsg; then release_indefinite, in a second, only on the plugs the first made. */
    private void addPlugs(List<BufferObjects> buffers, StepOutcome[] out) {
        Map<String, LibNl.LinkRow> links = ifbs(buffers);
        PlugQdisc[] plugs = new PlugQdisc[buffers.size()];
        oneEach(out, (batch, i) -> {
            BufferObjects b = buffers.get(i);
            plugs[i] = new PlugQdisc(require(links, b.ifb(), "add plug qdisc"), b.plugHandle(), b.limitBytes());
            return batch.addPlug(plugs[i]);
        }, (batch, request, i) -> batch.ok(request) ? null : outcome(batch, request, i));
        oneEach(out, (batch, i) -> batch.plugReleaseIndefinite(plugs[i]), BufferInstaller::outcome);
    }

    private void releasePlugs(List<BufferObjects> buffers, StepOutcome[] out) {
        Map<String, LibNl.LinkRow> links = ifbs(buffers);
        oneEach(out, (batch, i) -> batch.plugReleaseIndefinite(new PlugQdisc(require(links, buffers.get(i).ifb(),
                "plug release_indefinite"), buffers.get(i).plugHandle(), PlugQdisc.DEFAULT_LIMIT_BYTES)),
                BufferInstaller::outcome);
    }

    /** RESUME changes nothing: per buffer, one get of its plug (after the step's one sendmsg of link gets). */
    private void requirePlugs(List<BufferObjects> buffers, StepOutcome[] out) {
        Map<String, LibNl.LinkRow> links = ifbs(buffers);
        for (int i = 0; i < buffers.size(); i++) {
            BufferObjects b = buffers.get(i);
            try {
                PlugQdisc plug = new PlugQdisc(require(links, b.ifb(), "find plug qdisc"), b.plugHandle(),
                        PlugQdisc.DEFAULT_LIMIT_BYTES);
                if (netlink.plugStats(plug).isEmpty()) {
                    throw noPlug(b.ifb(), b.plugHandle());
                }
                out[i] = StepOutcome.done();
            } catch (RuntimeException e) {
                out[i] = StepOutcome.failed(e);
            }
        }
    }

    /**
     * {@link #removePlug} for each buffer: release_indefinite on every plug in one sendmsg (a plug that is not
     * there fails it, and is then looked at: absent, there was nothing to release), the drain wait for all of them
     * at once, then every delete in one sendmsg.
     */
    private void removePlugs(List<BufferObjects> buffers, StepOutcome[] out) {
        Map<String, LibNl.LinkRow> links = ifbs(buffers);
        PlugQdisc[] plugs = plugsOn(buffers, links, out);
        Map<PlugQdisc, Integer> released = new java.util.LinkedHashMap<>();
        oneEach(out, (batch, i) -> batch.plugReleaseIndefinite(plugs[i]), (batch, request, i) -> {
            if (batch.ok(request)) {
                released.put(plugs[i], i);
                return null;
            }
            try { // a plug that is not there had nothing to release
                return netlink.plugStats(plugs[i]).isPresent() ? outcome(batch, request, i) : null;
            } catch (RuntimeException e) {
                return StepOutcome.failed(e);
            }
        });
        awaitDrained(released, out);
        deletePlugs(plugs, out);
    }

    private void dropPlugs(List<BufferObjects> buffers, StepOutcome[] out) {
        deletePlugs(plugsOn(buffers, ifbs(buffers), out), out);
    }

    /** Each buffer's plug on its ifb; a buffer whose ifb is gone is done (the plug went with it). */
    private static PlugQdisc[] plugsOn(List<BufferObjects> buffers, Map<String, LibNl.LinkRow> links,
                                       StepOutcome[] out) {
        PlugQdisc[] plugs = new PlugQdisc[buffers.size()];
        for (int i = 0; i < buffers.size(); i++) {
            BufferObjects b = buffers.get(i);
            Optional<Link> ifb = find(links, b.ifb());
            if (ifb.isEmpty()) {
                out[i] = StepOutcome.done(ifbGone(b));
            } else {
                plugs[i] = new PlugQdisc(ifb.get(), b.plugHandle(), PlugQdisc.DEFAULT_LIMIT_BYTES);
            }
        }
        return plugs;
    }

    /** Deletes each plug whose buffer is not settled yet, in one sendmsg; absent is done. */
    private void deletePlugs(PlugQdisc[] plugs, StepOutcome[] out) {
        oneEach(out, (batch, i) -> batch.deletePlug(plugs[i]),
                (batch, request, i) -> settled(() -> netlink.deleted(plugs[i], batch.code(request)), batch, request));
    }

    /** Done if {@code deleted} says the object is gone after its delete request, else the request's failure. */
    private static StepOutcome settled(java.util.function.BooleanSupplier deleted, NetlinkBatch batch, int request) {
        try {
            return deleted.getAsBoolean() ? StepOutcome.done() : StepOutcome.failed(batch.failure(request));
        } catch (RuntimeException e) {
            return StepOutcome.failed(e);
        }
    }

    private void removeRedirects(List<BufferObjects> buffers, StepOutcome[] out) {
        Map<String, LibNl.LinkRow> links = vifs(buffers);
        RedirectFilter[] filters = new RedirectFilter[buffers.size()];
        oneEach(out, (batch, i) -> {
            BufferObjects b = buffers.get(i);
            Optional<Link> vif = find(links, b.vif());
            if (vif.isEmpty()) {
                out[i] = StepOutcome.done(vifGone(b));
                return -1;
            }
            // the ifb plays no part in deleting by priority and protocol
            filters[i] = new RedirectFilter(vif.get(), vif.get(), b.protocol(), b.priority());
            return batch.deleteRedirect(filters[i]);
        }, (batch, request, i) -> settled(() -> netlink.deleted(filters[i], batch.code(request)), batch, request));
    }

    private void removeIngresses(List<BufferObjects> buffers, StepOutcome[] out) {
        Map<String, LibNl.LinkRow> links = vifs(buffers);
        IngressQdisc[] ingresses = new IngressQdisc[buffers.size()];
        oneEach(out, (batch, i) -> {
            BufferObjects b = buffers.get(i);
            Optional<Link> vif = find(links, b.vif());
            if (vif.isEmpty()) {
                out[i] = StepOutcome.done(vifGone(b));
                return -1;
            }
            ingresses[i] = new IngressQdisc(vif.get());
            return batch.deleteIngress(ingresses[i]);
        }, (batch, request, i) -> settled(() -> netlink.deleted(ingresses[i], batch.code(request)), batch, request));
    }

    private void releaseIfbs(List<BufferObjects> buffers, StepOutcome[] out) {
        Map<String, LibNl.LinkRow> links = ifbs(buffers);
        oneEach(out, (batch, i) -> {
            BufferObjects b = buffers.get(i);
            Optional<Link> ifb = find(links, b.ifb());
            if (ifb.isEmpty()) {
                out[i] = StepOutcome.done("ifb " + b.ifb() + " is gone");
                return -1;
            }
            return b.ifbCreated() ? batch.deleteLink(ifb.get()) : batch.setDown(ifb.get());
        }, (batch, request, i) -> batch.ok(request) || Nle.isGone(batch.code(request)) ? StepOutcome.done()
                : StepOutcome.failed(batch.failure(request))); // a device already gone: done, for delete and down
    }

    /** Adds buffer {@code i}'s request to {@code batch}: its index, or -1 if it settled the buffer's outcome itself. */
    @FunctionalInterface
    private interface Request {
        int add(NetlinkBatch batch, int i);
    }

    /** Buffer {@code i}'s outcome from the answer to its {@code request}, or null to leave it unsettled. */
    @FunctionalInterface
    private interface Answer {
        StepOutcome of(NetlinkBatch batch, int request, int i);
    }

    /**
     * The shape of every batched step: for each buffer not settled yet, its request (one that throws fails the
     * buffer with it), all in one sendmsg; then each answer mapped back to its buffer.
     */
    private void oneEach(StepOutcome[] out, Request request, Answer answer) {
        NetlinkBatch batch = netlink.newBatch();
        int[] sent = none(out.length);
        for (int i = 0; i < out.length; i++) {
            if (out[i] == null) {
                try {
                    sent[i] = request.add(batch, i);
                } catch (RuntimeException e) {
                    out[i] = StepOutcome.failed(e);
                }
            }
        }
        if (batch.isEmpty()) {
            return;
        }
        netlink.send(batch);
        for (int i = 0; i < out.length; i++) {
            if (sent[i] >= 0) {
                out[i] = answer.of(batch, sent[i], i);
            }
        }
    }

    private Link require(InterfaceName name, String operation) {
        return netlink.findLink(name).orElseThrow(() -> notFound(name, operation));
    }

    private static LinkNotFoundException notFound(InterfaceName name, String operation) {
        return new LinkNotFoundException(operation, name.value(), -Nle.NODEV, "no such device");
    }

    /** The error for a pool without a free ifb, naming the two ways out. */
    public static NetlinkException poolEmpty() {
        return new NetlinkException("acquire ifb", "ifb pool", -Nle.OBJ_NOTFOUND, "no free ifb device",
                "load more: modprobe ifb numifbs=N, or set netbuf.ifb-mode=create");
    }

    /**
     * The kernel dequeues released frames in softirq context, after the release call has returned; deleting a
     * qdisc before then would drop them. Waits, within one {@link #DRAIN_MILLIS} for all of them, until each plug's
     * backlog is empty, reading each with its own get (never a dump). A plug whose read fails settles its buffer's
     * outcome as failed.
     */
    private void awaitDrained(Map<PlugQdisc, Integer> plugs, StepOutcome[] out) {
        Map<PlugQdisc, Integer> left = new java.util.LinkedHashMap<>(plugs);
        long deadline = System.nanoTime() + DRAIN_MILLIS * 1_000_000L;
        while (!left.isEmpty()) {
            left.entrySet().removeIf(e -> {
                try {
                    Optional<PlugStats> stats = netlink.plugStats(e.getKey());
                    return stats.isEmpty() || stats.get().backlogPackets() == 0;
                } catch (RuntimeException failure) {
                    out[e.getValue()] = StepOutcome.failed(failure);
                    return true;
                }
            });
            if (left.isEmpty() || System.nanoTime() >= deadline) {
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

    private void awaitDrained(PlugQdisc plug) {
        StepOutcome[] out = new StepOutcome[1];
        awaitDrained(Map.of(plug, 0), out);
        if (out[0] != null && !out[0].ok()) {
            throw out[0].failure();
        }
    }
}
