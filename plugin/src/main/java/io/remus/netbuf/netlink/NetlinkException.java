package io.remus.netbuf.netlink;

/**
 * A kernel operation failed. Names the operation, the device, libnl's own error text and, where one is known,
 * the fix.
 */
public class NetlinkException extends RuntimeException {

    private final String operation;
    private final String device;
    private final int libnlCode;
    private final String fix;

    public NetlinkException(String operation, String device, int libnlCode, String libnlText, String fix) {
        super(message(operation, device, libnlCode, libnlText, fix));
        this.operation = operation;
        this.device = device;
        this.libnlCode = Math.abs(libnlCode);
        this.fix = fix;
    }

    /** For a failure that is not libnl's (a libc call's errno, say): the subclass has built the message. */
    protected NetlinkException(String message, String operation, String device, String fix) {
        super(message);
        this.operation = operation;
        this.device = device;
        this.libnlCode = 0;
        this.fix = fix;
    }

    private static String message(String operation, String device, int code, String text, String fix) {
        String m = operation + " on " + device + " failed: " + text + " (libnl error " + Math.abs(code) + ")";
        return fix == null ? m : m + "; fix: " + fix;
    }

    /** What was being done, e.g. {@code add plug qdisc}. */
    public String operation() {
        return operation;
    }

    /** The interface (or, for a {@link NamespaceException}, the network namespace) the operation was for. */
    public String device() {
        return device;
    }

    /** libnl's NLE_* code, positive; 0 when the failure was not libnl's (see {@link NamespaceException#errno}). */
    public int libnlCode() {
        return libnlCode;
    }

    /** The known fix, or null. */
    public String fix() {
        return fix;
    }
}
