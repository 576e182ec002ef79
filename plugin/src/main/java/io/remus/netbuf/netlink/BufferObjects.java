package io.remus.netbuf.netlink;

import java.util.Objects;

/**
 * One buffer's kernel objects, by name, as its steps need them: the vif, the ifb (created for it, or taken from the
 * pool), the redirect filter's protocol and priority, the plug's handle and limit. Names, not links: a removal step
 * finds its device gone, and then there is nothing left to remove.
 */
public record BufferObjects(InterfaceName vif, InterfaceName ifb, boolean ifbCreated, int protocol, int priority,
                            TcHandle plugHandle, long limitBytes) {

    public BufferObjects {
        Objects.requireNonNull(vif, "vif");
        Objects.requireNonNull(ifb, "ifb");
        Objects.requireNonNull(plugHandle, "plugHandle");
    }

    @Override
    public String toString() {
        return vif + " -> " + ifb;
    }
}
