package io.remus.netbuf.model;

import java.util.Set;
import java.util.stream.Collectors;

/** An event was sent in a state where {@link Transitions} does not allow it; the state is unchanged. */
public class IllegalTransitionException extends RuntimeException {

    private final BufferEvent event;
    private final BufferState state;
    private final Set<BufferEvent> allowed;

    public IllegalTransitionException(BufferEvent event, BufferState state, Set<BufferEvent> allowed) {
        super("event " + event + " is not allowed in state " + state + " (allowed: "
                + allowed.stream().map(Enum::name).collect(Collectors.joining(", ")) + ")");
        this.event = event;
        this.state = state;
        this.allowed = Set.copyOf(allowed);
    }

    public BufferEvent event() {
        return event;
    }

    public BufferState state() {
        return state;
    }

    public Set<BufferEvent> allowed() {
        return allowed;
    }
}
