package io.remus.netbuf.events;

/** Published by the server before it removes a Remus domain's vifs: the plugin tears down its buffers. */
public record RemusDomainStopping(String domain) {
}
