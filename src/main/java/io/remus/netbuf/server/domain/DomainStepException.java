package io.remus.netbuf.server.domain;

/** A step of starting or stopping a domain failed; {@code step} says which, the cause why. */
public class DomainStepException extends RuntimeException {

    private final String step;

    public DomainStepException(String domain, String step, RuntimeException cause) {
        super("domain " + domain + ": " + step + " failed: " + cause.getMessage(), cause);
        this.step = step;
    }

    public String step() {
        return step;
    }
}
