package io.remus.netbuf.server.domain;

import java.util.List;
import java.util.stream.IntStream;

/**
 * A domain (VM) the server manages. Its vifs are veth pairs: host end {@code vif<domid>.<n>} in the server's netbuf
 * namespace, guest end {@code eth<n>} in the domain's own namespace {@code nbdom-<name>}.
 */
public record Domain(String name, int domid, boolean remus, boolean checkpoint, int vifCount, DomainState state) {

    public static final String NAMESPACE_PREFIX = "nbdom-";

    public List<String> hostVifs() {
        return IntStream.range(0, vifCount).mapToObj(n -> "vif" + domid + "." + n).toList();
    }

    public List<String> guestVifs() {
        return IntStream.range(0, vifCount).mapToObj(n -> "eth" + n).toList();
    }

    public String namespace() {
        return NAMESPACE_PREFIX + name;
    }

    public Domain withState(DomainState newState) {
        return new Domain(name, domid, remus, checkpoint, vifCount, newState);
    }
}
