package io.remus.netbuf.events;

import java.util.List;

/**
 * Published by the VM-management server when a domain with Remus enabled has started and its vifs exist. The
 * plugin answers by installing a buffer on each vif; nothing else needs to be called.
 *
 * @param checkpoint whether the built-in checkpoint loop (with its simulated backup) should drive the domain's
 *                   epochs; false when a real Remus checkpointer calls the checkpoint API
 */
public record RemusDomainStarted(String domain, List<String> vifs, boolean checkpoint) {

    public RemusDomainStarted {
        vifs = List.copyOf(vifs);
    }

    public RemusDomainStarted(String domain, List<String> vifs) {
        this(domain, vifs, false);
    }
}
