package io.remus.netbuf.service;

/**
 * One domain's part of {@link NetbufService#checkpoint}: the epoch it committed (0 when none awaited an ack) and the
 * epoch it began, or why it did not.
 */
public record CheckpointResult(String domain, long committed, long begun, RuntimeException failure) {

    static CheckpointResult done(String domain, long committed, long begun) {
        return new CheckpointResult(domain, committed, begun, null);
    }

    static CheckpointResult failed(String domain, RuntimeException failure) {
        return new CheckpointResult(domain, 0, 0, failure);
    }

    public boolean succeeded() {
        return failure == null;
    }
}
