package io.remus.netbuf.events;

/**
 * Published by the server before it removes a Remus domain's vifs: the plugin tears down its buffers.
 *
 * @param gone whether the domain itself is gone (destroyed, or its host died): what its buffers hold is then dropped
 *             with it, never let out, since no backup has the checkpoint that sent it (a backup that takes over
 *             sends it again). False when the domain runs on unprotected: what is held is let out.
 */
public record RemusDomainStopping(String domain, boolean gone) {

    public RemusDomainStopping(String domain) {
        this(domain, false);
    }
}
