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

    private static String message(String operation, String device, int code, String text, String fix) {
        String m = operation + " on " + device + " failed: " + text + " (libnl error " + Math.abs(code) + ")";
        return fix == null ? m : m + "; fix: " + fix;
    }

    /** What was being done, e.g. {@code add plug qdisc}. */
    public String operation() {
        return operation;
    }

    /** The interface the operation was for. */
    public String device() {
        return device;
    }

    /** libnl's NLE_* code, positive. */
    public int libnlCode() {
        return libnlCode;
    }

    /** The known fix, or null. */
    public String fix() {
        return fix;
    }
}
