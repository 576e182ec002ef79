package io.remus.netbuf.events;

import java.util.List;

/**
 * Published by the VM-management server when a domain with Remus enabled has started and its vifs exist. The
 * plugin answers by installing a buffer on each vif; nothing else needs to be called.
 */
public record RemusDomainStarted(String domain, List<String> vifs) {

    public RemusDomainStarted {
        vifs = List.copyOf(vifs);
    }
}
