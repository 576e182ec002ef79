package io.remus.netbuf.service;

import io.remus.netbuf.persistence.DomainProtection.Driver;

/** The domain's epochs are driven by someone else: no two drivers share a domain. */
public class DriverConflictException extends EpochRefusedException {

    public DriverConflictException(String domain, Driver driver, String refused) {
        super("domain " + domain + " is driven by " + describe(driver) + ": " + refused);
    }

    static String describe(Driver driver) {
        return switch (driver) {
            case LOOP -> "the built-in checkpoint loop (LOOP)";
            case API -> "the checkpoint API (API)";
            case XL_REMUS -> "xl remus, followed through xenstore (XL_REMUS)";
        };
    }
}
