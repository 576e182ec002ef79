package io.remus.netbuf.model;

import java.util.Objects;

/** One allowed transition of the table: in {@code source}, {@code event} leads to {@code target}. */
public record Transition(BufferState source, BufferEvent event, BufferState target) {

    public Transition {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(target, "target");
    }

    @Override
    public String toString() {
        return source + " --" + event + "--> " + target;
    }
}
