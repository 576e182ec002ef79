package io.remus.netbuf.service;

/** The domain has no live buffer. */
public class DomainNotBufferedException extends RuntimeException {

    public DomainNotBufferedException(String domain) {
        super("domain " + domain + " has no buffered vif");
    }
}
