package io.remus.netbuf.model;

import static io.remus.netbuf.model.BufferEvent.*;
import static io.remus.netbuf.model.BufferState.*;
import static io.remus.netbuf.model.Transition.noStep;
import static io.remus.netbuf.model.Transition.step;

import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Every allowed transition of a buffer; {@link BufferMachine} is generated from this table and nothing else. */
public final class Transitions {

    /** The table. Anything not listed here is an illegal event. */
    public static final List<Transition> ALL = List.of(
            // install
            step(FREE, ACQUIRE_IFB, IFB_UP, KernelStep.IFB_UP),
            step(IFB_UP, ADD_INGRESS, INGRESS, KernelStep.INGRESS_ADD),
            step(INGRESS, ADD_REDIRECT, REDIRECTED, KernelStep.REDIRECT_ADD),
            step(REDIRECTED, ADD_PLUG, PLUGGED, KernelStep.PLUG_ADD),
            step(PLUGGED, RELEASE, RELEASED, KernelStep.PLUG_RELEASE_INDEFINITE),
            // resume after a failover
            step(RELEASED, RESUME, PLUGGED, KernelStep.PLUG_RESUME),
            // teardown, in reverse
            step(PLUGGED, REMOVE_PLUG, REDIRECTED, KernelStep.PLUG_DELETE),
            step(PLUGGED, DROP_HELD, REDIRECTED, KernelStep.PLUG_DROP),
            step(RELEASED, REMOVE_PLUG, REDIRECTED, KernelStep.PLUG_DELETE),
            step(REDIRECTED, REMOVE_REDIRECT, INGRESS, KernelStep.REDIRECT_DELETE),
            step(INGRESS, REMOVE_INGRESS, IFB_UP, KernelStep.INGRESS_DELETE),
            step(IFB_UP, RELEASE_IFB, FREE, KernelStep.IFB_RELEASE),
            // failure; FAIL from FREE is a failure of the very first step
            noStep(FREE, FAIL, FAILED),
            noStep(IFB_UP, FAIL, FAILED),
            noStep(INGRESS, FAIL, FAILED),
            noStep(REDIRECTED, FAIL, FAILED),
            noStep(PLUGGED, FAIL, FAILED),
            noStep(RELEASED, FAIL, FAILED),
            noStep(FAILED, CLEARED, FREE));

    private static final Map<BufferState, Map<BufferEvent, Transition>> BY_SOURCE = index();

    private Transitions() {
    }

    /** The transition {@code event} takes from {@code source}, or empty if the event is not allowed there. */
    public static Optional<Transition> find(BufferState source, BufferEvent event) {
        return Optional.ofNullable(BY_SOURCE.get(source).get(event));
    }

    /** The events allowed in {@code source}, in declaration order. */
    public static Set<BufferEvent> allowedFrom(BufferState source) {
        return Collections.unmodifiableSet(BY_SOURCE.get(source).keySet());
    }

    private static Map<BufferState, Map<BufferEvent, Transition>> index() {
        Map<BufferState, Map<BufferEvent, Transition>> index = new EnumMap<>(BufferState.class);
        for (BufferState state : BufferState.values()) {
            index.put(state, new EnumMap<>(BufferEvent.class));
        }
        for (Transition t : ALL) {
            // a second transition for the same (source, event) would make the machine nondeterministic
            Transition previous = index.get(t.source()).putIfAbsent(t.event(), t);
            if (previous != null) {
                throw new IllegalStateException("duplicate transitions: " + previous + " and " + t);
            }
        }
        return index;
    }
}
