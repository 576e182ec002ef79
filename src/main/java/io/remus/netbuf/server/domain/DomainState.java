package io.remus.netbuf.server.domain;

public enum DomainState {
    DEFINED, RUNNING
}
