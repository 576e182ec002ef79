package io.remus.netbuf.netlink;

/** libnl3 could not be loaded or bound, or the JVM refuses native access. The message says which and the fix. */
public class NetlinkUnavailableException extends RuntimeException {

    public NetlinkUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
