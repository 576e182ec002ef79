package io.remus.netbuf.netlink;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.remus.netbuf.libc.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * The only class of this package that touches {@code java.lang.foreign}: it owns the lookups of libnl-3 and
 * libnl-route-3, every libnl downcall handle, and the short libnl call sequences that make up one kernel operation
 * (libc's calls, the namespaces' and the {@code free} of libnl's buffers, are {@link LibC}'s). Everything here speaks
 * ints, longs and Strings to the rest of the package; libnl error codes come back as negative ints, as libnl
 * returns them.
 *
 * <p>Handles are static finals named after the C function, so a Java name greps straight to the C one. Native
 * objects are freed on every path; C strings and out-pointers live in an arena scoped to the call.
 */
final class LibNl {

    static final String LIBNL = "libnl-3.so.200";
    static final String LIBNL_ROUTE = "libnl-route-3.so.200";

    private static final int NETLINK_ROUTE = 0;
    private static final long RECEIVE_BUFFER_BYTES = 64 * 1024;
    private static final int AF_UNSPEC = 0;
    private static final int IFF_UP = 1;
    private static final byte IN6_ADDR_GEN_MODE_NONE = 1;
    static final int NLM_F_CREATE = 0x400;
    static final int NLM_F_EXCL = 0x200;
    private static final int TCA_EGRESS_REDIR = 1;
    private static final int TC_ACT_STOLEN = 4;
    // enum rtnl_tc_stat
    private static final int RTNL_TC_PACKETS = 0, RTNL_TC_BYTES = 1, RTNL_TC_QLEN = 4, RTNL_TC_BACKLOG = 5,
            RTNL_TC_DROPS = 6;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final List<String> PROBLEMS = new ArrayList<>();
    private static final SymbolLookup LOOKUP = lookup();

    /**
     * For calls that neither block nor call back into Java (setters, getters, alloc, put): the JVM may skip the
     * thread-state transition around them, which is most of an FFM downcall's cost. Calls that talk to the
     * kernel are plain downcalls.
     */
    private static final Linker.Option LEAF = Linker.Option.critical(false);

    // Kind strings are constants: allocate them once for the life of the JVM.
    private static final MemorySegment KIND_IFB = Arena.global().allocateFrom("ifb");
    private static final MemorySegment KIND_INGRESS = Arena.global().allocateFrom(IngressQdisc.KIND);
    private static final MemorySegment KIND_U32 = Arena.global().allocateFrom(RedirectFilter.KIND);
    private static final MemorySegment KIND_MIRRED = Arena.global().allocateFrom("mirred");
    private static final MemorySegment KIND_PLUG = Arena.global().allocateFrom(PlugQdisc.KIND);

