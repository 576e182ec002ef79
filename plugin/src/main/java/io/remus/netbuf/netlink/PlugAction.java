package io.remus.netbuf.netlink;

/** The three changes a checkpoint makes to a plug qdisc ({@code tc qdisc change ... plug ACTION}). */
public enum PlugAction {
    /** {@code block}: close the current epoch. */
    BUFFER,
    /** {@code release}: let the oldest closed epoch out. */
    RELEASE_ONE,
    /** {@code release_indefinite}: let everything out until the next buffer. */
    RELEASE_INDEFINITE
}
