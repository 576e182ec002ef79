package io.remus.netbuf.service;

import io.remus.netbuf.persistence.DomainProtection.Driver;

/** The domain's epochs are driven by someone else: the built-in loop and the checkpoint API never share a domain. */
public class DriverConflictException extends EpochRefusedException {

    public DriverConflictException(String domain, Driver driver, String refused) {
        super("domain " + domain + " is driven by " + describe(driver) + ": " + refused);
    }

    static String describe(Driver driver) {
        return switch (driver) {
            case LOOP -> "the built-in checkpoint loop (LOOP)";
            case API -> "the checkpoint API (API)";
        };
    }
}
