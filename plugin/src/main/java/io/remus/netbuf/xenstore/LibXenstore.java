package io.remus.netbuf.xenstore;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.remus.netbuf.libc.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The only class that touches {@code java.lang.foreign} for Xen: it owns the lookup of libxenstore
 * ({@code libxenstore.so.4}, Debian's {@code libxenstore4}), every downcall handle, and each call sequence (the
 * libc calls that go with them, {@code free} and {@code poll}, are {@link LibC}'s). It speaks Strings and ints to {@link Xenstore};
 * a failed call comes back as a {@link XenstoreException} with its errno.
 *
 * <p>Handles are static finals named after the C function. Every string or vector libxenstore returns is copied and
 * freed before the call returns; C strings and out-pointers live in an arena scoped to the call.
 */
final class LibXenstore {

    static final String LIBRARY = "libxenstore.so.4";
    private static final int XBT_NULL = 0;
    private static final int XS_WATCH_PATH = 0;
    private static final int XS_WATCH_TOKEN = 1;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final int ENOENT = 2;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final String PROBLEM;
    private static final SymbolLookup LOOKUP;

    static {
        SymbolLookup lookup = null;
        String problem = null;
        try {
            lookup = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
        } catch (IllegalArgumentException e) {
            problem = LIBRARY + " not found (" + e.getMessage() + "): apt-get install libxenstore4";
        }
        LOOKUP = lookup;
        PROBLEM = problem;
    }

    private static final MemoryLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_CAPTURE = Linker.Option.captureCallState("errno");

    private static final MethodHandle xs_open$mh = downcall("xs_open", FunctionDescriptor.of(ADDRESS, JAVA_LONG), ERRNO_CAPTURE);
    private static final MethodHandle xs_close$mh = downcall("xs_close", FunctionDescriptor.ofVoid(ADDRESS));
    private static final MethodHandle xs_read$mh = downcall("xs_read", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS), ERRNO_CAPTURE);
    private static final MethodHandle xs_directory$mh = downcall("xs_directory", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS), ERRNO_CAPTURE);
    private static final MethodHandle xs_watch$mh = downcall("xs_watch", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, ADDRESS, ADDRESS), ERRNO_CAPTURE);
    private static final MethodHandle xs_unwatch$mh = downcall("xs_unwatch", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, ADDRESS, ADDRESS), ERRNO_CAPTURE);
    private static final MethodHandle xs_fileno$mh = downcall("xs_fileno", FunctionDescriptor.of(JAVA_INT, ADDRESS), ERRNO_CAPTURE);
    private static final MethodHandle xs_check_watch$mh = downcall("xs_check_watch", FunctionDescriptor.of(ADDRESS, ADDRESS), ERRNO_CAPTURE);

    private LibXenstore() {
    }

    /** Why libxenstore cannot be used here, or empty. */
    static Optional<String> problem() {
        return Optional.ofNullable(PROBLEM);
    }

    /** {@code xs_open(0)}: a connection to xenstored (its socket, else /dev/xen/xenbus). */
    static MemorySegment open() {
        requireLibrary();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(CALL_STATE);
            MemorySegment h = (MemorySegment) xs_open$mh.invokeExact(state, 0L);
            if (h.equals(MemorySegment.NULL)) {
                throw XenstoreException.of("open", "", errno(state));
            }
            return h;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void close(MemorySegment h) {
        try {
            xs_close$mh.invokeExact(h);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code xs_read}: the value at {@code path}, or empty if there is none. */
    static Optional<String> read(MemorySegment h, String path) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(CALL_STATE);
            MemorySegment len = call.allocate(JAVA_INT);
            MemorySegment v = (MemorySegment) xs_read$mh.invokeExact(state, h, XBT_NULL, call.allocateFrom(path), len);
            if (v.equals(MemorySegment.NULL)) {
                int errno = errno(state);
                if (errno == ENOENT) {
                    return Optional.empty();
                }
                throw XenstoreException.of("read", path, errno);
            }
            try {
                int n = len.get(JAVA_INT, 0);
                return Optional.of(new String(v.reinterpret(n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                        java.nio.charset.StandardCharsets.UTF_8));
            } finally {
                free(v);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code xs_directory}: the names under {@code path}; empty if there is no such node. */
    static List<String> directory(MemorySegment h, String path) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(CALL_STATE);
            MemorySegment num = call.allocate(JAVA_INT);
            MemorySegment vec = (MemorySegment) xs_directory$mh.invokeExact(state, h, XBT_NULL,
                    call.allocateFrom(path), num);
            if (vec.equals(MemorySegment.NULL)) {
                int errno = errno(state);
                if (errno == ENOENT) {
                    return List.of();
                }
                throw XenstoreException.of("list", path, errno);
            }
            try {
                return strings(vec, num.get(JAVA_INT, 0));
            } finally {
                free(vec);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code xs_watch}: events for {@code path} and everything below it, tagged {@code token}. */
    static void watch(MemorySegment h, String path, String token) {
        watchCall(xs_watch$mh, "watch", h, path, token);
    }

    static void unwatch(MemorySegment h, String path, String token) {
        watchCall(xs_unwatch$mh, "unwatch", h, path, token);
    }

    /**
     * Waits at most {@code timeoutMillis} for a watch event ({@code poll} on {@code xs_fileno}, then
     * {@code xs_check_watch}): the path that changed and its token, or empty if none came.
     */
    static Optional<String[]> awaitWatch(MemorySegment h, int timeoutMillis) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(CALL_STATE);
            MemorySegment event = (MemorySegment) xs_check_watch$mh.invokeExact(state, h);
            if (event.equals(MemorySegment.NULL)) {
                int fd = (int) xs_fileno$mh.invokeExact(state, h);
                if (fd < 0) {
                    throw XenstoreException.of("watch", "xs_fileno", errno(state));
                }
                int ready = LibC.pollIn(fd, timeoutMillis);
                if (ready < 0 && ready != -EINTR) {
                    throw XenstoreException.of("watch", "poll", -ready);
                }
                event = (MemorySegment) xs_check_watch$mh.invokeExact(state, h);
                if (event.equals(MemorySegment.NULL)) {
                    int errno = errno(state);
                    if (errno != EAGAIN && errno != 0) {
                        throw XenstoreException.of("watch", "xs_check_watch", errno);
                    }
                    return Optional.empty();
                }
            }
            try {
                List<String> v = strings(event, 2);
                return Optional.of(new String[] {v.get(XS_WATCH_PATH), v.get(XS_WATCH_TOKEN)});
            } finally {
                free(event);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static void watchCall(MethodHandle mh, String what, MemorySegment h, String path, String token) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(CALL_STATE);
            boolean ok = (boolean) mh.invokeExact(state, h, call.allocateFrom(path), call.allocateFrom(token));
            if (!ok) {
                throw XenstoreException.of(what, path, errno(state));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The {@code n} C strings of a vector libxenstore returned (one allocation, freed by the caller). */
    private static List<String> strings(MemorySegment vec, int n) {
        MemorySegment pointers = vec.reinterpret((long) n * ADDRESS.byteSize());
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(pointers.getAtIndex(ADDRESS, i).reinterpret(Long.MAX_VALUE).getString(0));
        }
        return out;
    }

    private static void free(MemorySegment p) {
        LibC.free(p.address());
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static void requireLibrary() {
        if (PROBLEM != null) {
            throw new XenstoreException(PROBLEM);
        }
    }

    private static MethodHandle downcall(String name, FunctionDescriptor f, Linker.Option... options) {
        if (LOOKUP == null) {
            return null;
        }
        return LOOKUP.find(name).map(s -> LINKER.downcallHandle(s, f, options)).orElseThrow(() ->
                new IllegalStateException(LIBRARY + " has no " + name + ": libxenstore 4.17 or newer is needed"));
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("libxenstore binding: " + t, t);
    }
}
