package io.remus.netbuf.service;

/** The domain was failed over: nothing is held, and no epoch begins or commits until it is resumed. */
public class DomainUnprotectedException extends EpochRefusedException {

    public DomainUnprotectedException(String domain, String reason, String refused) {
        super("domain " + domain + " is UNPROTECTED (failed over: " + reason + "): " + refused
                + "; resume it to hold its output again");
    }
}
