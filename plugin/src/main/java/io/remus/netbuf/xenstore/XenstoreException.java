package io.remus.netbuf.xenstore;

/** A xenstore call that failed, naming the call, the path, the errno and what to do. */
public class XenstoreException extends RuntimeException {

    public XenstoreException(String message) {
        super(message);
    }

    static XenstoreException of(String what, String path, int errno) {
        String text = switch (errno) {
            case 2 -> "no such node (ENOENT)";
            case 13 -> "permission denied (EACCES)";
            case 1 -> "not permitted (EPERM)";
            case 111 -> "connection refused (ECONNREFUSED)";
            default -> "errno " + errno;
        };
        String fix = what.equals("open")
                ? "; this needs a Xen dom0 with xenstored running (its socket /run/xenstored/socket or"
                        + " /dev/xen/xenbus; `xenstore-ls /local/domain/0` must work), as root"
                : "";
        return new XenstoreException("xenstore " + what + (path.isEmpty() ? "" : " " + path) + " failed: " + text
                + fix);
    }
}
