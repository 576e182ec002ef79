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
}
