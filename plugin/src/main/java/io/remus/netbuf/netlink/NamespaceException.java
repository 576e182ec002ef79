package io.remus.netbuf.netlink;

/**
 * Creating, removing or reaching a named network namespace failed in a libc call. Names the operation, the
 * namespace, the call, its errno and, where one is known, the fix.
 */
public class NamespaceException extends NetlinkException {

    private final String call;
    private final int errno;

    public NamespaceException(String operation, String namespace, String call, int errno, String fix) {
        super(operation + " " + namespace + " failed: " + call + ": " + Errno.describe(errno)
                + (fix == null ? "" : "; fix: " + fix), operation, namespace, fix);
        this.call = call;
        this.errno = errno;
    }

    /** The libc call that failed, with its arguments, e.g. {@code unshare(CLONE_NEWNET)}. */
    public String call() {
        return call;
    }

    /** The call's errno, positive. */
    public int errno() {
        return errno;
    }

    /** True when the failure was that a namespace of that name exists already. */
    public boolean alreadyExists() {
        return errno == Errno.EEXIST;
    }
}
