package io.remus.netbuf.netlink;

import io.remus.netbuf.libc.LibC;
import io.remus.netbuf.netlink.Nle.Step;
import io.remus.netbuf.packet.VifTap;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The kernel operations of a network buffer, one method per operation, over one libnl route socket.
 * Each method's comment names the {@code tc}/{@code ip} command it stands for. Calls are serialised on the
 * socket (libnl sockets are not thread-safe); the checkpoint hot path has a socket of its own ({@link #hotPath}).
 * Deletions are idempotent: an object that is already gone, or whose device is gone, is success.
 */
public final class Netlink implements AutoCloseable {

    private final LibNl.Socket socket;
    private LibNl.BatchBuffer batch;
    private LibNl.PlugObject[] batchObjects = new LibNl.PlugObject[0];
    private final String namespace;
    private Netlink hotPath;

    private Netlink(LibNl.Socket socket, String namespace) {
        this.socket = socket;
        this.namespace = namespace;
    }

    /** A socket in the caller's network namespace. */
    public static Netlink open() {
        LibNl.requireLoaded();
        return new Netlink(connect(), null);
    }

    /**
     * A socket in another network namespace, given by its file ({@code /run/netns/NAME} for {@code ip netns}):
     * every operation on it acts in that namespace.
     */
    public static Netlink openInNamespace(Path namespaceFile) {
        LibNl.requireLoaded();
        if (!Files.exists(namespaceFile)) {
            throw new NetlinkUnavailableException("network namespace file " + namespaceFile
                    + " does not exist (create it with: ip netns add NAME)", null);
        }
        String path = namespaceFile.toString();
        return new Netlink(NamespaceThread.inNamespace(path, Netlink::connect), path);
    }

    /** {@link #openInNamespace(Path)} on the namespace's file: {@code ip -n NAME ...}. */
    public static Netlink openInNamespace(NetworkNamespace namespace) {
        return openInNamespace(namespace.file());
    }

    /**
     * A null tap on {@code vif} in this socket's network namespace ({@link VifTap}): the kernel then copies the
     * frames a Xen guest sends through it out of the guest's pages, so netback completes them at once instead of
     * when a plug lets them out.
     */
    public VifTap openNullTap(Link vif) {
        return namespace == null ? VifTap.open(vif.index(), vif.name().value())
                : NamespaceThread.inNamespace(namespace, () -> VifTap.open(vif.index(), vif.name().value()));
    }

    private static LibNl.Socket connect() {
        int[] error = new int[1];
        LibNl.Socket s = LibNl.openSocket(error);
        if (s == null) {
            throw failure(Step.LIST, "netlink route socket", error[0]);
        }
        return s;
    }

    /**
     * A second socket in this one's network namespace, for the checkpoint hot path alone (its plug controls and
     * {@link #plugBatch}): each socket has its own lock, so a listing, a metrics scrape or a teardown's drain wait
     * holding this one never delays a checkpoint. Opened on the first call, the same one on every call after it,
     * closed with this one.
     */
    public synchronized Netlink hotPath() {
        if (hotPath == null) {
            hotPath = namespace == null ? open() : openInNamespace(Path.of(namespace));
        }
        return hotPath;
    }

    /** The namespace file this socket was opened in, or empty for the caller's own. */
    public Optional<String> namespace() {
        return Optional.ofNullable(namespace);
    }

    // ---------------------------------------------------------------- links

    /** {@code ip link show NAME}: the link, or empty when no such device exists. */
    public synchronized Optional<Link> findLink(InterfaceName name) {
        int rc = LibNl.linkIndex(socket, name.value());
        if (rc > 0) {
            return Optional.of(new Link(name, rc));
        }
        if (Nle.isGone(rc)) {
            return Optional.empty();
        }
        throw failure(Step.FIND_LINK, name.value(), rc);
    }

    /** Like {@link #findLink} but a missing device is a {@link LinkNotFoundException}. */
    public Link link(InterfaceName name) {
        return findLink(name).orElseThrow(() -> new LinkNotFoundException(Step.FIND_LINK.text, name.value(),
                -Nle.NODEV, "no such device"));
    }

    /** {@code ip link add NAME type ifb}. */
    public synchronized Link createIfb(InterfaceName name) {
        check(LibNl.ifbAdd(socket, name.value()), Step.CREATE_IFB, name.value());
        int index = LibNl.linkIndex(socket, name.value());
        check(index, Step.FIND_LINK, name.value());
        return new Link(name, index);
    }

    /**
     * {@code ip link add HOST type veth peer name PEER netns NS}, then {@code ip link set HOST up} and
     * {@code ip -n NS link set PEER up}: a veth pair with {@code hostEnd} in this socket's namespace and {@code peer}
     * in {@code peerNamespace} (see {@link Namespaces#create}), both up. Two netlink requests, sent from a socket in
     * the peer's namespace: the pair with the host end up, then the peer up; if the second fails, the pair is
     * deleted again. A device of this namespace named like the peer does not get in the way. {@link #deleteLink} on
     * the host end deletes the pair, and so does deleting the peer's namespace.
     *
     * @return the host end
     */
    public Link createVethPair(InterfaceName hostEnd, InterfaceName peer, NetworkNamespace peerNamespace) {
        return createVethPairs(List.of(hostEnd), List.of(peer), peerNamespace).getFirst();
    }

    /**
     * {@link #createVethPair} for several pairs into one namespace (a domain's vifs), all or none: from one thread
     * and one socket in the peer's namespace, each pair made and both its ends set up in turn; if one fails, the
     * pairs made before it are deleted again and the failure thrown.
     *
     * @return the host ends, in order
     */
    public synchronized List<Link> createVethPairs(List<InterfaceName> hostEnds, List<InterfaceName> peers,
                                                   NetworkNamespace peerNamespace) {
        if (hostEnds.size() != peers.size()) {
            throw new IllegalArgumentException(hostEnds.size() + " host ends for " + peers.size() + " peers");
        }
        int peerFd = LibC.open(peerNamespace.file().toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (peerFd < 0) {
            throw Namespaces.failure(Step.CREATE_VETH.text + " " + hostEnds + " with peers " + peers + " in netns",
                    peerNamespace, new Namespaces.SysError("open " + peerNamespace.file(), -peerFd));
        }
        String ownFile = namespace != null ? namespace : "/proc/self/ns/net";
        int ownFd = LibC.open(ownFile, LibC.O_RDONLY | LibC.O_CLOEXEC);
        try {
            if (ownFd < 0) {
                throw new NetlinkException("create veth pairs " + hostEnds + " failed: cannot open " + ownFile
                        + ": errno " + -ownFd, Step.CREATE_VETH.text, hostEnds.toString(), null);
            }
            // The kernel looks the request's first device up by name in the namespace of the socket that sends it,
            // wherever that device is made: sent from here, a peer named like a device of this namespace (an eth0
            // of dom0) would be refused as existing. So the requests go out from a socket in the peer's
            // namespace: for each pair first the host end, made here (by ownFd) and up, then the peer, made there.
            int[] error = new int[1];
            LibNl.Socket there = NamespaceThread.inNamespace(peerFd, error, Netlink::connect);
            if (there == null) {
                // setns: EINVAL is a file that is no network namespace, anything else a missing privilege
                throw failure(Step.CREATE_VETH, hostEnds + " (peers " + peers + " in netns " + peerNamespace + ")",
                        error[0] == -Errno.EINVAL ? -Nle.INVAL : -Nle.PERM);
            }
            try {
                for (int i = 0; i < hostEnds.size(); i++) {
                    try {
                        addVethPair(there, ownFd, hostEnds.get(i), peers.get(i), peerNamespace);
                    } catch (RuntimeException e) {
                        deleteMade(hostEnds.subList(0, i), e);
                        throw e;
                    }
                }
            } finally {
                LibNl.closeSocket(there);
            }
        } finally {
            if (ownFd >= 0) {
                LibC.close(ownFd);
            }
            LibC.close(peerFd);
        }
        List<Link> made = new ArrayList<>(hostEnds.size());
        for (InterfaceName hostEnd : hostEnds) {
            int index = LibNl.linkIndex(socket, hostEnd.value());
            check(index, Step.FIND_LINK, hostEnd.value());
            made.add(new Link(hostEnd, index));
        }
        return made;
    }

    private void addVethPair(LibNl.Socket there, int ownFd, InterfaceName hostEnd, InterfaceName peer,
                             NetworkNamespace peerNamespace) {
        String device = hostEnd + " (peer " + peer + " in netns " + peerNamespace + ")";
        check(LibNl.vethAdd(there, peer.value(), hostEnd.value(), ownFd), Step.CREATE_VETH, device);
        int peerIndex = LibNl.linkIndex(there, peer.value());
        int rc = peerIndex < 0 ? peerIndex : LibNl.linkSetUp(there, peerIndex, true);
        if (rc < 0) {
            deleteMade(List.of(hostEnd), null);
            throw failure(Step.SET_UP, peer + " in netns " + peerNamespace, rc);
        }
    }

    /** Deletes the pairs of these host ends (a pair made by {@link #createVethPairs}), a failure added to {@code to}. */
    private void deleteMade(List<InterfaceName> hostEnds, RuntimeException to) {
        for (InterfaceName hostEnd : hostEnds) {
            int index = LibNl.linkIndex(socket, hostEnd.value());
            int rc = index > 0 ? LibNl.linkDelete(socket, index) : 0;
            if (rc < 0 && to != null) {
                to.addSuppressed(failure(Step.DELETE_LINK, hostEnd.value(), rc));
            }
        }
    }

    /** {@code ip link del NAME}; a device already gone is success. */
    public synchronized void deleteLink(Link link) {
        checkOrGone(LibNl.linkDelete(socket, link.index()), Step.DELETE_LINK, link);
    }

    /**
     * {@code ip link set NAME addrgenmode none}, for a device that is still down: it will get no IPv6 address, so
     * it sends nothing of its own. A kernel without IPv6 has nothing to turn off.
     */
    public synchronized void noIpv6Address(Link link) {
        int rc = LibNl.linkNoIpv6Address(socket, link.index());
        if (rc != -Nle.AF_NOSUPPORT) {
            check(rc, Step.NO_IPV6_ADDRESS, link);
        }
    }

    /** {@code ip link set NAME up}. */
    public synchronized void setUp(Link link) {
        check(LibNl.linkSetUp(socket, link.index(), true), Step.SET_UP, link);
    }

    /** {@code ip link set NAME down}; a device already gone is success. */
    public synchronized void setDown(Link link) {
        checkOrGone(LibNl.linkSetUp(socket, link.index(), false), Step.SET_DOWN, link);
    }

    /** {@code ip link show type ifb}: every ifb device in this namespace. */
    public synchronized List<Link> ifbLinks() {
        int[] error = new int[1];
        List<LibNl.LinkRow> rows = LibNl.links(socket, error);
        check(error[0], Step.LIST, "links");
        return rows.stream().filter(r -> "ifb".equals(r.type()))
                .map(r -> new Link(InterfaceName.of(r.name()), r.index())).toList();
    }

    /** Whether the link is administratively up; a missing device is a {@link LinkNotFoundException}. */
    public synchronized boolean isUp(Link link) {
        int[] error = new int[1];
        List<LibNl.LinkRow> rows = LibNl.links(socket, error);
        check(error[0], Step.LIST, "links");
        return rows.stream().filter(r -> r.index() == link.index()).findFirst()
                .orElseThrow(() -> new LinkNotFoundException(Step.LIST.text, link.toString(), -Nle.NODEV,
                        "no such device"))
                .up();
    }

    // ---------------------------------------------------------------- ingress qdisc

    /** {@code tc qdisc add dev VIF ingress}. */
    public synchronized void addIngress(IngressQdisc ingress) {
        check(LibNl.ingressAdd(socket, ingress.vif().index()), Step.ADD_INGRESS, ingress.vif());
    }

    /** {@code tc qdisc del dev VIF ingress}; also removes the filters under it. Absent is success. */
    public synchronized void deleteIngress(IngressQdisc ingress) {
        int rc = LibNl.ingressDelete(socket, ingress.vif().index());
        if (!deleted(ingress, rc)) {
            throw failure(Step.DELETE_INGRESS, ingress.vif().toString(), rc);
        }
    }

    /** Whether a delete of the ingress qdisc that returned {@code rc} leaves it gone (absent is success). */
    synchronized boolean deleted(IngressQdisc ingress, int rc) {
        // the kernel says EINVAL, not ENOENT, when a device has no ingress qdisc to delete
        return rc >= 0 || Nle.isGone(rc) || Math.abs(rc) == Nle.INVAL
                && !hasQdisc(ingress.vif(), TcHandle.INGRESS_PARENT, IngressQdisc.KIND);
    }

    // ---------------------------------------------------------------- redirect filter

    /**
     * {@code tc filter add dev VIF parent ffff: protocol P prio N [handle H] u32 match u32 0 0 at OFF action mirred
     * egress redirect dev IFB}.
     */
    public synchronized void addRedirect(RedirectFilter filter) {
        check(LibNl.redirectAdd(socket, filter.vif().index(), filter.protocol(), filter.priority(), filter.handle(),
                filter.keyOffset(), filter.ifb().index()), Step.ADD_REDIRECT, filter.vif());
    }

    /**
     * {@code tc filter del dev VIF parent ffff: protocol P prio N [handle H] u32}: the filter's node, or with handle 0
     * every node at that priority; absent (or no ingress qdisc) is success.
     */
    public synchronized void deleteRedirect(RedirectFilter filter) {
        int rc = LibNl.redirectDelete(socket, filter.vif().index(), filter.protocol(), filter.priority(),
                filter.handle());
        if (!deleted(filter, rc)) {
            throw failure(Step.DELETE_REDIRECT, filter.vif().toString(), rc);
        }
    }

    /** Whether a delete of the redirect filter that returned {@code rc} leaves it gone (absent is success). */
    synchronized boolean deleted(RedirectFilter filter, int rc) {
        // EINVAL: no ingress qdisc to hold the filter, so nothing to delete
        return rc >= 0 || Nle.isGone(rc) || Math.abs(rc) == Nle.INVAL
                && findRedirect(filter.vif(), filter.priority()).isEmpty();
    }

    /**
     * {@code tc filter show dev VIF ingress}: the redirect filter at this priority that the kernel tries first, as
     * the kernel has it, or empty. The returned filter's ifb is identified by index only when it is not a link of
     * this namespace.
     */
    public Optional<RedirectFilter> findRedirect(Link vif, int priority) {
        return redirects(vif, priority).stream().findFirst();
    }

    /**
     * {@code tc filter show dev VIF ingress pref N}: every u32 node at this priority that redirects, in the order
     * the kernel tries them (more than one only while a filter is being upgraded).
     */
    public synchronized List<RedirectFilter> redirects(Link vif, int priority) {
        int[] error = new int[1];
        List<LibNl.FilterRow> rows = LibNl.ingressFilters(socket, vif.index(), error);
        if (error[0] < 0) {
            if (Nle.isGone(error[0]) || Math.abs(error[0]) == Nle.INVAL) {
                return List.of();
            }
            throw failure(Step.LIST, vif.toString(), error[0]);
        }
        return rows.stream()
                .filter(r -> r.priority() == priority && RedirectFilter.KIND.equals(r.kind()) && r.mirredTarget() > 0)
                .map(r -> new RedirectFilter(vif, linkByIndex(r.mirredTarget()), r.protocol(), r.priority(),
                        r.handle(), r.keyOffset()))
                .toList();
    }

    private Link linkByIndex(int index) {
        int[] error = new int[1];
        return LibNl.links(socket, error).stream().filter(r -> r.index() == index).findFirst()
                .map(r -> new Link(InterfaceName.of(r.name()), index))
                .orElse(new Link(InterfaceName.of("ifindex" + index), index));
    }

    // ---------------------------------------------------------------- plug qdisc

    /** {@code tc qdisc add dev IFB root handle H plug limit N}. A new plug qdisc starts blocked. */
    public synchronized void addPlug(PlugQdisc plug) {
        check(LibNl.plugAdd(socket, plug.ifb().index(), plug.handle().value(), (int) plug.limitBytes()),
                Step.ADD_PLUG, plug.ifb());
    }

    /** {@code tc qdisc del dev IFB root handle H}; absent is success. */
    public synchronized void deletePlug(PlugQdisc plug) {
        int rc = LibNl.plugDelete(socket, plug.ifb().index(), plug.handle().value());
        if (!deleted(plug, rc)) {
            throw failure(Step.DELETE_PLUG, plug.ifb().toString(), rc);
        }
    }

    /** Whether a delete of the plug qdisc that returned {@code rc} leaves it gone (absent is success). */
    synchronized boolean deleted(PlugQdisc plug, int rc) {
        return rc >= 0 || Nle.isGone(rc) || Math.abs(rc) == Nle.INVAL
                && !hasQdisc(plug.ifb(), TcHandle.ROOT, PlugQdisc.KIND);
    }

    /** {@code tc qdisc change dev IFB root plug limit N}. */
    public synchronized void setPlugLimit(PlugQdisc plug, long limitBytes) {
        PlugQdisc.checkLimit(limitBytes);
        check(LibNl.plugSetLimit(socket, plug.ifb().index(), plug.handle().value(), (int) limitBytes),
                Step.PLUG_LIMIT, plug.ifb());
    }

    /** {@code tc qdisc change dev IFB root plug block}: closes the current epoch. */
    public void plugBuffer(PlugQdisc plug) {
        try (PlugControl control = openPlugControl(plug)) {
            control.buffer();
        }
    }

    /** {@code tc qdisc change dev IFB root plug release}: lets the oldest closed epoch out. */
    public void plugReleaseOne(PlugQdisc plug) {
        try (PlugControl control = openPlugControl(plug)) {
            control.releaseOne();
        }
    }

    /** {@code tc qdisc change dev IFB root plug release_indefinite}: lets everything out until the next buffer. */
    public void plugReleaseIndefinite(PlugQdisc plug) {
        try (PlugControl control = openPlugControl(plug)) {
            control.releaseIndefinite();
        }
    }

    /**
     * {@code release_indefinite} on many plug qdiscs in one batch ({@link #plugBatch}): a domain's failover, or the
     * release command after the server died. Per plug, in order: null, or why its release failed.
     *
     * @throws NetlinkException if the batch as a whole could not be sent or answered
     */
    public List<NetlinkException> plugReleaseIndefinite(List<PlugQdisc> plugs) {
        PlugControl[] controls = new PlugControl[plugs.size()];
        int opened = 0;
        try {
            for (; opened < controls.length; opened++) {
                controls[opened] = openPlugControl(plugs.get(opened));
            }
            int[] errors = new int[controls.length];
            plugBatch(controls, controls.length, PlugAction.RELEASE_INDEFINITE, errors);
            List<NetlinkException> failures = new ArrayList<>(controls.length);
            for (int i = 0; i < controls.length; i++) {
                failures.add(errors[i] == 0 ? null : controls[i].failure(PlugAction.RELEASE_INDEFINITE, errors[i]));
            }
            return failures;
        } finally {
            for (int i = 0; i < opened; i++) {
                controls[i].close();
            }
        }
    }

    /**
     * A handle on one plug qdisc for the checkpoint hot path: keeps the libnl object, so each buffer or release is
     * one netlink round trip with nothing allocated on the Java heap. Close it when the buffer goes away.
     */
    public PlugControl openPlugControl(PlugQdisc plug) {
        return new PlugControl(this, plug, LibNl.plugObject(plug.ifb().index(), plug.handle().value()));
    }

    /**
     * {@code tc -s qdisc show dev IFB root}: the plug qdisc's counters, or empty when the ifb has no such plug qdisc
     * (or is gone). One get of that qdisc, not a dump of every qdisc: teardown's drain wait reads it every
     * millisecond.
     */
    public synchronized Optional<PlugStats> plugStats(PlugQdisc plug) {
        LibNl.QdiscRow r = qdiscRow(plug.ifb(), TcHandle.ROOT);
        return r != null && r.handle() == plug.handle().value() && PlugQdisc.KIND.equals(r.kind())
                ? Optional.of(new PlugStats(r.bytes(), r.packets(), r.backlogBytes(), r.backlogPackets(), r.drops()))
                : Optional.empty();
    }

    /**
     * {@code tc -s qdisc show}, for many plugs: the counters of each of {@code plugs} that exists, from one dump (a
     * listing of every buffer costs one dump, not one per buffer).
     */
    public synchronized Map<PlugQdisc, PlugStats> plugStats(Collection<PlugQdisc> plugs) {
        Map<Long, PlugQdisc> byKey = new HashMap<>();
        for (PlugQdisc plug : plugs) {
            byKey.put(plugKey(plug.ifb().index(), plug.handle().value()), plug);
        }
        Map<PlugQdisc, PlugStats> stats = new HashMap<>();
        for (LibNl.QdiscRow r : qdiscRows()) {
            PlugQdisc plug = byKey.get(plugKey(r.ifindex(), r.handle()));
            if (plug != null && r.parent() == TcHandle.ROOT.value() && PlugQdisc.KIND.equals(r.kind())) {
                stats.put(plug, new PlugStats(r.bytes(), r.packets(), r.backlogBytes(), r.backlogPackets(), r.drops()));
            }
        }
        return stats;
    }

    private static long plugKey(int ifindex, int handle) {
        return ((long) ifindex << 32) | (handle & 0xFFFF_FFFFL);
    }

    /** {@code tc qdisc show dev NAME}: the link's qdiscs. */
    public synchronized List<QdiscInfo> qdiscs(Link link) {
        return qdiscRows().stream().filter(r -> r.ifindex() == link.index()).map(Netlink::info).toList();
    }

    /** {@code tc qdisc show}: the qdiscs of every link, from one dump. */
    public synchronized List<QdiscInfo> qdiscs() {
        return qdiscRows().stream().map(Netlink::info).toList();
    }

    private static QdiscInfo info(LibNl.QdiscRow r) {
        return new QdiscInfo(r.ifindex(), new TcHandle(r.handle()), new TcHandle(r.parent()), r.kind());
    }

    private boolean hasQdisc(Link link, TcHandle parent, String kind) {
        LibNl.QdiscRow r = qdiscRow(link, parent);
        return r != null && kind.equals(r.kind());
    }

    /** The qdisc at {@code parent} (root or ingress) of the link, or null if it has none of its own. */
    private LibNl.QdiscRow qdiscRow(Link link, TcHandle parent) {
        int[] error = new int[1];
        LibNl.QdiscRow row = LibNl.qdisc(socket, link.index(), parent.value(), error);
        check(error[0], Step.LIST, link.name().value());
        return row;
    }

    private List<LibNl.QdiscRow> qdiscRows() {
        int[] error = new int[1];
        List<LibNl.QdiscRow> rows = LibNl.qdiscs(socket, error);
        check(error[0], Step.LIST, "qdiscs");
        return rows;
    }

    // ---------------------------------------------------------------- plumbing

    /**
     * The same plug change on many plug qdiscs in one system call: the messages go out in a single sendmsg, only
     * the last asking for an ack; the kernel still answers each failed one, by its sequence number.
     * {@code errors[i]} becomes 0, or the negative libnl code of {@code controls[i]}'s failure (see
     * {@link PlugControl#failure}). Returns how many failed. Nothing is allocated on the Java heap once the
     * socket's batch space is as large as the largest batch.
     *
     * @throws NetlinkException if the batch as a whole could not be sent or answered
     */
    public synchronized int plugBatch(PlugControl[] controls, int count, PlugAction action, int[] errors) {
        if (batchObjects.length < count) {
            if (batch != null) {
                batch.close();
            }
            batch = LibNl.batchBuffer(socket, count);
            batchObjects = new LibNl.PlugObject[count];
        }
        for (int i = 0; i < count; i++) {
            batchObjects[i] = controls[i].object();
        }
        int rc = LibNl.plugBatch(socket, batch, batchObjects, count, action, errors);
        if (rc < 0) {
            throw failure(PlugControl.step(action), "a batch of " + count + " plug qdiscs", rc);
        }
        return rc;
    }

    /** An empty batch of kernel operations, for {@link #send}. */
    public NetlinkBatch newBatch() {
        return new NetlinkBatch();
    }

    /**
     * Sends every operation of {@code batch} to the kernel in one sendmsg and reads the answers; afterwards
     * {@link NetlinkBatch#failure} says, per operation, what it came to. Returns the number of failed operations.
     *
     * @throws NetlinkException if the batch as a whole could not be sent or answered
     */
    public synchronized int send(NetlinkBatch batch) {
        int rc = batch.sendOn(socket);
        if (rc < 0) {
            throw failure(Step.LIST, "a batch of " + batch.size() + " requests", rc);
        }
        return rc;
    }

    /**
     * {@code ip link show NAME} for each of {@code names}, without a dump: the links that exist, by name, from one
     * batch of gets in one sendmsg ({@link LibNl#linksByName}), so that its cost follows the number of names, not
     * the number of links in the namespace. An absent name is not in the map.
     *
     * @throws NetlinkException if the gets could not be sent or answered, or the kernel refused one of them other
     *                          than with "no such device"
     */
    synchronized Map<String, LibNl.LinkRow> linksNamed(Collection<InterfaceName> names) {
        String[] unique = names.stream().map(InterfaceName::value).distinct().toArray(String[]::new);
        Map<String, LibNl.LinkRow> byName = new HashMap<>();
        if (unique.length == 0) {
            return byName;
        }
        LibNl.LinkRow[] rows = new LibNl.LinkRow[unique.length];
        int[] errors = new int[unique.length];
        int rc = LibNl.linksByName(socket, unique, rows, errors);
        check(rc, Step.FIND_LINK, unique.length == 1 ? unique[0] : unique.length + " links by name");
        for (int i = 0; i < unique.length; i++) {
            if (rows[i] != null) {
                byName.put(unique[i], rows[i]);
            } else if (!Nle.isGone(errors[i])) {
                throw failure(Step.FIND_LINK, unique[i], errors[i]);
            }
        }
        return byName;
    }

    /** Runs one hot-path plug change under the socket's lock; package-private for {@link PlugControl}. */
    synchronized int plugChange(LibNl.PlugObject object, Step step) {
        return switch (step) {
            case PLUG_BUFFER -> LibNl.plugBuffer(socket, object);
            case PLUG_RELEASE_ONE -> LibNl.plugReleaseOne(socket, object);
            case PLUG_RELEASE_INDEFINITE -> LibNl.plugReleaseIndefinite(socket, object);
            default -> throw new IllegalArgumentException(step.text);
        };
    }

    @Override
    public synchronized void close() {
        if (hotPath != null) {
            hotPath.close();
        }
        if (batch != null) {
            batch.close();
        }
        LibNl.closeSocket(socket);
    }

    private static void check(int rc, Step step, Object device) {
        if (rc < 0) {
            throw failure(step, String.valueOf(device), rc);
        }
    }

    private static void checkOrGone(int rc, Step step, Object device) {
        if (rc < 0 && !Nle.isGone(rc)) {
            throw failure(step, String.valueOf(device), rc);
        }
    }

    static NetlinkException failure(Step step, String device, int code) {
        String text = LibNl.errorText(code);
        if (Math.abs(code) == Nle.NODEV && step != Step.CREATE_IFB && step != Step.CREATE_VETH) {
            return new LinkNotFoundException(step.text, device, code, text);
        }
        return new NetlinkException(step.text, device, code, text, Nle.fix(step, code));
    }
}
