package io.remus.netbuf.netlink;

/** A plug qdisc's counters as the kernel reports them ({@code tc -s qdisc show}). */
public record PlugStats(long sentBytes, long sentPackets, long backlogBytes, long backlogPackets, long drops) {
}
