package io.remus.netbuf.model;

import static io.remus.netbuf.model.BufferEvent.*;
import static io.remus.netbuf.model.BufferState.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class TransitionsTest {

    private static final EnumSet<BufferEvent> NO_STEP = EnumSet.of(FAIL, CLEARED);

    @Test
    void everyForwardAndBackwardTransitionHasExactlyOneKernelStepAndFailAndClearedHaveNone() {
        for (Transition t : Transitions.ALL) {
            assertThat(t.kernelStep().isPresent()).as(t.toString()).isEqualTo(!NO_STEP.contains(t.event()));
        }
    }

    @Test
    void everyKernelStepIsUsed() {
        assertThat(Transitions.ALL.stream().flatMap(t -> t.kernelStep().stream()))
                .containsAll(EnumSet.allOf(KernelStep.class));
    }

    @Test
    void eachEventHasOneKernelStepWhereverItIsAllowed() {
        for (BufferEvent event : BufferEvent.values()) {
            assertThat(Transitions.ALL.stream().filter(t -> t.event() == event).map(Transition::kernelStep).distinct())
                    .as(event.toString())
                    .hasSize(1);
        }
    }

    @Test
    void findReturnsTheDeclaredTransition() {
        assertThat(Transitions.find(REDIRECTED, ADD_PLUG))
                .contains(new Transition(REDIRECTED, ADD_PLUG, PLUGGED, Optional.of(KernelStep.PLUG_ADD)));
        assertThat(Transitions.find(RELEASED, REMOVE_PLUG)).get()
                .extracting(Transition::target).isEqualTo(REDIRECTED);
        assertThat(Transitions.find(FREE, ADD_PLUG)).isEmpty();
        assertThat(Transitions.find(FAILED, FAIL)).isEmpty();
    }

    @Test
    void allowedFromListsEventsInDeclarationOrder() {
        assertThat(Transitions.allowedFrom(FREE)).containsExactly(ACQUIRE_IFB, FAIL);
        assertThat(Transitions.allowedFrom(IFB_UP)).containsExactly(ADD_INGRESS, RELEASE_IFB, FAIL);
        assertThat(Transitions.allowedFrom(INGRESS)).containsExactly(ADD_REDIRECT, REMOVE_INGRESS, FAIL);
        assertThat(Transitions.allowedFrom(REDIRECTED)).containsExactly(ADD_PLUG, REMOVE_REDIRECT, FAIL);
        assertThat(Transitions.allowedFrom(PLUGGED)).containsExactly(RELEASE, REMOVE_PLUG, DROP_HELD, FAIL);
        assertThat(Transitions.allowedFrom(RELEASED)).containsExactly(RESUME, REMOVE_PLUG, FAIL);
        assertThat(Transitions.allowedFrom(FAILED)).containsExactly(CLEARED);
    }

    @Test
    void failIsAllowedFromEveryStateButFailed() {
        for (BufferState state : BufferState.values()) {
            assertThat(Transitions.find(state, FAIL).map(Transition::target))
                    .as(state.toString())
                    .isEqualTo(state == FAILED ? Optional.empty() : Optional.of(FAILED));
        }
    }

    @Test
    void restingStates() {
        assertThat(EnumSet.allOf(BufferState.class).stream().filter(BufferState::isResting))
                .containsExactly(FREE, PLUGGED, RELEASED, FAILED);
    }

    @Test
    void everyStateIsReachableFromFree() {
        EnumSet<BufferState> reached = EnumSet.of(FREE);
        boolean grew = true;
        while (grew) {
            List<BufferState> next = Transitions.ALL.stream()
                    .filter(t -> reached.contains(t.source())).map(Transition::target).toList();
            grew = reached.addAll(next);
        }
        assertThat(reached).isEqualTo(EnumSet.allOf(BufferState.class));
    }
}
