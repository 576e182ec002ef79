package io.remus.netbuf.netlink;

/** Where a buffer's ifb comes from. */
public enum IfbMode {
    /** Create a new ifb link by netlink for each buffer and delete it on teardown (the default). */
    CREATE,
    /** Take an existing {@code ifbN} that has no plug root (e.g. made by {@code modprobe ifb numifbs=N}). */
    POOL
}
