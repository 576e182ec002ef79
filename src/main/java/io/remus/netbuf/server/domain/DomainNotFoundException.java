package io.remus.netbuf.server.domain;

public class DomainNotFoundException extends RuntimeException {

    public DomainNotFoundException(String name) {
        super("no domain named " + name);
    }
}
