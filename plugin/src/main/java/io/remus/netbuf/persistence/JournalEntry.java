package io.remus.netbuf.persistence;

import java.time.Instant;

/**
 * One line of a buffer's journal: a step's intent or outcome ({@code step} names a row of the lifecycle's table,
 * {@code io.remus.netbuf.model.BufferEvent}), or a {@link Topic} that is not a step: what recovery found, an epoch
 * that failed.
 */
public record JournalEntry(long id, long bufferId, Instant at, String step, Outcome outcome, String fromState,
                           String toState, String detail, String error) {

    /** What a line is about when it is not a step of the table. */
    public enum Topic {
        /** Recovery checked a resting buffer against the kernel: adopted, repaired, or rolled back. */
        VERIFY,
        /** Recovery removed an object we created that no live buffer holds. */
        ORPHAN,
        /** The plug change that begins an epoch failed on the buffer's vif. */
        EPOCH_BEGIN,
        /** The plug change that commits an epoch failed on the buffer's vif. */
        EPOCH_COMMIT
    }

    public enum Outcome {
        /** Written and committed before the kernel step. */
        INTENT,
        /** The kernel step succeeded. */
        DONE,
        /** The kernel step failed; {@code error} says why. */
        FAILED,
        /** A step in flight at a crash: recovery takes it as done, to be undone with the others (or redone). */
        INTERRUPTED,
        /** Recovery undid the step (or found nothing left to undo). */
        UNDONE,
        /** Recovery found the buffer's kernel objects whole and kept them. */
        ADOPTED,
        /** Recovery put back kernel objects that were missing. */
        REPAIRED,
        /** Recovery removed an object our records say we created and no live buffer owns. */
        REMOVED
    }
}
