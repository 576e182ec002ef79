package io.remus.netbuf.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The transitions of {@link BufferEvent}'s table, one per (source, event), indexed; nothing is declared here. */
public final class Transitions {

    /** Every allowed transition, in table order. Anything not listed here is an illegal event. */
    public static final List<Transition> ALL = derive();

    private static final Map<BufferState, Map<BufferEvent, Transition>> BY_SOURCE = index();

    private Transitions() {
    }

    /** The transition {@code event} takes from {@code source}, or empty if the event is not allowed there. */
    public static Optional<Transition> find(BufferState source, BufferEvent event) {
        return Optional.ofNullable(BY_SOURCE.get(source).get(event));
    }

    /**
     * The transition {@code event} takes from {@code source}.
     *
     * @throws IllegalTransitionException if the table does not allow it
     */
    public static Transition require(BufferState source, BufferEvent event) {
        return find(source, event).orElseThrow(() -> new IllegalTransitionException(event, source, allowedFrom(source)));
    }

    /** The events allowed in {@code source}, in table order. */
    public static Set<BufferEvent> allowedFrom(BufferState source) {
        return Collections.unmodifiableSet(BY_SOURCE.get(source).keySet());
    }

    private static List<Transition> derive() {
        List<Transition> all = new ArrayList<>();
        for (BufferEvent event : BufferEvent.values()) {
            for (BufferState source : BufferState.values()) { // state order: one order, whatever the set's
                if (event.sources().contains(source)) {
                    all.add(new Transition(source, event, event.target()));
                }
            }
        }
        return List.copyOf(all);
    }

    private static Map<BufferState, Map<BufferEvent, Transition>> index() {
        Map<BufferState, Map<BufferEvent, Transition>> index = new EnumMap<>(BufferState.class);
        for (BufferState state : BufferState.values()) {
            index.put(state, new EnumMap<>(BufferEvent.class));
        }
        for (Transition t : ALL) {
            index.get(t.source()).put(t.event(), t);
        }
        return index;
    }
}
