package io.remus.netbuf.netlink;

/**
 * What one buffer's kernel step came to: done, with a note for the journal if there is one to make (a removal
 * that found its device already gone), or failed with the error a call for that buffer alone would have thrown.
 */
public record StepOutcome(String note, RuntimeException failure) {

    private static final StepOutcome DONE = new StepOutcome(null, null);

    public static StepOutcome done() {
        return DONE;
    }

    public static StepOutcome done(String note) {
        return note == null ? DONE : new StepOutcome(note, null);
    }

    public static StepOutcome failed(RuntimeException failure) {
        return new StepOutcome(null, java.util.Objects.requireNonNull(failure, "failure"));
    }

    public boolean ok() {
        return failure == null;
    }
}
