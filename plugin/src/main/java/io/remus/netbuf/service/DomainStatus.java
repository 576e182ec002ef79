package io.remus.netbuf.service;

import io.remus.netbuf.persistence.DomainEpochs;
import io.remus.netbuf.persistence.DomainProtection;
import java.time.Duration;
import java.time.Instant;

/**
 * What the admin sees of a buffered domain.
 *
 * @param ackTimeout       the deadline in force (the domain's own, else the configured default)
 * @param heldFor          how long its oldest held output has waited; null when nothing is held
 * @param lastCheckpoint   when its last epoch began; null if none since the server started
 * @param checkpointsPerSecond over its last few checkpoints; 0 with fewer than two
 * @param lastFailure      the last failure of its checkpoints (a failed epoch, a loop failure); null if none
 */
public record DomainStatus(String domain, DomainProtection protection, Duration ackTimeout, DomainEpochs epochs,
                           Duration heldFor, Instant lastCheckpoint, double checkpointsPerSecond, String lastFailure) {
}
