package io.remus.netbuf.server.api;

import io.remus.netbuf.persistence.DomainProtection;
import io.remus.netbuf.service.CheckpointLoop;
import io.remus.netbuf.service.DomainStatus;
import java.time.Instant;

/**
 * A buffered domain's protection as the API shows it: who drives it, its deadline, whether its output is held now
 * and for how long, its checkpoints and its failovers.
 *
 * @param loopRunning whether the built-in loop checkpoints it now; null for a domain the API drives
 */
public record ProtectionView(String domain, String driver, String state, long ackTimeoutMillis,
                             boolean ownAckTimeout, Long heldForMillis, long openEpoch, long awaitingEpoch,
                             Instant lastCheckpoint, double checkpointsPerSecond, long failovers,
                             String failoverReason, Instant failedOverAt, String lastFailure, Boolean loopRunning) {

    static ProtectionView of(DomainStatus s, CheckpointLoop loop) {
        Boolean running = s.protection().driver() != DomainProtection.Driver.LOOP ? null
                : loop.status(s.domain()).map(CheckpointLoop.Status::running).orElse(false);
        return new ProtectionView(s.domain(), s.protection().driver().name(), s.protection().state().name(),
                s.ackTimeout().toMillis(), s.protection().ackTimeout() != null,
                s.heldFor() == null ? null : s.heldFor().toMillis(), s.epochs().openEpoch(),
                s.epochs().awaitingEpoch(), s.lastCheckpoint(), Math.round(s.checkpointsPerSecond() * 10) / 10.0,
                s.protection().failovers(), s.protection().reason(), s.protection().failedOverAt(),
                s.lastFailure() != null ? s.lastFailure() : s.epochs().failure(), running);
    }
}
