package io.remus.netbuf.events;

import io.remus.netbuf.persistence.DomainProtection.Driver;
import java.util.List;

/**
 * Published by the VM-management server when a domain with Remus enabled has started and its vifs exist. The
 * plugin answers by installing a buffer on each vif and starting what takes its checkpoints; nothing else needs to
 * be called.
 *
 * @param driver   what takes the domain's checkpoints
 * @param xenDomid the domain's Xen domid when {@code driver} is {@link Driver#XL_REMUS}, else -1
 */
public record RemusDomainStarted(String domain, List<String> vifs, Driver driver, int xenDomid) {

    public RemusDomainStarted {
        vifs = List.copyOf(vifs);
        if ((driver == Driver.XL_REMUS) != (xenDomid > 0)) {
            throw new IllegalArgumentException("domain " + domain + ": a Xen domid (> 0) goes with XL_REMUS and"
                    + " only with it, not " + xenDomid + " with " + driver);
        }
    }

    /** @param checkpoint whether the built-in checkpoint loop (LOOP) or the checkpoint API (API) drives the domain */
    public RemusDomainStarted(String domain, List<String> vifs, boolean checkpoint) {
        this(domain, vifs, checkpoint ? Driver.LOOP : Driver.API, -1);
    }

    public RemusDomainStarted(String domain, List<String> vifs) {
        this(domain, vifs, false);
    }

    /** A Xen domain whose checkpoints {@code xl remus} takes, followed through xenstore. */
    public static RemusDomainStarted followingXlRemus(String domain, int domid, List<String> vifs) {
        return new RemusDomainStarted(domain, vifs, Driver.XL_REMUS, domid);
    }

    /** Whether the built-in checkpoint loop drives the domain. */
    public boolean checkpoint() {
        return driver == Driver.LOOP;
    }
}