    private static final MethodHandle nl_socket_alloc$mh = downcall("nl_socket_alloc", FunctionDescriptor.of(ADDRESS), LEAF);
    private static final MethodHandle nl_socket_free$mh = downcall("nl_socket_free", FunctionDescriptor.ofVoid(ADDRESS));
    private static final MethodHandle nl_connect$mh = downcall("nl_connect", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle nl_socket_set_msg_buf_size$mh = downcall("nl_socket_set_msg_buf_size", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), LEAF);
    private static final MethodHandle nl_socket_disable_msg_peek$mh = downcall("nl_socket_disable_msg_peek", FunctionDescriptor.ofVoid(ADDRESS), LEAF);
    private static final MethodHandle nl_geterror$mh = downcall("nl_geterror", FunctionDescriptor.of(ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle nl_cache_get_first$mh = downcall("nl_cache_get_first", FunctionDescriptor.of(ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle nl_cache_get_next$mh = downcall("nl_cache_get_next", FunctionDescriptor.of(ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle nl_cache_free$mh = downcall("nl_cache_free", FunctionDescriptor.ofVoid(ADDRESS), LEAF);

    private static final MethodHandle rtnl_link_alloc$mh = downcall("rtnl_link_alloc", FunctionDescriptor.of(ADDRESS), LEAF);
    private static final MethodHandle rtnl_link_put$mh = downcall("rtnl_link_put", FunctionDescriptor.ofVoid(ADDRESS), LEAF);
    private static final MethodHandle rtnl_link_get_kernel$mh = downcall("rtnl_link_get_kernel", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle rtnl_link_get_ifindex$mh = downcall("rtnl_link_get_ifindex", FunctionDescriptor.of(JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_link_get_name$mh = downcall("rtnl_link_get_name", FunctionDescriptor.of(ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle rtnl_link_get_type$mh = downcall("rtnl_link_get_type", FunctionDescriptor.of(ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle rtnl_link_get_flags$mh = downcall("rtnl_link_get_flags", FunctionDescriptor.of(JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_link_set_name$mh = downcall("rtnl_link_set_name", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle rtnl_link_set_type$mh = downcall("rtnl_link_set_type", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle rtnl_link_set_ifindex$mh = downcall("rtnl_link_set_ifindex", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle rtnl_link_set_flags$mh = downcall("rtnl_link_set_flags", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle rtnl_link_inet6_set_addr_gen_mode$mh = downcall("rtnl_link_inet6_set_addr_gen_mode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_BYTE), LEAF);
    private static final MethodHandle rtnl_link_unset_flags$mh = downcall("rtnl_link_unset_flags", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle rtnl_link_add$mh = downcall("rtnl_link_add", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle rtnl_link_change$mh = downcall("rtnl_link_change", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle rtnl_link_delete$mh = downcall("rtnl_link_delete", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle rtnl_link_alloc_cache$mh = downcall("rtnl_link_alloc_cache", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
    private static final MethodHandle rtnl_link_set_ns_fd$mh = downcall("rtnl_link_set_ns_fd", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle rtnl_link_veth_alloc$mh = downcall("rtnl_link_veth_alloc", FunctionDescriptor.of(ADDRESS), LEAF);
    private static final MethodHandle rtnl_link_veth_get_peer$mh = downcall("rtnl_link_veth_get_peer", FunctionDescriptor.of(ADDRESS, ADDRESS), LEAF);

    private static final MethodHandle rtnl_tc_set_ifindex$mh = downcall("rtnl_tc_set_ifindex", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle rtnl_tc_set_parent$mh = downcall("rtnl_tc_set_parent", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle rtnl_tc_set_handle$mh = downcall("rtnl_tc_set_handle", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle rtnl_tc_set_kind$mh = downcall("rtnl_tc_set_kind", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle rtnl_tc_get_ifindex$mh = downcall("rtnl_tc_get_ifindex", FunctionDescriptor.of(JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_tc_get_parent$mh = downcall("rtnl_tc_get_parent", FunctionDescriptor.of(JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_tc_get_handle$mh = downcall("rtnl_tc_get_handle", FunctionDescriptor.of(JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_tc_get_kind$mh = downcall("rtnl_tc_get_kind", FunctionDescriptor.of(ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle rtnl_tc_get_stat$mh = downcall("rtnl_tc_get_stat", FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_INT), LEAF);

    private static final MethodHandle rtnl_qdisc_alloc$mh = downcall("rtnl_qdisc_alloc", FunctionDescriptor.of(ADDRESS), LEAF);
    private static final MethodHandle rtnl_qdisc_put$mh = downcall("rtnl_qdisc_put", FunctionDescriptor.ofVoid(ADDRESS), LEAF);
    private static final MethodHandle rtnl_qdisc_add$mh = downcall("rtnl_qdisc_add", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle rtnl_qdisc_delete$mh = downcall("rtnl_qdisc_delete", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle rtnl_qdisc_alloc_cache$mh = downcall("rtnl_qdisc_alloc_cache", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle rtnl_qdisc_plug_set_limit$mh = downcall("rtnl_qdisc_plug_set_limit", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle rtnl_qdisc_plug_buffer$mh = downcall("rtnl_qdisc_plug_buffer", FunctionDescriptor.of(JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_qdisc_plug_release_one$mh = downcall("rtnl_qdisc_plug_release_one", FunctionDescriptor.of(JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_qdisc_plug_release_indefinite$mh = downcall("rtnl_qdisc_plug_release_indefinite", FunctionDescriptor.of(JAVA_INT, ADDRESS), LEAF);

    private static final MethodHandle rtnl_cls_alloc$mh = downcall("rtnl_cls_alloc", FunctionDescriptor.of(ADDRESS), LEAF);
    private static final MethodHandle rtnl_cls_put$mh = downcall("rtnl_cls_put", FunctionDescriptor.ofVoid(ADDRESS), LEAF);
    private static final MethodHandle rtnl_cls_add$mh = downcall("rtnl_cls_add", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle rtnl_cls_delete$mh = downcall("rtnl_cls_delete", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle rtnl_cls_set_prio$mh = downcall("rtnl_cls_set_prio", FunctionDescriptor.ofVoid(ADDRESS, JAVA_SHORT), LEAF);
    private static final MethodHandle rtnl_cls_get_prio$mh = downcall("rtnl_cls_get_prio", FunctionDescriptor.of(JAVA_SHORT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_cls_set_protocol$mh = downcall("rtnl_cls_set_protocol", FunctionDescriptor.ofVoid(ADDRESS, JAVA_SHORT), LEAF);
    private static final MethodHandle rtnl_cls_get_protocol$mh = downcall("rtnl_cls_get_protocol", FunctionDescriptor.of(JAVA_SHORT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_cls_alloc_cache$mh = downcall("rtnl_cls_alloc_cache", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle rtnl_u32_add_key_uint32$mh = downcall("rtnl_u32_add_key_uint32", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), LEAF);
    private static final MethodHandle rtnl_u32_get_key$mh = downcall("rtnl_u32_get_key", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_BYTE, ADDRESS, ADDRESS, ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle rtnl_u32_set_cls_terminal$mh = downcall("rtnl_u32_set_cls_terminal", FunctionDescriptor.of(JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_u32_add_action$mh = downcall("rtnl_u32_add_action", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle rtnl_u32_get_action$mh = downcall("rtnl_u32_get_action", FunctionDescriptor.of(ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle rtnl_act_alloc$mh = downcall("rtnl_act_alloc", FunctionDescriptor.of(ADDRESS), LEAF);
    private static final MethodHandle rtnl_act_put$mh = downcall("rtnl_act_put", FunctionDescriptor.ofVoid(ADDRESS), LEAF);
    private static final MethodHandle rtnl_mirred_set_action$mh = downcall("rtnl_mirred_set_action", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle rtnl_mirred_get_action$mh = downcall("rtnl_mirred_get_action", FunctionDescriptor.of(JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_mirred_set_policy$mh = downcall("rtnl_mirred_set_policy", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle rtnl_mirred_set_ifindex$mh = downcall("rtnl_mirred_set_ifindex", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle rtnl_mirred_get_ifindex$mh = downcall("rtnl_mirred_get_ifindex", FunctionDescriptor.of(JAVA_INT, ADDRESS), LEAF);

    private static final MethodHandle rtnl_qdisc_build_add_request$mh = downcall("rtnl_qdisc_build_add_request", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_qdisc_build_delete_request$mh = downcall("rtnl_qdisc_build_delete_request", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle rtnl_link_build_add_request$mh = downcall("rtnl_link_build_add_request", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_link_build_change_request$mh = downcall("rtnl_link_build_change_request", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_link_build_delete_request$mh = downcall("rtnl_link_build_delete_request", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), LEAF);
    private static final MethodHandle rtnl_cls_build_add_request$mh = downcall("rtnl_cls_build_add_request", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), LEAF);
    private static final MethodHandle rtnl_cls_build_delete_request$mh = downcall("rtnl_cls_build_delete_request", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), LEAF);
    // The batch path passes the pointers it gets back from libnl as raw addresses (a C pointer and a 64-bit integer
    // go in the same register on x86-64 and aarch64) and reads through ALL: a MemorySegment per pointer would be a
    // Java object per message, which the JIT does not always eliminate.
    private static final MethodHandle nlmsg_hdr$mh = downcall("nlmsg_hdr", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG), LEAF);
    private static final MethodHandle nlmsg_free$mh = downcall("nlmsg_free", FunctionDescriptor.ofVoid(JAVA_LONG), LEAF);
    private static final MethodHandle nl_sendto$mh = downcall("nl_sendto", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    private static final MethodHandle nl_recv$mh = downcall("nl_recv", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle nl_syserr2nlerr$mh = downcall("nl_syserr2nlerr", FunctionDescriptor.of(JAVA_INT, JAVA_INT), LEAF);
    private static final MethodHandle nl_socket_set_buffer_size$mh = downcall("nl_socket_set_buffer_size", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), LEAF);

    /**
     * Requests sent to the kernel through this class, each one sendmsg: libnl's one-shot calls (an add, a change, a
     * get, a dump) and this class's own sends (a batch of any size counts once). For tests that check how many
     * system calls an operation makes.
     */
    private static final java.util.concurrent.atomic.LongAdder REQUESTS = new java.util.concurrent.atomic.LongAdder();
    /**
     * Dumps among {@link #REQUESTS} (a libnl cache filled: every link, every qdisc, a link's filters): one request
     * each, but their answer grows with what the namespace holds, which the count of requests alone does not show.
     */
    private static final java.util.concurrent.atomic.LongAdder DUMPS = new java.util.concurrent.atomic.LongAdder();

    private LibNl() {
    }

    static long requestsSent() {
        return REQUESTS.sum();
    }

    static long dumpsSent() {
        return DUMPS.sum();
    }

    /** Throws, naming what is missing and how to get it, unless every symbol was found. */
    static void requireLoaded() {
        if (!PROBLEMS.isEmpty()) {
            throw new NetlinkUnavailableException(String.join("; ", PROBLEMS), null);
        }
    }

    private static SymbolLookup lookup() {
        try {
            SymbolLookup route = library(LIBNL_ROUTE, "libnl-route-3-200");
            SymbolLookup core = library(LIBNL, "libnl-3-200");
            return route == null || core == null ? null : route.or(core);
        } catch (IllegalCallerException e) {
            PROBLEMS.add("the JVM denies native access: start it with --enable-native-access=ALL-UNNAMED"
                    + " (or the manifest attribute Enable-Native-Access: ALL-UNNAMED)");
            return null;
        }
    }

    private static SymbolLookup library(String soname, String debianPackage) {
        try {
            return SymbolLookup.libraryLookup(soname, Arena.global());
        } catch (IllegalArgumentException e) {
            PROBLEMS.add(soname + " is not installed or not on the loader path: apt-get install " + debianPackage);
            return null;
        }
    }

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        if (LOOKUP == null) {
            return null;
        }
        var symbol = LOOKUP.find(name);
        if (symbol.isEmpty()) {
            PROBLEMS.add("symbol " + name + " is missing from " + LIBNL + "/" + LIBNL_ROUTE
                    + ": libnl 3.2.24 or newer is needed (Debian libnl-route-3-200)");
            return null;
        }
        return LINKER.downcallHandle(symbol.get(), descriptor, options);
    }

    /** A Throwable out of invokeExact means the binding itself is wrong (a descriptor mismatch), not the kernel. */
    private static AssertionError bindingBug(Throwable t) {
        return new AssertionError("libnl binding bug", t);
    }

    // ---------------------------------------------------------------- sockets

    /** An nl_sock connected to NETLINK_ROUTE. Not thread-safe: callers serialise on it. */
    static final class Socket {
        private final MemorySegment sock;
        private boolean closed;
        /** The send and receive buffer size set for batches, 0 until the first. */
        private int bufferBytes;

        private Socket(MemorySegment sock) {
            this.sock = sock;
        }
    }

    /** Opens a route socket in the caller's network namespace; returns a negative libnl code on failure. */
    static Socket openSocket(int[] error) {
        MemorySegment sock = nl_socket_alloc();
        if (sock.equals(MemorySegment.NULL)) {
            error[0] = -Nle.NOMEM;
            return null;
        }
        int rc = nl_connect(sock, NETLINK_ROUTE);
        if (rc < 0) {
            nl_socket_free(sock);
            error[0] = rc;
            return null;
        }
        // By default libnl peeks at each message to size its buffer: two recvmsg calls per ack. A buffer larger
        // than any one netlink message the kernel sends (it builds dump messages of at most 32 KiB) makes it one.
        nl_socket_set_msg_buf_size(sock, RECEIVE_BUFFER_BYTES);
        nl_socket_disable_msg_peek(sock);
        return new Socket(sock);
    }

    static void closeSocket(Socket s) {
        if (!s.closed) {
            s.closed = true;
            nl_socket_free(s.sock);
        }
    }

    static String errorText(int code) {
        MemorySegment text = nl_geterror(code);
        return text.equals(MemorySegment.NULL) ? "unknown error" : text.reinterpret(1024).getString(0);
    }

    private static String string(MemorySegment p) {
        return p.equals(MemorySegment.NULL) ? null : p.reinterpret(1024).getString(0);
    }

    // ---------------------------------------------------------------- links

    /** The ifindex of the named link, or a negative libnl code (NLE_OBJ_NOTFOUND / NLE_NODEV when absent). */
    static int linkIndex(Socket s, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = rtnl_link_get_kernel(s.sock, 0, arena.allocateFrom(name), out);
            if (rc < 0) {
                return rc;
            }
            MemorySegment link = out.get(ADDRESS, 0);
            try {
                return rtnl_link_get_ifindex(link);
            } finally {
                rtnl_link_put(link);
            }
        }
    }

    static int ifbAdd(Socket s, String name) {
        MemorySegment link = rtnl_link_alloc();
        try (Arena arena = Arena.ofConfined()) {
            rtnl_link_set_name(link, arena.allocateFrom(name));
            int rc = rtnl_link_set_type(link, KIND_IFB);
            return rc < 0 ? rc : rtnl_link_add(s.sock, link, NLM_F_CREATE | NLM_F_EXCL);
        } finally {
            rtnl_link_put(link);
        }
    }

    static int linkSetUp(Socket s, int ifindex, boolean up) {
        MemorySegment orig = rtnl_link_alloc();
        MemorySegment changes = rtnl_link_alloc();
        try {
            rtnl_link_set_ifindex(orig, ifindex);
            if (up) {
                rtnl_link_set_flags(changes, IFF_UP);
            } else {
                rtnl_link_unset_flags(changes, IFF_UP);
            }
            return rtnl_link_change(s.sock, orig, changes, 0);
        } finally {
            rtnl_link_put(changes);
            rtnl_link_put(orig);
        }
    }

    /**
     * {@code ip link set DEV addrgenmode none}: the device gets no IPv6 address of its own when it comes up, so it
     * sends nothing of its own (an ifb would send a router solicitation and MLD reports into its plug). Only before
     * up: the kernel applies IFLA_AF_SPEC after the flags, and not at all in RTM_NEWLINK's create.
     */
    static int linkNoIpv6Address(Socket s, int ifindex) {
        MemorySegment orig = rtnl_link_alloc();
        MemorySegment changes = rtnl_link_alloc();
        try {
            rtnl_link_set_ifindex(orig, ifindex);
            int rc = rtnl_link_inet6_set_addr_gen_mode(changes, IN6_ADDR_GEN_MODE_NONE);
            return rc < 0 ? rc : rtnl_link_change(s.sock, orig, changes, 0);
        } finally {
            rtnl_link_put(changes);
            rtnl_link_put(orig);
        }
    }

    static int linkDelete(Socket s, int ifindex) {
        MemorySegment link = rtnl_link_alloc();
        try {
            rtnl_link_set_ifindex(link, ifindex);
            return rtnl_link_delete(s.sock, link);
        } finally {
            rtnl_link_put(link);
        }
    }

    /**
     * {@code ip link add HOST type veth peer name PEER netns NS}, with PEER up, as one RTM_NEWLINK; the caller then
     * sets HOST up. The kernel configures the second device of the request (IFLA_INFO_DATA's peer) before it
     * registers the first, when the second has no peer yet: asking for that one to come up fails with ENOTCONN
     * (libnl: "Unspecific failure"). Only the first device can be created up, so the request names the peer
     * first, made in the namespace behind {@code nsFd}, and the host end as its veth peer, which the kernel makes
     * in this socket's namespace because it has no namespace attribute of its own.
     *
     * <p>rtnl_link_veth_alloc makes both link objects; rtnl_link_veth_get_peer returns a new reference to the
     * second, and the last put of the first frees both.
     */
    static int vethAdd(Socket s, String hostEnd, String peer, int nsFd) {
        MemorySegment first = rtnl_link_veth_alloc();
        if (first.equals(MemorySegment.NULL)) {
            return -Nle.NOMEM;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment second = rtnl_link_veth_get_peer(first);
            if (second.equals(MemorySegment.NULL)) {
                return -Nle.NOMEM;
            }
            try {
                rtnl_link_set_name(second, arena.allocateFrom(hostEnd));
            } finally {
                rtnl_link_put(second);
            }
            rtnl_link_set_name(first, arena.allocateFrom(peer));
            rtnl_link_set_ns_fd(first, nsFd);
            rtnl_link_set_flags(first, IFF_UP);
            return rtnl_link_add(s.sock, first, NLM_F_CREATE | NLM_F_EXCL);
        } finally {
            rtnl_link_put(first);
        }
    }

    record LinkRow(String name, int index, String type, boolean up) {
    }

    /** Every link in the socket's namespace; a negative code in {@code error[0]} on failure. */
    static List<LinkRow> links(Socket s, int[] error) {
        List<LinkRow> rows = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = rtnl_link_alloc_cache(s.sock, AF_UNSPEC, out);
            if (rc < 0) {
                error[0] = rc;
                return rows;
            }
            MemorySegment cache = out.get(ADDRESS, 0);
            try {
                for (MemorySegment o = nl_cache_get_first(cache); !o.equals(MemorySegment.NULL); o = nl_cache_get_next(o)) {
                    rows.add(new LinkRow(string(rtnl_link_get_name(o)), rtnl_link_get_ifindex(o),
                            string(rtnl_link_get_type(o)), (rtnl_link_get_flags(o) & IFF_UP) != 0));
                }
            } finally {
                nl_cache_free(cache);
            }
        }
        return rows;
    }

    // ---------------------------------------------------------------- qdiscs

    static int ingressAdd(Socket s, int ifindex) {
        MemorySegment q = ingress(ifindex);
        try {
            return rtnl_qdisc_add(s.sock, q, NLM_F_CREATE | NLM_F_EXCL);
        } finally {
            rtnl_qdisc_put(q);
        }
    }

    static int ingressDelete(Socket s, int ifindex) {
        MemorySegment q = ingress(ifindex);
        try {
            return rtnl_qdisc_delete(s.sock, q);
        } finally {
            rtnl_qdisc_put(q);
        }
    }

    private static MemorySegment ingress(int ifindex) {
        MemorySegment q = rtnl_qdisc_alloc();
        rtnl_tc_set_ifindex(q, ifindex);
        rtnl_tc_set_parent(q, TcHandle.INGRESS_PARENT.value());
        rtnl_tc_set_handle(q, TcHandle.INGRESS.value());
        rtnl_tc_set_kind(q, KIND_INGRESS);
        return q;
    }

    /** Creates the plug qdisc with its limit; plug_init reads only the limit, so this is one message. */
    static int plugAdd(Socket s, int ifindex, int handle, int limit) {
        MemorySegment q = plug(ifindex, handle);
        try {
            int rc = rtnl_qdisc_plug_set_limit(q, limit);
            return rc < 0 ? rc : rtnl_qdisc_add(s.sock, q, NLM_F_CREATE | NLM_F_EXCL);
        } finally {
            rtnl_qdisc_put(q);
        }
    }

    static int plugDelete(Socket s, int ifindex, int handle) {
        MemorySegment q = plug(ifindex, handle);
        try {
            return rtnl_qdisc_delete(s.sock, q);
        } finally {
            rtnl_qdisc_put(q);
        }
    }

    static int plugSetLimit(Socket s, int ifindex, int handle, int limit) {
        MemorySegment q = plug(ifindex, handle);
        try {
            int rc = rtnl_qdisc_plug_set_limit(q, limit);
            return rc < 0 ? rc : rtnl_qdisc_add(s.sock, q, 0);
        } finally {
            rtnl_qdisc_put(q);
        }
    }

    private static MemorySegment plug(int ifindex, int handle) {
        MemorySegment q = rtnl_qdisc_alloc();
        rtnl_tc_set_ifindex(q, ifindex);
        rtnl_tc_set_parent(q, TcHandle.ROOT.value());
        rtnl_tc_set_handle(q, handle);
        rtnl_tc_set_kind(q, KIND_PLUG);
        return q;
    }

    /**
     * A plug qdisc object kept for the checkpoint hot path, so that buffer and release are each one setter and one
     * netlink round trip, with nothing allocated on the Java heap. Freed by {@link #plugFree}.
     */
    static final class PlugObject {
        private final MemorySegment qdisc;
        private boolean freed;

        private PlugObject(MemorySegment qdisc) {
            this.qdisc = qdisc;
        }
    }

    static PlugObject plugObject(int ifindex, int handle) {
        return new PlugObject(plug(ifindex, handle));
    }

    static void plugFree(PlugObject p) {
        if (!p.freed) {
            p.freed = true;
            rtnl_qdisc_put(p.qdisc);
        }
    }

    /** A plug change is sent as RTM_NEWQDISC without NLM_F_CREATE: the kernel changes the qdisc with that handle. */
    static int plugBuffer(Socket s, PlugObject p) {
        int rc = rtnl_qdisc_plug_buffer(p.qdisc);
        return rc < 0 ? rc : rtnl_qdisc_add(s.sock, p.qdisc, 0);
    }

    static int plugReleaseOne(Socket s, PlugObject p) {
        int rc = rtnl_qdisc_plug_release_one(p.qdisc);
        return rc < 0 ? rc : rtnl_qdisc_add(s.sock, p.qdisc, 0);
    }

    static int plugReleaseIndefinite(Socket s, PlugObject p) {
        int rc = rtnl_qdisc_plug_release_indefinite(p.qdisc);
        return rc < 0 ? rc : rtnl_qdisc_add(s.sock, p.qdisc, 0);
    }

    // ---------------------------------------------------------------- batches

    private static final int NLMSG_ERROR = 2;
    private static final short NLM_F_REQUEST = 0x1;
    private static final short NLM_F_ACK = 0x4;
    /** Batch sequence numbers live in a range of their own, apart from the ones libnl hands out one by one. */
    private static final int BATCH_SEQ_BASE = 0x40000000;
    /**
     * All of memory, to read what libnl hands back by raw address (see nlmsg_hdr$mh); in a holder so that a JVM
     * denying native access fails at requireLoaded, with its message, not here.
     */
    private static final class Raw {
        static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    }

    /**
     * A socket's scratch space for batches, allocated once: the concatenated messages, and the out-pointers of
     * build and receive. Guarded by the socket's lock.
     */
    static final class BatchBuffer {
        private final Arena arena = Arena.ofShared();
        private MemorySegment messages;
        private final MemorySegment msgOut = arena.allocate(ADDRESS);
        private final MemorySegment recvOut = arena.allocate(ADDRESS);
        /** struct sockaddr_nl, which nl_recv requires. */
        private final MemorySegment peer = arena.allocate(12, 4);
        private int nextSeq = BATCH_SEQ_BASE;

        private BatchBuffer(long capacity) {
            messages = arena.allocate(capacity, 8);
        }

        void close() {
            arena.close();
        }
    }

    static BatchBuffer batchBuffer(Socket s, int messages) {
        // room for every message in one datagram, and for an error answer to each of them
        int bytes = Math.max(256 * 1024, messages * 256);
        nl_socket_set_buffer_size(s.sock, bytes, bytes);
        s.bufferBytes = bytes;
        return new BatchBuffer(messages * 128L);
    }

    /**
     * Sends one plug change for each of {@code objects[0..count)} in a single sendmsg, only the last message asking
     * for an ack: the kernel answers every failed message with an error carrying its sequence number, and the last
     * one with an ack, so the answers are few and each error maps to its object. {@code errors[i]} becomes 0 or a
     * negative libnl code; returns the number of failures, or a negative libnl code if the batch itself failed.
     */
    static int plugBatch(Socket s, BatchBuffer b, PlugObject[] objects, int count, PlugAction action, int[] errors) {
        if (count == 0) {
            return 0;
        }
        int seqBase = b.nextSeq;
        b.nextSeq = seqBase + count >= 0x7fff0000 ? BATCH_SEQ_BASE : seqBase + count;
        long offset = 0;
        for (int i = 0; i < count; i++) {
            MemorySegment q = objects[i].qdisc;
            int rc = switch (action) {
                case BUFFER -> rtnl_qdisc_plug_buffer(q);
                case RELEASE_ONE -> rtnl_qdisc_plug_release_one(q);
                case RELEASE_INDEFINITE -> rtnl_qdisc_plug_release_indefinite(q);
            };
            if (rc >= 0) {
                rc = rtnl_qdisc_build_add_request(q, 0, b.msgOut);
            }
            if (rc < 0) {
                return rc;
            }
            long msg = b.msgOut.get(JAVA_LONG, 0);
            try {
                long hdr = nlmsg_hdr(msg);
                int len = Raw.ALL.get(JAVA_INT, hdr);
                long aligned = (len + 3) & ~3L;
                if (offset + aligned > b.messages.byteSize()) {
                    return -Nle.NOMEM;
                }
                MemorySegment.copy(Raw.ALL, hdr, b.messages, offset, len);
                short flags = (short) (b.messages.get(JAVA_SHORT, offset + 6) | NLM_F_REQUEST);
                b.messages.set(JAVA_SHORT, offset + 6, i == count - 1 ? (short) (flags | NLM_F_ACK)
                        : (short) (flags & ~NLM_F_ACK));
                b.messages.set(JAVA_INT, offset + 8, seqBase + i);
                b.messages.set(JAVA_INT, offset + 12, 0);
                offset += aligned;
            } finally {
                nlmsg_free(msg);
            }
        }
        java.util.Arrays.fill(errors, 0, count, 0);
        int sent = nl_sendto(s.sock, b.messages, offset);
        if (sent < 0) {
            return sent;
        }
        return receiveUntil(s, b.peer, b.recvOut, seqBase, seqBase + count - 1, errors, null);
    }

    /** A message of the kernel's answer to a request: at raw address {@code msg}, {@code len} bytes. */
    @FunctionalInterface
    interface Answer {
        void message(long msg, int len, short type, int seq);
    }

    /**
     * Reads the kernel's answers until it has answered sequence number {@code last} (with its ack or its error):
     * the one receive loop of every request this class sends itself. An NLMSG_ERROR with a sequence number in
     * {@code first..last} and a non-zero error sets {@code errors[seq - first]} to its negative libnl code (the
     * caller zeroes {@code errors} first); any other message in that range goes to {@code answer} (may be null).
     * Messages with other sequence numbers (answers to nobody's pending request) are skipped. Returns how many
     * errors came back, or a negative libnl code if receiving failed. {@code peer} and {@code recvOut} are the
     * caller's out-space (a struct sockaddr_nl and a pointer).
     */
    private static int receiveUntil(Socket s, MemorySegment peer, MemorySegment recvOut, int first, int last,
                                    int[] errors, Answer answer) {
        int failures = 0;
        while (true) {
            int n = nl_recv(s.sock, peer, recvOut, MemorySegment.NULL);
            if (n <= 0) {
                return n < 0 ? n : -Nle.INVAL;
            }
            long data = recvOut.get(JAVA_LONG, 0);
            boolean done = false;
            try {
                for (long at = 0; at + 16 <= n; ) {
                    int len = Raw.ALL.get(JAVA_INT, data + at);
                    if (len < 16) {
                        break;
                    }
                    short type = Raw.ALL.get(JAVA_SHORT, data + at + 4);
                    int seq = Raw.ALL.get(JAVA_INT, data + at + 8);
                    if (seq - first >= 0 && seq - first <= last - first) {
                        if (type == NLMSG_ERROR) {
                            int errno = Raw.ALL.get(JAVA_INT, data + at + 16);
                            if (errno != 0) {
                                errors[seq - first] = -Math.abs(nl_syserr2nlerr(errno));
                                failures++;
                            }
                            done |= seq == last;
                        } else if (answer != null) {
                            answer.message(data + at, len, type, seq);
                        }
                    }
                    at += (len + 3) & ~3L;
                }
            } finally {
                LibC.free(data);
            }
            if (done) {
                return failures;
            }
        }
    }

    // ---------------------------------------------------------------- batches of requests

    /** Sequence numbers of {@link #send}'s batches and single gets, apart from libnl's and the plug batches'. */
    private static final java.util.concurrent.atomic.AtomicInteger ownSeq = new java.util.concurrent.atomic.AtomicInteger();

    /** {@code count} consecutive sequence numbers in 0x10000000..0x3fffffff, which no one else on a socket uses. */
    private static int ownSeqs(int count) {
        return 0x10000000 + Math.floorMod(ownSeq.getAndAdd(count), 0x2FFF0000);
    }

    /**
     * Requests built by libnl's {@code rtnl_*_build_*_request}, one {@code append...} call each, concatenated for one
     * sendmsg by {@link #send}. Its native memory lives in an arena scoped to the call that makes and sends it:
     * close it when the answers are in. Each {@code append...} returns the request's index in the batch, or a
     * negative libnl code if libnl could not build it (then nothing was appended).
     */
    static final class Requests implements AutoCloseable {
        private final Arena arena = Arena.ofConfined();
        private final MemorySegment msgOut = arena.allocate(ADDRESS);
        private MemorySegment buffer;
        private long length;
        private int count;

        Requests(int expected) {
            buffer = arena.allocate(Math.max(1, expected) * 256L, 8);
        }

        int count() {
            return count;
        }

        /** Copies the message libnl built into msgOut (if {@code rc} says it did) to the end, and frees it. */
        private int take(int rc) {
            if (rc < 0) {
                return rc;
            }
            long msg = msgOut.get(JAVA_LONG, 0);
            try {
                long hdr = nlmsg_hdr(msg);
                int len = Raw.ALL.get(JAVA_INT, hdr);
                long aligned = (len + 3) & ~3L;
                if (length + aligned > buffer.byteSize()) {
                    MemorySegment larger = arena.allocate(Math.max(2 * buffer.byteSize(), length + aligned), 8);
                    MemorySegment.copy(buffer, 0, larger, 0, length);
                    buffer = larger;
                }
                MemorySegment.copy(Raw.ALL, hdr, buffer, length, len);
                length += aligned;
                return count++;
            } finally {
                nlmsg_free(msg);
            }
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    /** {@code ip link add NAME type ifb}: RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL. */
    static int appendIfbAdd(Requests r, String name) {
        MemorySegment link = rtnl_link_alloc();
        try {
            rtnl_link_set_name(link, r.arena.allocateFrom(name));
            int rc = rtnl_link_set_type(link, KIND_IFB);
            return r.take(rc < 0 ? rc : rtnl_link_build_add_request(link, NLM_F_CREATE | NLM_F_EXCL, r.msgOut));
        } finally {
            rtnl_link_put(link);
        }
    }

    /** {@code ip link set DEV up} (or down): as {@link #linkSetUp}. */
    static int appendLinkSetUp(Requests r, int ifindex, boolean up) {
        MemorySegment orig = rtnl_link_alloc();
        MemorySegment changes = rtnl_link_alloc();
        try {
            rtnl_link_set_ifindex(orig, ifindex);
            if (up) {
                rtnl_link_set_flags(changes, IFF_UP);
            } else {
                rtnl_link_unset_flags(changes, IFF_UP);
            }
            return r.take(rtnl_link_build_change_request(orig, changes, 0, r.msgOut));
        } finally {
            rtnl_link_put(changes);
            rtnl_link_put(orig);
        }
    }

    /** {@code ip link set DEV addrgenmode none}: as {@link #linkNoIpv6Address}. */
    static int appendLinkNoIpv6Address(Requests r, int ifindex) {
        MemorySegment orig = rtnl_link_alloc();
        MemorySegment changes = rtnl_link_alloc();
        try {
            rtnl_link_set_ifindex(orig, ifindex);
            int rc = rtnl_link_inet6_set_addr_gen_mode(changes, IN6_ADDR_GEN_MODE_NONE);
            return r.take(rc < 0 ? rc : rtnl_link_build_change_request(orig, changes, 0, r.msgOut));
        } finally {
            rtnl_link_put(changes);
            rtnl_link_put(orig);
        }
    }

    static int appendLinkDelete(Requests r, int ifindex) {
        MemorySegment link = rtnl_link_alloc();
        try {
            rtnl_link_set_ifindex(link, ifindex);
            return r.take(rtnl_link_build_delete_request(link, r.msgOut));
        } finally {
            rtnl_link_put(link);
        }
    }

    static int appendIngressAdd(Requests r, int ifindex) {
        MemorySegment q = ingress(ifindex);
        try {
            return r.take(rtnl_qdisc_build_add_request(q, NLM_F_CREATE | NLM_F_EXCL, r.msgOut));
        } finally {
            rtnl_qdisc_put(q);
        }
    }

    static int appendIngressDelete(Requests r, int ifindex) {
        MemorySegment q = ingress(ifindex);
        try {
            return r.take(rtnl_qdisc_build_delete_request(q, r.msgOut));
        } finally {
            rtnl_qdisc_put(q);
        }
    }

    static int appendRedirectAdd(Requests r, int vifIndex, int protocol, int prio, int handle, int keyOffset,
                                 int ifbIndex) {
        MemorySegment cls = rtnl_cls_alloc();
        MemorySegment act = rtnl_act_alloc();
        try {
            int rc = redirect(cls, act, vifIndex, protocol, prio, handle, keyOffset, ifbIndex);
            return r.take(rc < 0 ? rc : rtnl_cls_build_add_request(cls, NLM_F_CREATE | NLM_F_EXCL, r.msgOut));
        } finally {
            rtnl_act_put(act);
            rtnl_cls_put(cls);
        }
    }

    static int appendRedirectDelete(Requests r, int vifIndex, int protocol, int prio, int handle) {
        MemorySegment cls = rtnl_cls_alloc();
        try {
            int rc = redirectKey(cls, vifIndex, protocol, prio, handle);
            return r.take(rc < 0 ? rc : rtnl_cls_build_delete_request(cls, 0, r.msgOut));
        } finally {
            rtnl_cls_put(cls);
        }
    }

    /** As {@link #plugAdd}: the plug qdisc with its limit, which starts blocked. */
    static int appendPlugAdd(Requests r, int ifindex, int handle, int limit) {
        MemorySegment q = plug(ifindex, handle);
        try {
            int rc = rtnl_qdisc_plug_set_limit(q, limit);
            return r.take(rc < 0 ? rc : rtnl_qdisc_build_add_request(q, NLM_F_CREATE | NLM_F_EXCL, r.msgOut));
        } finally {
            rtnl_qdisc_put(q);
        }
    }

    /** A plug change (RTM_NEWQDISC without NLM_F_CREATE), as {@link #plugReleaseIndefinite} and the others. */
    static int appendPlugChange(Requests r, int ifindex, int handle, PlugAction action) {
        MemorySegment q = plug(ifindex, handle);
        try {
            int rc = switch (action) {
                case BUFFER -> rtnl_qdisc_plug_buffer(q);
                case RELEASE_ONE -> rtnl_qdisc_plug_release_one(q);
                case RELEASE_INDEFINITE -> rtnl_qdisc_plug_release_indefinite(q);
            };
            return r.take(rc < 0 ? rc : rtnl_qdisc_build_add_request(q, 0, r.msgOut));
        } finally {
            rtnl_qdisc_put(q);
        }
    }

    static int appendPlugDelete(Requests r, int ifindex, int handle) {
        MemorySegment q = plug(ifindex, handle);
        try {
            return r.take(rtnl_qdisc_build_delete_request(q, r.msgOut));
        } finally {
            rtnl_qdisc_put(q);
        }
    }

    /**
     * Sends every request of {@code r} in a single sendmsg, as {@link #plugBatch} does: each with its own sequence
     * number, only the last asking for an ack, so the kernel answers each failed request with an error carrying its
     * number and the last with its ack or error. The kernel runs them in order, each whether or not an earlier one
     * failed. {@code errors[i]} becomes 0 or request {@code i}'s negative libnl code; returns the number of
     * failures, or a negative libnl code if the batch itself could not be sent or answered.
     */
    static int send(Socket s, Requests r, int[] errors) {
        int count = r.count;
        if (count == 0) {
            return 0;
        }
        // room in the socket for every message in one datagram, and for an error answer to each of them
        int bytes = Math.max(256 * 1024, count * 1024);
        if (s.bufferBytes < bytes) {
            int rc = nl_socket_set_buffer_size(s.sock, bytes, bytes);
            if (rc < 0) {
                return rc;
            }
            s.bufferBytes = bytes;
        }
        int first = ownSeqs(count);
        long at = 0;
        for (int i = 0; i < count; i++) {
            int len = r.buffer.get(JAVA_INT, at);
            short flags = (short) (r.buffer.get(JAVA_SHORT, at + 6) | NLM_F_REQUEST);
            r.buffer.set(JAVA_SHORT, at + 6, i == count - 1 ? (short) (flags | NLM_F_ACK) : (short) (flags & ~NLM_F_ACK));
            r.buffer.set(JAVA_INT, at + 8, first + i);
            r.buffer.set(JAVA_INT, at + 12, 0);
            at += (len + 3) & ~3L;
        }
        java.util.Arrays.fill(errors, 0, count, 0);
        int sent = nl_sendto(s.sock, r.buffer, r.length);
        if (sent < 0) {
            return sent;
        }
        return receiveUntil(s, r.arena.allocate(12, 4), r.arena.allocate(ADDRESS), first, first + count - 1, errors,
                null);
    }

    record QdiscRow(int ifindex, int handle, int parent, String kind,
                    long bytes, long packets, long backlogBytes, long backlogPackets, long drops) {
    }

    // ---------------------------------------------------------------- one qdisc

    private static final short RTM_NEWQDISC = 36;
    private static final short RTM_GETQDISC = 38;
    private static final short NLM_F_ECHO = 0x8;
    private static final int TCMSG_BYTES = 20;
    private static final int TCA_KIND = 1, TCA_STATS2 = 7, TCA_STATS_BASIC = 1, TCA_STATS_QUEUE = 3;

    /**
     * {@code tc -s qdisc show dev LINK root} (or {@code ingress}) without a dump: one RTM_GETQDISC for the qdisc at
     * {@code parent} of link {@code ifindex}, answered with that qdisc alone, so its cost does not grow with the
     * number of qdiscs on the host (a dump of every qdisc per buffer made teardown quadratic). Returns null when the
     * link has no such qdisc (or only the kernel's built-in one, or the link is gone); a negative libnl code in
     * {@code error[0]} on failure. NLM_F_ECHO: kernels before 6.9 send a get's answer only to those who ask for it
     * so; NLM_F_ACK ends the answer.
     */
    static QdiscRow qdisc(Socket s, int ifindex, int parent, int[] error) {
        int seq = ownSeqs(1);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment request = arena.allocate(16 + TCMSG_BYTES, 4);
            request.set(JAVA_INT, 0, 16 + TCMSG_BYTES);
            request.set(JAVA_SHORT, 4, RTM_GETQDISC);
            request.set(JAVA_SHORT, 6, (short) (NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO));
            request.set(JAVA_INT, 8, seq);
            request.set(JAVA_INT, 16 + 4, ifindex);
            request.set(JAVA_INT, 16 + 12, parent);
            int sent = nl_sendto(s.sock, request, request.byteSize());
            if (sent < 0) {
                error[0] = sent;
                return null;
            }
            QdiscRow[] found = new QdiscRow[1];
            int[] errors = new int[1];
            int rc = receiveUntil(s, arena.allocate(12, 4), arena.allocate(ADDRESS), seq, seq, errors,
                    (msg, len, type, at) -> {
                        if (type == RTM_NEWQDISC) {
                            found[0] = qdiscRow(msg, len);
                        }
                    });
            if (rc < 0) {
                error[0] = rc;
                return null;
            }
            if (errors[0] < 0 && !Nle.isGone(errors[0])) {
                error[0] = errors[0];
                return null;
            }
            return errors[0] < 0 ? null : found[0];
        }
    }

    /** An RTM_NEWQDISC message at {@code msg} of {@code len} bytes: its tcmsg, kind and TCA_STATS2 counters. */
    private static QdiscRow qdiscRow(long msg, int len) {
        long tcm = msg + 16;
        String[] kind = new String[1];
        long[] c = new long[5]; // bytes, packets, backlog bytes, backlog packets, drops
        forEachAttribute(tcm + TCMSG_BYTES, msg + len, (type, at, size) -> {
            if (type == TCA_KIND) {
                kind[0] = Raw.ALL.getString(at);
            } else if (type == TCA_STATS2) {
                forEachAttribute(at, at + size, (stat, s, n) -> {
                    if (stat == TCA_STATS_BASIC && n >= 12) { // struct gnet_stats_basic
                        c[0] = Raw.ALL.get(JAVA_LONG_UNALIGNED, s);
                        c[1] = Integer.toUnsignedLong(Raw.ALL.get(JAVA_INT, s + 8));
                    } else if (stat == TCA_STATS_QUEUE && n >= 12) { // struct gnet_stats_queue
                        c[3] = Integer.toUnsignedLong(Raw.ALL.get(JAVA_INT, s));
                        c[2] = Integer.toUnsignedLong(Raw.ALL.get(JAVA_INT, s + 4));
                        c[4] = Integer.toUnsignedLong(Raw.ALL.get(JAVA_INT, s + 8));
                    }
                });
            }
        });
        return new QdiscRow(Raw.ALL.get(JAVA_INT, tcm + 4), Raw.ALL.get(JAVA_INT, tcm + 8),
                Raw.ALL.get(JAVA_INT, tcm + 12), kind[0], c[0], c[1], c[2], c[3], c[4]);
    }

    /** Called for each netlink attribute: its type (flags masked off), payload address and payload length. */
    @FunctionalInterface
    private interface AttributeVisitor {
        void visit(int type, long payload, int length);
    }

    /** Each attribute from {@code from} to {@code end}, 4-byte aligned; stops at one too short to be an attribute. */
    private static void forEachAttribute(long from, long end, AttributeVisitor visitor) {
        for (long a = from; a + 4 <= end; ) {
            int alen = Short.toUnsignedInt(Raw.ALL.get(JAVA_SHORT, a));
            if (alen < 4) {
                return;
            }
            visitor.visit(Raw.ALL.get(JAVA_SHORT, a + 2) & 0x3FFF, a + 4, alen - 4);
            a += (alen + 3) & ~3L;
        }
    }

    // ---------------------------------------------------------------- links by name

    private static final short RTM_NEWLINK = 16;
    private static final short RTM_GETLINK = 18;
    private static final int IFINFOMSG_BYTES = 16;
    private static final int IFLA_IFNAME = 3, IFLA_LINKINFO = 18, IFLA_INFO_KIND = 1;
    /** A get's request: nlmsghdr, ifinfomsg, IFLA_IFNAME with at most 15 characters and its NUL. */
    private static final int LINK_GET_BYTES = 16 + IFINFOMSG_BYTES + 4 + 16;
    /**
     * At most this many gets in one sendmsg. The kernel answers a sendmsg's requests before the sender reads any
     * answer, and drops an answer that finds the receive buffer full: a link's RTM_NEWLINK takes a few KiB of it,
     * so 64 answers stay inside the 256 KiB asked for (the kernel grants twice what is asked, capped at twice
     * {@code net.core.rmem_max}, 208 KiB by default).
     */
    static final int LINK_GETS_PER_SEND = 64;

    /**
     * {@code ip link show NAME} for each of {@code names} without a dump: one RTM_GETLINK per name (IFLA_IFNAME,
     * ifinfomsg index 0), all in one sendmsg (one per {@link #LINK_GETS_PER_SEND} names), each with its own
     * sequence number and only the last asking for an ack, read by {@link #receiveUntil}. The kernel answers each
     * get with that link's RTM_NEWLINK or with an error, so the cost follows the number of names, not the number of
     * links on the host (a dump per step made each domain's step grow with every buffer on the host). No NLM_F_ECHO
     * here, unlike {@link #qdisc}: a qdisc get before 6.9 goes through the notify path, which unicasts to the asker
     * only with NLM_F_ECHO, whereas rtnl_getlink has always unicast its answer to the asker.
     *
     * <p>{@code rows[i]} becomes the link named {@code names[i]}, or null; {@code errors[i]} 0 or its negative libnl
     * code ({@link Nle#isGone}: no such device). A link found under an alternative name ({@code ip link property
     * add altname}) counts as absent, as it would in a dump, which lists primary names only. Returns how many names
     * failed (absent ones among them), or a negative libnl code if a batch could not be sent or answered.
     */
    static int linksByName(Socket s, String[] names, LinkRow[] rows, int[] errors) {
        java.util.Arrays.fill(rows, 0, names.length, null);
        java.util.Arrays.fill(errors, 0, names.length, 0);
        int bytes = 256 * 1024;
        if (s.bufferBytes < bytes) {
            int rc = nl_socket_set_buffer_size(s.sock, bytes, bytes);
            if (rc < 0) {
                return rc;
            }
            s.bufferBytes = bytes;
        }
        int failures = 0;
        for (int from = 0; from < names.length; from += LINK_GETS_PER_SEND) {
            int rc = linksByName(s, names, from, Math.min(names.length, from + LINK_GETS_PER_SEND), rows, errors);
            if (rc < 0) {
                return rc;
            }
            failures += rc;
        }
        return failures;
    }

    /** {@link #linksByName} for {@code names[from..to)}: one sendmsg. */
    private static int linksByName(Socket s, String[] names, int from, int to, LinkRow[] rows, int[] errors) {
        int count = to - from;
        int first = ownSeqs(count);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment requests = arena.allocate((long) count * LINK_GET_BYTES, 4);
            long at = 0;
            for (int i = 0; i < count; i++) {
                byte[] name = names[from + i].getBytes(java.nio.charset.StandardCharsets.UTF_8);
                if (name.length > 15) {
                    return -Nle.INVAL;
                }
                int attr = 4 + name.length + 1;
                int len = 16 + IFINFOMSG_BYTES + attr;
                requests.set(JAVA_INT, at, len);
                requests.set(JAVA_SHORT, at + 4, RTM_GETLINK);
                requests.set(JAVA_SHORT, at + 6, i == count - 1 ? (short) (NLM_F_REQUEST | NLM_F_ACK) : NLM_F_REQUEST);
                requests.set(JAVA_INT, at + 8, first + i);
                // the ifinfomsg stays zero: AF_UNSPEC, index 0 (find by name)
                long a = at + 16 + IFINFOMSG_BYTES;
                requests.set(JAVA_SHORT, a, (short) attr);
                requests.set(JAVA_SHORT, a + 2, (short) IFLA_IFNAME);
                MemorySegment.copy(name, 0, requests, JAVA_BYTE, a + 4, name.length);
                at += (len + 3) & ~3L;
            }
            int sent = nl_sendto(s.sock, requests, at);
            if (sent < 0) {
                return sent;
            }
            int[] codes = new int[count];
            int rc = receiveUntil(s, arena.allocate(12, 4), arena.allocate(ADDRESS), first, first + count - 1, codes,
                    (msg, len, type, seq) -> {
                        if (type == RTM_NEWLINK) {
                            LinkRow row = linkRow(msg, len);
                            int i = from + seq - first;
                            rows[i] = names[i].equals(row.name()) ? row : null;
                        }
                    });
            if (rc < 0) {
                return rc;
            }
            int failures = 0;
            for (int i = 0; i < count; i++) {
                errors[from + i] = codes[i];
                if (codes[i] < 0) {
                    rows[from + i] = null;
                } else if (rows[from + i] == null) {
                    errors[from + i] = -Nle.NODEV; // found under an alternative name only
                }
                failures += errors[from + i] < 0 ? 1 : 0;
            }
            return failures;
        }
    }

    /** An RTM_NEWLINK message at {@code msg} of {@code len} bytes: name, ifindex, kind (IFLA_INFO_KIND) and up. */
    private static LinkRow linkRow(long msg, int len) {
        long ifi = msg + 16;
        String[] nameAndKind = new String[2];
        forEachAttribute(ifi + IFINFOMSG_BYTES, msg + len, (type, at, size) -> {
            if (type == IFLA_IFNAME) {
                nameAndKind[0] = Raw.ALL.getString(at);
            } else if (type == IFLA_LINKINFO) {
                forEachAttribute(at, at + size, (info, i, n) -> {
                    if (info == IFLA_INFO_KIND) {
                        nameAndKind[1] = Raw.ALL.getString(i);
                    }
                });
            }
        });
        return new LinkRow(nameAndKind[0], Raw.ALL.get(JAVA_INT, ifi + 4), nameAndKind[1],
                (Raw.ALL.get(JAVA_INT, ifi + 8) & IFF_UP) != 0);
    }

    /** Every qdisc in the socket's namespace with its counters; a negative code in {@code error[0]} on failure. */
    static List<QdiscRow> qdiscs(Socket s, int[] error) {
        List<QdiscRow> rows = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = rtnl_qdisc_alloc_cache(s.sock, out);
            if (rc < 0) {
                error[0] = rc;
                return rows;
            }
            MemorySegment cache = out.get(ADDRESS, 0);
            try {
                for (MemorySegment o = nl_cache_get_first(cache); !o.equals(MemorySegment.NULL); o = nl_cache_get_next(o)) {
                    rows.add(new QdiscRow(rtnl_tc_get_ifindex(o), rtnl_tc_get_handle(o), rtnl_tc_get_parent(o),
                            string(rtnl_tc_get_kind(o)), rtnl_tc_get_stat(o, RTNL_TC_BYTES),
                            rtnl_tc_get_stat(o, RTNL_TC_PACKETS), rtnl_tc_get_stat(o, RTNL_TC_BACKLOG),
                            rtnl_tc_get_stat(o, RTNL_TC_QLEN), rtnl_tc_get_stat(o, RTNL_TC_DROPS)));
                }
            } finally {
                nl_cache_free(cache);
            }
        }
        return rows;
    }

    // ---------------------------------------------------------------- filters

    /**
     * Adds {@code u32 [handle H] match u32 0 0 at OFF action mirred egress redirect dev IFB} under the vif's ingress
     * qdisc; handle 0 lets the kernel pick the node. The kind is set before any kind-specific setter (libnl has no
     * kind data until then), and the action is put after adding it: the classifier holds its own reference.
     */
    static int redirectAdd(Socket s, int vifIndex, int protocol, int prio, int handle, int keyOffset, int ifbIndex) {
        MemorySegment cls = rtnl_cls_alloc();
        MemorySegment act = rtnl_act_alloc();
        try {
            int rc = redirect(cls, act, vifIndex, protocol, prio, handle, keyOffset, ifbIndex);
            return rc < 0 ? rc : rtnl_cls_add(s.sock, cls, NLM_F_CREATE | NLM_F_EXCL);
        } finally {
            rtnl_act_put(act);
            rtnl_cls_put(cls);
        }
    }

    /** Fills {@code cls} and {@code act} (fresh objects) as the redirect filter; returns a negative code on failure. */
    private static int redirect(MemorySegment cls, MemorySegment act, int vifIndex, int protocol, int prio, int handle,
                                int keyOffset, int ifbIndex) {
        int rc = redirectKey(cls, vifIndex, protocol, prio, handle);
        if (rc < 0) {
            return rc;
        }
        rc = rtnl_u32_add_key_uint32(cls, 0, 0, keyOffset, 0);
        if (rc < 0) {
            return rc;
        }
        // u32 runs a node's actions only if it is terminal; tc sets the flag whenever actions are given.
        rc = rtnl_u32_set_cls_terminal(cls);
        if (rc < 0) {
            return rc;
        }
        rc = rtnl_tc_set_kind(act, KIND_MIRRED);
        if (rc < 0) {
            return rc;
        }
        // rtnl_mirred_set_action reports failure as a positive code: test != 0.
        rc = rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
        if (rc != 0) {
            return -Math.abs(rc);
        }
        rc = rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
        if (rc < 0) {
            return rc;
        }
        rc = rtnl_mirred_set_ifindex(act, ifbIndex);
        if (rc < 0) {
            return rc;
        }
        // the classifier takes its own reference to the action
        return rtnl_u32_add_action(cls, act);
    }

    /** The u32 filter's identity: vif, ingress parent, node, priority, protocol. */
    private static int redirectKey(MemorySegment cls, int vifIndex, int protocol, int prio, int handle) {
        rtnl_tc_set_ifindex(cls, vifIndex);
        rtnl_tc_set_parent(cls, TcHandle.INGRESS.value());
        rtnl_tc_set_handle(cls, handle);
        int rc = rtnl_tc_set_kind(cls, KIND_U32);
        if (rc < 0) {
            return rc;
        }
        rtnl_cls_set_prio(cls, (short) prio);
        rtnl_cls_set_protocol(cls, (short) protocol);
        return 0;
    }

    /**
     * Deletes the u32 node {@code handle} with this priority and protocol under the vif's ingress qdisc, or with
     * handle 0 every one of them.
     */
    static int redirectDelete(Socket s, int vifIndex, int protocol, int prio, int handle) {
        MemorySegment cls = rtnl_cls_alloc();
        try {
            int rc = redirectKey(cls, vifIndex, protocol, prio, handle);
            return rc < 0 ? rc : rtnl_cls_delete(s.sock, cls, 0);
        } finally {
            rtnl_cls_put(cls);
        }
    }

    /**
     * @param handle       the filter's handle: for u32, its node ({@code 800::800}) or hash table ({@code 800:})
     * @param keyOffset    for a u32 node that redirects, the offset of its first key (0 if it has none)
     * @param mirredTarget the ifindex the filter's first action redirects to, or 0 if it has no mirred redirect
     */
    record FilterRow(int priority, int protocol, String kind, int handle, int keyOffset, int mirredTarget) {
    }

    /** The filters under a vif's ingress qdisc; a negative code in {@code error[0]} on failure. */
    static List<FilterRow> ingressFilters(Socket s, int vifIndex, int[] error) {
        List<FilterRow> rows = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = rtnl_cls_alloc_cache(s.sock, vifIndex, TcHandle.INGRESS.value(), out);
            if (rc < 0) {
                error[0] = rc;
                return rows;
            }
            MemorySegment cache = out.get(ADDRESS, 0);
            MemorySegment val = arena.allocate(JAVA_INT), mask = arena.allocate(JAVA_INT);
            MemorySegment off = arena.allocate(JAVA_INT), offmask = arena.allocate(JAVA_INT);
            try {
                for (MemorySegment o = nl_cache_get_first(cache); !o.equals(MemorySegment.NULL); o = nl_cache_get_next(o)) {
                    String kind = string(rtnl_tc_get_kind(o));
                    int target = 0;
                    int keyOffset = 0;
                    if (RedirectFilter.KIND.equals(kind)) {
                        MemorySegment act = rtnl_u32_get_action(o);
                        if (!act.equals(MemorySegment.NULL) && "mirred".equals(string(rtnl_tc_get_kind(act)))
                                && rtnl_mirred_get_action(act) == TCA_EGRESS_REDIR) {
                            target = rtnl_mirred_get_ifindex(act);
                            keyOffset = rtnl_u32_get_key(o, (byte) 0, val, mask, off, offmask) == 0
                                    ? off.get(JAVA_INT, 0) : 0;
                        }
                    }
                    rows.add(new FilterRow(Short.toUnsignedInt(rtnl_cls_get_prio(o)),
                            Short.toUnsignedInt(rtnl_cls_get_protocol(o)), kind, rtnl_tc_get_handle(o), keyOffset,
                            target));
                }
            } finally {
                nl_cache_free(cache);
            }
        }
        return rows;
    }

    // ---------------------------------------------------------------- downcall wrappers, one per C function

    private static MemorySegment nl_socket_alloc() {
        try { return (MemorySegment) nl_socket_alloc$mh.invokeExact(); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void nl_socket_free(MemorySegment sock) {
        try { nl_socket_free$mh.invokeExact(sock); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int nl_socket_set_msg_buf_size(MemorySegment sock, long size) {
        try { return (int) nl_socket_set_msg_buf_size$mh.invokeExact(sock, size); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void nl_socket_disable_msg_peek(MemorySegment sock) {
        try { nl_socket_disable_msg_peek$mh.invokeExact(sock); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int nl_connect(MemorySegment sock, int protocol) {
        try { return (int) nl_connect$mh.invokeExact(sock, protocol); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment nl_geterror(int code) {
        try { return (MemorySegment) nl_geterror$mh.invokeExact(code); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment nl_cache_get_first(MemorySegment cache) {
        try { return (MemorySegment) nl_cache_get_first$mh.invokeExact(cache); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment nl_cache_get_next(MemorySegment obj) {
        try { return (MemorySegment) nl_cache_get_next$mh.invokeExact(obj); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void nl_cache_free(MemorySegment cache) {
        try { nl_cache_free$mh.invokeExact(cache); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment rtnl_link_alloc() {
        try { return (MemorySegment) rtnl_link_alloc$mh.invokeExact(); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_link_put(MemorySegment link) {
        try { rtnl_link_put$mh.invokeExact(link); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_link_get_kernel(MemorySegment sock, int ifindex, MemorySegment name, MemorySegment out) {
        REQUESTS.increment();
        try { return (int) rtnl_link_get_kernel$mh.invokeExact(sock, ifindex, name, out); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_link_get_ifindex(MemorySegment link) {
        try { return (int) rtnl_link_get_ifindex$mh.invokeExact(link); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment rtnl_link_get_name(MemorySegment link) {
        try { return (MemorySegment) rtnl_link_get_name$mh.invokeExact(link); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment rtnl_link_get_type(MemorySegment link) {
        try { return (MemorySegment) rtnl_link_get_type$mh.invokeExact(link); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_link_get_flags(MemorySegment link) {
        try { return (int) rtnl_link_get_flags$mh.invokeExact(link); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_link_set_name(MemorySegment link, MemorySegment name) {
        try { rtnl_link_set_name$mh.invokeExact(link, name); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_link_set_type(MemorySegment link, MemorySegment type) {
        try { return (int) rtnl_link_set_type$mh.invokeExact(link, type); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_link_set_ifindex(MemorySegment link, int ifindex) {
        try { rtnl_link_set_ifindex$mh.invokeExact(link, ifindex); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_link_set_flags(MemorySegment link, int flags) {
        try { rtnl_link_set_flags$mh.invokeExact(link, flags); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_link_inet6_set_addr_gen_mode(MemorySegment link, byte mode) {
        try { return (int) rtnl_link_inet6_set_addr_gen_mode$mh.invokeExact(link, mode); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_link_unset_flags(MemorySegment link, int flags) {
        try { rtnl_link_unset_flags$mh.invokeExact(link, flags); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_link_add(MemorySegment sock, MemorySegment link, int flags) {
        REQUESTS.increment();
        try { return (int) rtnl_link_add$mh.invokeExact(sock, link, flags); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_link_change(MemorySegment sock, MemorySegment orig, MemorySegment changes, int flags) {
        REQUESTS.increment();
        try { return (int) rtnl_link_change$mh.invokeExact(sock, orig, changes, flags); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_link_delete(MemorySegment sock, MemorySegment link) {
        REQUESTS.increment();
        try { return (int) rtnl_link_delete$mh.invokeExact(sock, link); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_link_alloc_cache(MemorySegment sock, int family, MemorySegment out) {
        REQUESTS.increment();
        DUMPS.increment();
        try { return (int) rtnl_link_alloc_cache$mh.invokeExact(sock, family, out); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_link_set_ns_fd(MemorySegment link, int fd) {
        try { rtnl_link_set_ns_fd$mh.invokeExact(link, fd); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment rtnl_link_veth_alloc() {
        try { return (MemorySegment) rtnl_link_veth_alloc$mh.invokeExact(); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment rtnl_link_veth_get_peer(MemorySegment link) {
        try { return (MemorySegment) rtnl_link_veth_get_peer$mh.invokeExact(link); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_tc_set_ifindex(MemorySegment tc, int ifindex) {
        try { rtnl_tc_set_ifindex$mh.invokeExact(tc, ifindex); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_tc_set_parent(MemorySegment tc, int parent) {
        try { rtnl_tc_set_parent$mh.invokeExact(tc, parent); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_tc_set_handle(MemorySegment tc, int handle) {
        try { rtnl_tc_set_handle$mh.invokeExact(tc, handle); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_tc_set_kind(MemorySegment tc, MemorySegment kind) {
        try { return (int) rtnl_tc_set_kind$mh.invokeExact(tc, kind); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_tc_get_ifindex(MemorySegment tc) {
        try { return (int) rtnl_tc_get_ifindex$mh.invokeExact(tc); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_tc_get_parent(MemorySegment tc) {
        try { return (int) rtnl_tc_get_parent$mh.invokeExact(tc); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_tc_get_handle(MemorySegment tc) {
        try { return (int) rtnl_tc_get_handle$mh.invokeExact(tc); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment rtnl_tc_get_kind(MemorySegment tc) {
        try { return (MemorySegment) rtnl_tc_get_kind$mh.invokeExact(tc); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static long rtnl_tc_get_stat(MemorySegment tc, int id) {
        try { return (long) rtnl_tc_get_stat$mh.invokeExact(tc, id); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment rtnl_qdisc_alloc() {
        try { return (MemorySegment) rtnl_qdisc_alloc$mh.invokeExact(); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_qdisc_put(MemorySegment q) {
        try { rtnl_qdisc_put$mh.invokeExact(q); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_qdisc_add(MemorySegment sock, MemorySegment q, int flags) {
        REQUESTS.increment();
        try { return (int) rtnl_qdisc_add$mh.invokeExact(sock, q, flags); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_qdisc_delete(MemorySegment sock, MemorySegment q) {
        REQUESTS.increment();
        try { return (int) rtnl_qdisc_delete$mh.invokeExact(sock, q); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_qdisc_alloc_cache(MemorySegment sock, MemorySegment out) {
        REQUESTS.increment();
        DUMPS.increment();
        try { return (int) rtnl_qdisc_alloc_cache$mh.invokeExact(sock, out); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_qdisc_plug_set_limit(MemorySegment q, int limit) {
        try { return (int) rtnl_qdisc_plug_set_limit$mh.invokeExact(q, limit); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_qdisc_plug_buffer(MemorySegment q) {
        try { return (int) rtnl_qdisc_plug_buffer$mh.invokeExact(q); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_qdisc_plug_release_one(MemorySegment q) {
        try { return (int) rtnl_qdisc_plug_release_one$mh.invokeExact(q); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_qdisc_plug_release_indefinite(MemorySegment q) {
        try { return (int) rtnl_qdisc_plug_release_indefinite$mh.invokeExact(q); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment rtnl_cls_alloc() {
        try { return (MemorySegment) rtnl_cls_alloc$mh.invokeExact(); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_cls_put(MemorySegment cls) {
        try { rtnl_cls_put$mh.invokeExact(cls); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_cls_add(MemorySegment sock, MemorySegment cls, int flags) {
        REQUESTS.increment();
        try { return (int) rtnl_cls_add$mh.invokeExact(sock, cls, flags); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_cls_delete(MemorySegment sock, MemorySegment cls, int flags) {
        REQUESTS.increment();
        try { return (int) rtnl_cls_delete$mh.invokeExact(sock, cls, flags); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_cls_set_prio(MemorySegment cls, short prio) {
        try { rtnl_cls_set_prio$mh.invokeExact(cls, prio); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static short rtnl_cls_get_prio(MemorySegment cls) {
        try { return (short) rtnl_cls_get_prio$mh.invokeExact(cls); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_cls_set_protocol(MemorySegment cls, short protocol) {
        try { rtnl_cls_set_protocol$mh.invokeExact(cls, protocol); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static short rtnl_cls_get_protocol(MemorySegment cls) {
        try { return (short) rtnl_cls_get_protocol$mh.invokeExact(cls); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_cls_alloc_cache(MemorySegment sock, int ifindex, int parent, MemorySegment out) {
        REQUESTS.increment();
        DUMPS.increment();
        try { return (int) rtnl_cls_alloc_cache$mh.invokeExact(sock, ifindex, parent, out); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_u32_add_key_uint32(MemorySegment cls, int val, int mask, int off, int offmask) {
        try { return (int) rtnl_u32_add_key_uint32$mh.invokeExact(cls, val, mask, off, offmask); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_u32_get_key(MemorySegment cls, byte index, MemorySegment val, MemorySegment mask,
                                        MemorySegment off, MemorySegment offmask) {
        try { return (int) rtnl_u32_get_key$mh.invokeExact(cls, index, val, mask, off, offmask); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_u32_set_cls_terminal(MemorySegment cls) {
        try { return (int) rtnl_u32_set_cls_terminal$mh.invokeExact(cls); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_u32_add_action(MemorySegment cls, MemorySegment act) {
        try { return (int) rtnl_u32_add_action$mh.invokeExact(cls, act); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment rtnl_u32_get_action(MemorySegment cls) {
        try { return (MemorySegment) rtnl_u32_get_action$mh.invokeExact(cls); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment rtnl_act_alloc() {
        try { return (MemorySegment) rtnl_act_alloc$mh.invokeExact(); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void rtnl_act_put(MemorySegment act) {
        try { rtnl_act_put$mh.invokeExact(act); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_mirred_set_action(MemorySegment act, int action) {
        try { return (int) rtnl_mirred_set_action$mh.invokeExact(act, action); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_mirred_get_action(MemorySegment act) {
        try { return (int) rtnl_mirred_get_action$mh.invokeExact(act); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_mirred_set_policy(MemorySegment act, int policy) {
        try { return (int) rtnl_mirred_set_policy$mh.invokeExact(act, policy); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_mirred_set_ifindex(MemorySegment act, int ifindex) {
        try { return (int) rtnl_mirred_set_ifindex$mh.invokeExact(act, ifindex); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_mirred_get_ifindex(MemorySegment act) {
        try { return (int) rtnl_mirred_get_ifindex$mh.invokeExact(act); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_qdisc_build_add_request(MemorySegment q, int flags, MemorySegment out) {
        try { return (int) rtnl_qdisc_build_add_request$mh.invokeExact(q, flags, out); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_qdisc_build_delete_request(MemorySegment q, MemorySegment out) {
        try { return (int) rtnl_qdisc_build_delete_request$mh.invokeExact(q, out); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_link_build_add_request(MemorySegment link, int flags, MemorySegment out) {
        try { return (int) rtnl_link_build_add_request$mh.invokeExact(link, flags, out); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_link_build_change_request(MemorySegment orig, MemorySegment changes, int flags, MemorySegment out) {
        try { return (int) rtnl_link_build_change_request$mh.invokeExact(orig, changes, flags, out); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_link_build_delete_request(MemorySegment link, MemorySegment out) {
        try { return (int) rtnl_link_build_delete_request$mh.invokeExact(link, out); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_cls_build_add_request(MemorySegment cls, int flags, MemorySegment out) {
        try { return (int) rtnl_cls_build_add_request$mh.invokeExact(cls, flags, out); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int rtnl_cls_build_delete_request(MemorySegment cls, int flags, MemorySegment out) {
        try { return (int) rtnl_cls_build_delete_request$mh.invokeExact(cls, flags, out); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static long nlmsg_hdr(long msg) {
        try { return (long) nlmsg_hdr$mh.invokeExact(msg); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static void nlmsg_free(long msg) {
        try { nlmsg_free$mh.invokeExact(msg); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int nl_sendto(MemorySegment sock, MemorySegment buf, long size) {
        REQUESTS.increment();
        try { return (int) nl_sendto$mh.invokeExact(sock, buf, size); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int nl_recv(MemorySegment sock, MemorySegment addr, MemorySegment buf, MemorySegment creds) {
        try { return (int) nl_recv$mh.invokeExact(sock, addr, buf, creds); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int nl_syserr2nlerr(int error) {
        try { return (int) nl_syserr2nlerr$mh.invokeExact(error); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int nl_socket_set_buffer_size(MemorySegment sock, int rx, int tx) {
        try { return (int) nl_socket_set_buffer_size$mh.invokeExact(sock, rx, tx); } catch (Throwable t) { throw bindingBug(t); }
    }
}
