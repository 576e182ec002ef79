package io.remus.netbuf.xenstore;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;

/**
 * A connection to xenstored (libxenstore over FFM, through {@link LibXenstore}): reads, directory listings and
 * watches. One connection is safe to share between threads (libxenstore serialises requests); a watch is read by
 * one thread at a time.
 */
public final class Xenstore implements XenstoreConnection {

    /** A watch event: {@code path} changed (or the watch was just set); {@code token} names the watch. */
    public record Event(String path, String token) {
    }

    private final MemorySegment handle;
    private volatile boolean closed;

    private Xenstore(MemorySegment handle) {
        this.handle = handle;
    }

    /**
     * @throws XenstoreException naming the fix if libxenstore is missing or there is no xenstored to talk to
     */
    public static Xenstore open() {
        return new Xenstore(LibXenstore.open());
    }

    /** The value at {@code path}, or empty if the node does not exist. */
    @Override
    public Optional<String> read(String path) {
        return LibXenstore.read(live(), path);
    }

    /** The names of the nodes under {@code path}; empty if it does not exist. */
    public List<String> directory(String path) {
        return LibXenstore.directory(live(), path);
    }

    /** Watches {@code path} and below (or a special path such as {@code @releaseDomain}); fires once at once. */
    @Override
    public void watch(String path, String token) {
        LibXenstore.watch(live(), path, token);
    }

    @Override
    public void unwatch(String path, String token) {
        LibXenstore.unwatch(live(), path, token);
    }

    /** The next watch event, waiting at most {@code timeoutMillis}; empty if none came. */
    @Override
    public Optional<Event> awaitEvent(int timeoutMillis) {
        return LibXenstore.awaitWatch(live(), timeoutMillis).map(e -> new Event(e[0], e[1]));
    }

    private MemorySegment live() {
        if (closed) {
            throw new IllegalStateException("xenstore connection closed");
        }
        return handle;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            LibXenstore.close(handle);
        }
    }
}
