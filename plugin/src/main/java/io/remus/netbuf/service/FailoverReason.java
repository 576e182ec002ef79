package io.remus.netbuf.service;

/** Why a domain was failed over: the {@code reason} tag of {@code netbuf.failovers}. */
public enum FailoverReason {
    /** Its oldest held output waited longer than its ack deadline. */
    ACK_OVERDUE,
    /** The built-in checkpoint loop failed to checkpoint it. */
    LOOP_FAILED,
    /** The xl remus follower failed to checkpoint it at a suspend request. */
    FOLLOWER_FAILED,
    /** The server is stopping ({@code netbuf.on-shutdown=release}). */
    SHUTDOWN,
    /** Someone asked for it (the failover API). */
    REQUESTED;

    public String tag() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
