package io.remus.netbuf.libc;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The one owner of libc's functions over {@code java.lang.foreign}: one AF_PACKET socket's {@code socket},
 * {@code setsockopt}, {@code bind} and {@code close} (the vifs' null taps); the calls that make, enter and remove
 * network namespaces ({@code open}, {@code setns}, {@code unshare}, {@code mkdir}, {@code flock}, {@code mount},
 * {@code umount2}, {@code unlink}); {@code setpriority} of the calling thread; {@code poll} of one descriptor;
 * {@code free} of what another library allocated; {@code strerror} for messages. Every call speaks ints, longs and
 * Strings: a file descriptor or 0 on success, {@code -errno} on failure. C strings and structs live in an arena
 * scoped to the call.
 */
public final class LibC {

    // sys/socket.h, linux/if_packet.h, linux/if_ether.h, linux/filter.h (x86-64 and aarch64 share these values)
    private static final int AF_PACKET = 17;
    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int SOL_SOCKET = 1;
    private static final int SO_ATTACH_FILTER = 26;
    private static final short ETH_P_ALL = 3;
    private static final short BPF_RET_K = 0x06; // BPF_RET | BPF_K: return the constant k
    private static final short POLLIN = 1;
    private static final int PRIO_PROCESS = 0;
    private static final int ENOSYS = 38;

    // sched.h, fcntl.h, sys/mount.h, sys/file.h (x86-64 and aarch64 share these values)
    public static final int CLONE_NEWNET = 0x40000000;
    public static final int O_RDONLY = 0, O_CREAT = 0100, O_EXCL = 0200, O_DIRECTORY = 0200000, O_CLOEXEC = 02000000;
    public static final long MS_BIND = 4096, MS_REC = 16384, MS_SHARED = 1 << 20;
    public static final int MNT_DETACH = 2;
    public static final int LOCK_EX = 2;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option ERRNO_STATE = Linker.Option.captureCallState("errno");
    /** strerror and free neither block nor call back: skip the thread-state transition. Syscalls are plain. */
    private static final Linker.Option LEAF = Linker.Option.critical(false);
    private static final MemoryLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    /** struct sock_filter: one classic BPF instruction. */
    private static final StructLayout SOCK_FILTER = MemoryLayout.structLayout(
            JAVA_SHORT.withName("code"), JAVA_BYTE.withName("jt"), JAVA_BYTE.withName("jf"), JAVA_INT.withName("k"));
    /** struct sock_fprog: the instruction count, padded to the pointer's alignment, then the instructions. */
    private static final StructLayout SOCK_FPROG = MemoryLayout.structLayout(
            JAVA_SHORT.withName("len"), MemoryLayout.paddingLayout(ADDRESS.byteSize() - JAVA_SHORT.byteSize()),
            ADDRESS.withName("filter"));
    /** struct sockaddr_ll, 20 bytes; sll_protocol is in network byte order. */
    private static final StructLayout SOCKADDR_LL = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sll_family"), JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN).withName("sll_protocol"),
            JAVA_INT.withName("sll_ifindex"), JAVA_SHORT.withName("sll_hatype"), JAVA_BYTE.withName("sll_pkttype"),
            JAVA_BYTE.withName("sll_halen"), MemoryLayout.sequenceLayout(8, JAVA_BYTE).withName("sll_addr"));

    /** struct pollfd. */
    private static final StructLayout POLLFD = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"), JAVA_SHORT.withName("events"), JAVA_SHORT.withName("revents"));

    private static final VarHandle FILTER_CODE = field(SOCK_FILTER, "code");
    private static final VarHandle FILTER_K = field(SOCK_FILTER, "k");
    private static final VarHandle FPROG_LEN = field(SOCK_FPROG, "len");
    private static final VarHandle FPROG_FILTER = field(SOCK_FPROG, "filter");
    private static final VarHandle LL_FAMILY = field(SOCKADDR_LL, "sll_family");
    private static final VarHandle LL_PROTOCOL = field(SOCKADDR_LL, "sll_protocol");
    private static final VarHandle LL_IFINDEX = field(SOCKADDR_LL, "sll_ifindex");
    private static final VarHandle POLL_FD = field(POLLFD, "fd");
    private static final VarHandle POLL_EVENTS = field(POLLFD, "events");

    private static final String NATIVE_ACCESS_DENIED = "the JVM denies native access: start it with"
            + " --enable-native-access=ALL-UNNAMED (or the manifest attribute Enable-Native-Access: ALL-UNNAMED)";
    private static String unavailable;

    private static final MethodHandle socket$mh = downcall("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), ERRNO_STATE);
    private static final MethodHandle setsockopt$mh = downcall("setsockopt", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), ERRNO_STATE);
    private static final MethodHandle bind$mh = downcall("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), ERRNO_STATE);
    private static final MethodHandle close$mh = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), ERRNO_STATE);
    private static final MethodHandle strerror$mh = downcall("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT), LEAF);
    private static final MethodHandle gettid$mh = downcall("gettid", FunctionDescriptor.of(JAVA_INT), LEAF);
    private static final MethodHandle setpriority$mh = downcall("setpriority", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), ERRNO_STATE);
    // int open(const char *path, int flags, ... /* mode_t mode */); the mode is read only with O_CREAT
    private static final MethodHandle open$mh = downcall("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2), ERRNO_STATE);
    private static final MethodHandle setns$mh = downcall("setns", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), ERRNO_STATE);
    private static final MethodHandle unshare$mh = downcall("unshare", FunctionDescriptor.of(JAVA_INT, JAVA_INT), ERRNO_STATE);
    private static final MethodHandle mkdir$mh = downcall("mkdir", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), ERRNO_STATE);
    private static final MethodHandle unlink$mh = downcall("unlink", FunctionDescriptor.of(JAVA_INT, ADDRESS), ERRNO_STATE);
    private static final MethodHandle flock$mh = downcall("flock", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), ERRNO_STATE);
    private static final MethodHandle mount$mh = downcall("mount", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS), ERRNO_STATE);
    private static final MethodHandle umount2$mh = downcall("umount2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), ERRNO_STATE);
    private static final MethodHandle poll$mh = downcall("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), ERRNO_STATE);
    // The netlink receive loop frees libnl's buffers by raw address: no MemorySegment object per message.
    private static final MethodHandle free$mh = downcall("free", FunctionDescriptor.ofVoid(JAVA_LONG), LEAF);

    private LibC() {
    }

    /** Why the calls cannot be made (native access denied, a symbol missing), or null when they can. */
    public static String unavailable() {
        return unavailable;
    }

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        if (unavailable != null) {
            return null;
        }
        var symbol = LINKER.defaultLookup().find(name);
        if (symbol.isEmpty()) {
            unavailable = "libc has no symbol " + name;
            return null;
        }
        try {
            return LINKER.downcallHandle(symbol.get(), descriptor, options);
        } catch (IllegalCallerException e) {
            unavailable = NATIVE_ACCESS_DENIED;
            return null;
        }
    }

    private static VarHandle field(StructLayout layout, String name) {
        return layout.varHandle(MemoryLayout.PathElement.groupElement(name));
    }

    /** A Throwable out of invokeExact means the binding itself is wrong (a descriptor mismatch), not the kernel. */
    private static AssertionError bindingBug(Throwable t) {
        return new AssertionError("libc binding bug", t);
    }

    /**
     * {@code socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)}: the file descriptor, or {@code -errno}. Protocol 0
     * registers no packet hook, so the socket receives nothing until {@link #bindAllProtocols} binds it.
     */
    public static int openPacketSocket() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = socket(state, AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
            return fd < 0 ? -errno(state) : fd;
        }
    }

    /** {@code SO_ATTACH_FILTER} with the one instruction {@code ret #0}: every frame is dropped. 0 or {@code -errno}. */
    public static int attachAcceptNothingFilter(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment insn = arena.allocate(SOCK_FILTER);
            FILTER_CODE.set(insn, 0L, BPF_RET_K);
            FILTER_K.set(insn, 0L, 0);
            MemorySegment prog = arena.allocate(SOCK_FPROG);
            FPROG_LEN.set(prog, 0L, (short) 1);
            FPROG_FILTER.set(prog, 0L, insn);
            MemorySegment state = arena.allocate(CALL_STATE);
            int rc = setsockopt(state, fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, (int) prog.byteSize());
            return rc < 0 ? -errno(state) : 0;
        }
    }

    /**
     * {@code bind} to {@code ifindex} for ETH_P_ALL: the kernel hands the socket every frame the device sends or
     * receives (and the filter drops it). 0 or {@code -errno}; ENODEV when no device has that index.
     */
    public static int bindAllProtocols(int fd, int ifindex) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = arena.allocate(SOCKADDR_LL);
            LL_FAMILY.set(addr, 0L, (short) AF_PACKET);
            LL_PROTOCOL.set(addr, 0L, ETH_P_ALL);
            LL_IFINDEX.set(addr, 0L, ifindex);
            MemorySegment state = arena.allocate(CALL_STATE);
            int rc = bind(state, fd, addr, (int) addr.byteSize());
            return rc < 0 ? -errno(state) : 0;
        }
    }

    /** {@code close}: 0 or {@code -errno}. On Linux the descriptor is released even when close reports an error. */
    public static int close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return close(state, fd) < 0 ? -errno(state) : 0;
        }
    }

    /** {@code open(path, flags, 0)}: the file descriptor, or {@code -errno}. */
    public static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = open(state, arena.allocateFrom(path), flags, 0);
            return fd < 0 ? -errno(state) : fd;
        }
    }

    /** {@code setns(fd, nstype)}: the calling thread alone enters the namespace of {@code fd}. 0 or {@code -errno}. */
    public static int setns(int fd, int nstype) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return setns(state, fd, nstype) != 0 ? -errno(state) : 0;
        }
    }

    /** {@code unshare(flags)}: new namespaces for the calling thread alone. 0 or {@code -errno}. */
    public static int unshare(int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return unshare(state, flags) != 0 ? -errno(state) : 0;
        }
    }

    /** {@code mkdir(path, mode)}: 0 or {@code -errno}. */
    public static int mkdir(String path, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return mkdir(state, arena.allocateFrom(path), mode) != 0 ? -errno(state) : 0;
        }
    }

    /** {@code unlink(path)}: 0 or {@code -errno}. */
    public static int unlink(String path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return unlink(state, arena.allocateFrom(path)) != 0 ? -errno(state) : 0;
        }
    }

    /** {@code flock(fd, operation)}: 0 or {@code -errno}. */
    public static int flock(int fd, int operation) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return flock(state, fd, operation) != 0 ? -errno(state) : 0;
        }
    }

    /** {@code mount(source, target, fstype, flags, NULL)}: 0 or {@code -errno}. */
    public static int mount(String source, String target, String fstype, long flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int rc = mount(state, arena.allocateFrom(source), arena.allocateFrom(target), arena.allocateFrom(fstype),
                    flags, MemorySegment.NULL);
            return rc != 0 ? -errno(state) : 0;
        }
    }

    /** {@code umount2(target, flags)}: 0 or {@code -errno}. */
    public static int umount2(String target, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return umount2(state, arena.allocateFrom(target), flags) != 0 ? -errno(state) : 0;
        }
    }

    /**
     * {@code poll} of {@code fd} alone for input, waiting at most {@code timeoutMillis}: 1 when it is readable, 0 on
     * the timeout, or {@code -errno} (EINTR when a signal came first).
     */
    public static int pollIn(int fd, int timeoutMillis) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollfd = arena.allocate(POLLFD);
            POLL_FD.set(pollfd, 0L, fd);
            POLL_EVENTS.set(pollfd, 0L, POLLIN);
            MemorySegment state = arena.allocate(CALL_STATE);
            int ready = poll(state, pollfd, 1L, timeoutMillis);
            return ready < 0 ? -errno(state) : ready;
        }
    }

    /** {@code free} of memory another library allocated with malloc, by its address. */
    public static void free(long address) {
        try { free$mh.invokeExact(address); } catch (Throwable t) { throw bindingBug(t); }
    }

    /**
     * {@code setpriority(PRIO_PROCESS, gettid(), nice)}: the calling thread's nice value (on Linux a nice value is a
     * thread's). 0 or {@code -errno}: a value below the current one needs CAP_SYS_NICE (EACCES without).
     */
    public static int setThreadNice(int nice) {
        if (unavailable != null) {
            return -ENOSYS;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int rc = setpriority(state, PRIO_PROCESS, gettid(), nice);
            return rc < 0 ? -errno(state) : 0;
        }
    }

    /** {@code strerror(errno)}, e.g. {@code No such device}. */
    public static String errorText(int errno) {
        MemorySegment text = strerror(errno);
        return text.equals(MemorySegment.NULL) ? "errno " + errno : text.reinterpret(1024).getString(0);
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static int socket(MemorySegment state, int domain, int type, int protocol) {
        try { return (int) socket$mh.invokeExact(state, domain, type, protocol); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int setsockopt(MemorySegment state, int fd, int level, int name, MemorySegment value, int length) {
        try { return (int) setsockopt$mh.invokeExact(state, fd, level, name, value, length); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int bind(MemorySegment state, int fd, MemorySegment addr, int length) {
        try { return (int) bind$mh.invokeExact(state, fd, addr, length); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int close(MemorySegment state, int fd) {
        try { return (int) close$mh.invokeExact(state, fd); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int gettid() {
        try { return (int) gettid$mh.invokeExact(); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int setpriority(MemorySegment state, int which, int who, int nice) {
        try { return (int) setpriority$mh.invokeExact(state, which, who, nice); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int open(MemorySegment state, MemorySegment path, int flags, int mode) {
        try { return (int) open$mh.invokeExact(state, path, flags, mode); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int setns(MemorySegment state, int fd, int nstype) {
        try { return (int) setns$mh.invokeExact(state, fd, nstype); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int unshare(MemorySegment state, int flags) {
        try { return (int) unshare$mh.invokeExact(state, flags); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int mkdir(MemorySegment state, MemorySegment path, int mode) {
        try { return (int) mkdir$mh.invokeExact(state, path, mode); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int unlink(MemorySegment state, MemorySegment path) {
        try { return (int) unlink$mh.invokeExact(state, path); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int flock(MemorySegment state, int fd, int operation) {
        try { return (int) flock$mh.invokeExact(state, fd, operation); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int mount(MemorySegment state, MemorySegment source, MemorySegment target, MemorySegment fstype,
                             long flags, MemorySegment data) {
        try { return (int) mount$mh.invokeExact(state, source, target, fstype, flags, data); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int umount2(MemorySegment state, MemorySegment target, int flags) {
        try { return (int) umount2$mh.invokeExact(state, target, flags); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static int poll(MemorySegment state, MemorySegment fds, long count, int timeoutMillis) {
        try { return (int) poll$mh.invokeExact(state, fds, count, timeoutMillis); } catch (Throwable t) { throw bindingBug(t); }
    }

    private static MemorySegment strerror(int errno) {
        try { return (MemorySegment) strerror$mh.invokeExact(errno); } catch (Throwable t) { throw bindingBug(t); }
    }
}
