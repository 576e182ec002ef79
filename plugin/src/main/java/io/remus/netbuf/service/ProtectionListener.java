package io.remus.netbuf.service;

import io.remus.netbuf.persistence.DomainProtection.Driver;

/** Hears a domain's protection end and start again; the built-in loop drops and takes domains by it. */
public interface ProtectionListener {

    /** The domain was failed over: its output flows, nobody may checkpoint it until it is resumed. */
    default void failedOver(String domain, String reason) {
    }

    /** The domain is protected again; its next begin opens epoch 1. */
    default void resumed(String domain, Driver driver) {
    }
}
