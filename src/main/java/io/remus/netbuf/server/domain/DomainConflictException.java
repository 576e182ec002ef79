package io.remus.netbuf.server.domain;

/** The request does not fit the domain's state (start of a running domain, a name taken, ...). */
public class DomainConflictException extends RuntimeException {

    public DomainConflictException(String message) {
        super(message);
    }
}
