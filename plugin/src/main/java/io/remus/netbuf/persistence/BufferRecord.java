package io.remus.netbuf.persistence;

import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.model.BufferEvent;
import java.time.Instant;

/**
 * One buffer as the database has it. {@code pendingStep} is the step written as intended and not yet
 * resolved: after a crash it may or may not have happened in the kernel.
 */
public record BufferRecord(long id, String domain, String vif, BufferState state, BufferEvent pendingStep,
                           String ifb, boolean ifbCreated, long limitBytes, int protocol, int priority,
                           int plugHandle, long epoch, BufferEvent failedStep, String lastError,
                           Instant createdAt, Instant updatedAt) {

    /** Resting states may last across a restart; a buffer elsewhere, or with a step in flight, was interrupted. */
    public boolean interrupted() {
        return pendingStep != null || !state.isResting();
    }
}
