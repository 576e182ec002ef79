package io.remus.netbuf.server.api;

import io.remus.netbuf.server.domain.Domain;
import io.remus.netbuf.server.domain.DomainState;
import java.util.List;

public record DomainView(String name, int domid, boolean remus, boolean checkpoint, int vifs, DomainState state,
                         List<String> hostVifs, String namespace) {

    static DomainView of(Domain d) {
        return new DomainView(d.name(), d.domid(), d.remus(), d.checkpoint(), d.vifCount(), d.state(), d.hostVifs(),
                d.namespace());
    }
}
