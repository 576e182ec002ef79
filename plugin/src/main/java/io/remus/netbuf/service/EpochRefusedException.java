package io.remus.netbuf.service;

/** A checkpoint call that does not fit the domain's epochs (commit of an epoch not begun, begin with one in flight). */
public class EpochRefusedException extends RuntimeException {

    public EpochRefusedException(String message) {
        super(message);
    }
}
