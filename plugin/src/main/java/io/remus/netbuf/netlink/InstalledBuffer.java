package io.remus.netbuf.netlink;

/** The kernel objects of one installed buffer, in the order they were made. */
public record InstalledBuffer(Link vif, Link ifb, boolean ifbCreated, IngressQdisc ingress, RedirectFilter redirect,
                              PlugQdisc plug) {
}
