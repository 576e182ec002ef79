package io.remus.netbuf.persistence;

import java.time.Duration;
import java.time.Instant;

/**
 * Whether a domain's output is held until acknowledged, who drives its epochs, and its deadline.
 *
 * @param ackTimeout how long its oldest held output may wait for an ack before the domain is failed over; null:
 *                   the configured default ({@code netbuf.checkpoint.ack-timeout})
 * @param reason     why it was last failed over; null if it never was
 */
public record DomainProtection(String domain, Driver driver, Duration ackTimeout, State state, String reason,
                               Instant failedOverAt, long failovers) {

    /** Who begins and commits the domain's epochs; the other is refused. */
    public enum Driver {
        /** The built-in checkpoint loop. */
        LOOP,
        /** An outside engine, through the checkpoint API (REST or {@code NetbufService}). */
        API,
        /** {@code xl remus -n} (Debian's, which cannot buffer), followed through the domain's suspend requests. */
        XL_REMUS
    }

    public enum State {
        /** Output is held until the backup acknowledges it. */
        PROTECTED,
        /** Failed over: every plug released indefinitely, the guest runs on without a backup. */
        UNPROTECTED
    }

    public static DomainProtection protectedBy(String domain, Driver driver, Duration ackTimeout) {
        return new DomainProtection(domain, driver, ackTimeout, State.PROTECTED, null, null, 0);
    }

    public DomainProtection failedOver(String why, Instant at) {
        return new DomainProtection(domain, driver, ackTimeout, State.UNPROTECTED, why, at, failovers + 1);
    }

    /** Protected again after a failover; the last failover's reason stays for the admin to see. */
    public DomainProtection resumed() {
        return new DomainProtection(domain, driver, ackTimeout, State.PROTECTED, reason, failedOverAt, failovers);
    }

    public DomainProtection withAckTimeout(Duration timeout) {
        return new DomainProtection(domain, driver, timeout, state, reason, failedOverAt, failovers);
    }

    /** A new protection of the same domain (a new install) keeps its deadline and its failover history. */
    public DomainProtection protectedAgainBy(Driver newDriver) {
        return new DomainProtection(domain, newDriver, ackTimeout, State.PROTECTED, reason, failedOverAt, failovers);
    }
}
