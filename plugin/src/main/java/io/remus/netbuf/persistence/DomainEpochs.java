package io.remus.netbuf.persistence;

/**
 * A domain's checkpoint bookkeeping.
 *
 * @param openEpoch     the epoch whose output is being held now; 0 before the first checkpoint (output passes)
 * @param awaitingEpoch the closed epoch waiting for the backup's ack; 0 when none
 * @param failure       why the last buffer or release failed; no new epoch until failover or stop. Null when none
 */
public record DomainEpochs(String domain, long openEpoch, long awaitingEpoch, long epochsBegun, long epochsCommitted,
                           long epochsFailed, String failure) {

    public static DomainEpochs fresh(String domain) {
        return new DomainEpochs(domain, 0, 0, 0, 0, 0, null);
    }

    /** The open epoch closed (now awaiting its ack) and the next one open. */
    public DomainEpochs begun() {
        return new DomainEpochs(domain, openEpoch + 1, openEpoch, epochsBegun + 1, epochsCommitted, epochsFailed, null);
    }

    /** The awaiting epoch acknowledged and released. */
    public DomainEpochs committed() {
        return new DomainEpochs(domain, openEpoch, 0, epochsBegun, epochsCommitted + 1, epochsFailed, null);
    }

    /** A plug change failed: no new epoch until failover or stop. */
    public DomainEpochs failed(String why) {
        return new DomainEpochs(domain, openEpoch, awaitingEpoch, epochsBegun, epochsCommitted, epochsFailed + 1, why);
    }

    /** Nothing held any more (failover, stop): no epoch open or awaiting; the counts stay. */
    public DomainEpochs settled() {
        return new DomainEpochs(domain, 0, 0, epochsBegun, epochsCommitted, epochsFailed, null);
    }
}
