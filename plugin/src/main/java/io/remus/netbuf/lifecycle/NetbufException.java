package io.remus.netbuf.lifecycle;

/** A buffer operation failed; the message says which buffer, which step, and why. */
public class NetbufException extends RuntimeException {

    public NetbufException(String message, Throwable cause) {
        super(message, cause);
    }
}
