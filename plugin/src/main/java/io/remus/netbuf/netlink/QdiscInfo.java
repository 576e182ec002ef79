package io.remus.netbuf.netlink;

/** One qdisc from a kernel dump: where it sits and what kind it is. */
public record QdiscInfo(int ifindex, TcHandle handle, TcHandle parent, String kind) {
}
