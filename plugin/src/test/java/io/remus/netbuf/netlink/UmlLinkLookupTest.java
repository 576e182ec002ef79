package io.remus.netbuf.netlink;

import io.remus.netbuf.model.BufferEvent;
import java.util.List;
import org.junit.jupiter.api.Tag;

/**
 * {@link LinkLookupTest} on user-mode-linux's kernel 6.1 (older than the host's: a qdisc get there is answered
 * only with NLM_F_ECHO, a link get without it), with a domain's every step, the plug's among them.
 */
@Tag("uml-guest")
class UmlLinkLookupTest extends LinkLookupTest {

    @Override
    List<BufferEvent> steps() {
        return List.of(BufferEvent.ACQUIRE_IFB, BufferEvent.ADD_INGRESS, BufferEvent.ADD_REDIRECT,
                BufferEvent.ADD_PLUG, BufferEvent.RELEASE, BufferEvent.RESUME, BufferEvent.REMOVE_PLUG,
                BufferEvent.REMOVE_REDIRECT, BufferEvent.REMOVE_INGRESS, BufferEvent.RELEASE_IFB);
    }
}
