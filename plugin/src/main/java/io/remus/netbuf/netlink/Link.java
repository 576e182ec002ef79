package io.remus.netbuf.netlink;

/** A network device as the kernel knows it in one namespace: its name and interface index. */
public record Link(InterfaceName name, int index) {

    public Link {
        if (index <= 0) {
            throw new IllegalArgumentException("ifindex must be positive: " + index);
        }
    }

    @Override
    public String toString() {
        return name + "(#" + index + ")";
    }
}
