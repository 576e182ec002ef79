package io.remus.netbuf.persistence;

import java.time.Instant;

/** One line of a buffer's journal: a kernel step's intent or outcome, or what recovery did. */
public record JournalEntry(long id, long bufferId, Instant at, String step, Outcome outcome, String fromState,
                           String toState, String detail, String error) {

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
