package io.remus.netbuf.service;

import java.util.List;

/**
 * A plug operation failed on some of a domain's vifs. Names the vifs it succeeded on and the ones it failed on; the
 * domain takes no new epoch until failover or stop.
 */
public class EpochFailedException extends RuntimeException {

    private final List<String> succeeded;
    private final List<String> failed;

    public EpochFailedException(String message, List<String> succeeded, List<String> failed, Throwable cause) {
        super(message, cause);
        this.succeeded = List.copyOf(succeeded);
        this.failed = List.copyOf(failed);
    }

    public List<String> succeeded() {
        return succeeded;
    }

    public List<String> failed() {
        return failed;
    }
}
