package io.remus.netbuf.libc;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The nice value of the threads that checkpoint (the built-in loop's, the xl remus follower's): ahead of the
 * server's other threads, so that a thread waking on the same CPU (an HTTP request, a client polling the listing)
 * does not preempt a checkpoint in the middle (the kernel lets a waking thread preempt one of equal weight that has
 * run a millisecond or so). Java's thread priorities do nothing on Linux; a thread's nice value does.
 */
public final class CheckpointPriority {

    private static final Logger log = LoggerFactory.getLogger(CheckpointPriority.class);

    /** The checkpoint threads' nice value. */
    public static final int NICE = -10;

    private CheckpointPriority() {
    }

    /**
     * Sets the calling thread's nice value to {@link #NICE}; says at WARN why it could not (it needs CAP_SYS_NICE),
     * and the thread runs on at the server's.
     */
    public static void applyToCallingThread() {
        int rc = LibC.setThreadNice(NICE);
        if (rc < 0) {
            log.warn("the checkpoint thread runs at the server's priority: setpriority to nice {} failed: {}; it needs"
                    + " CAP_SYS_NICE (root has it; a systemd unit needs it in CapabilityBoundingSet)",
                    NICE, LibC.errorText(-rc));
        }
    }
}
