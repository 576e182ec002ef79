package io.remus.netbuf.server.api;

import io.remus.netbuf.model.BufferState;

public record BufferView(long id, String domain, String vif, String ifb, BufferState state, long limitBytes,
                         Long backlogBytes, Long backlogPackets, Long drops, long epoch, String lastError) {
}
