package io.remus.netbuf.persistence;

/** A vif or ifb is already held by another buffer (the database's unique key said so). */
public class ClaimRefusedException extends RuntimeException {

    public ClaimRefusedException(String message) {
        super(message);
    }
}
