package io.remus.netbuf.xenstore;

import java.util.Optional;

/** What a reader of xenstore needs of a connection: {@link Xenstore} is the one that talks to xenstored. */
public interface XenstoreConnection extends AutoCloseable {

    /** The value at {@code path}, or empty if the node does not exist. */
    Optional<String> read(String path);

    /** Watches {@code path} and below (or a special path such as {@code @releaseDomain}); fires once at once. */
    void watch(String path, String token);

    void unwatch(String path, String token);

    /** The next watch event, waiting at most {@code timeoutMillis}; empty if none came. */
    Optional<Xenstore.Event> awaitEvent(int timeoutMillis);

    @Override
    void close();
}
