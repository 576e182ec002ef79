package io.remus.netbuf.netlink;

/** The ingress qdisc on a vif: where the frames the guest sends enter the host ({@code tc qdisc add dev VIF ingress}). */
public record IngressQdisc(Link vif) {

    public static final String KIND = "ingress";
}
