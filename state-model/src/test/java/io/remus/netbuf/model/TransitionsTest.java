package io.remus.netbuf.model;

import static io.remus.netbuf.model.BufferEvent.*;
import static io.remus.netbuf.model.BufferState.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class TransitionsTest {

    @Test
    void onlyFailAndClearedHaveNoKernelCall() {
        assertThat(EnumSet.allOf(BufferEvent.class).stream().filter(e -> !e.hasKernelCall()))
                .containsExactly(FAIL, CLEARED);
    }

    @Test
    void theInstallIsTheInstallRowsInTableOrder() {
        assertThat(BufferEvent.install()).containsExactly(ACQUIRE_IFB, ADD_INGRESS, ADD_REDIRECT, ADD_PLUG);
    }

    @Test
    void eachInstallStepIsUndoneByARemovalFromItsTargetBackToItsSource() {
        for (BufferEvent step : BufferEvent.install()) {
            BufferEvent undo = step.undo().orElseThrow();
            assertThat(undo.kind()).as(step.toString()).isEqualTo(BufferEvent.Kind.REMOVAL);
            assertThat(undo.sources()).as(step.toString()).contains(step.target());
            assertThat(step.sources()).as(step.toString()).containsExactly(undo.target());
        }
    }

    @Test
    void backwardFromEachStateIsTheUndoOfEveryStepLeadingIntoIt() {
        for (BufferState state : EnumSet.of(IFB_UP, INGRESS, REDIRECTED, PLUGGED, RELEASED)) {
            BufferEvent back = BufferEvent.backward(state);
            for (BufferEvent into : BufferEvent.values()) {
                if (into.target() == state && into.undo().isPresent()) {
                    assertThat(into.undo()).as(into + " into " + state).contains(back);
                }
            }
            assertThat(back.sources()).contains(state);
        }
    }

    @Test
    void removalsAndRecordsHaveNoUndoAndOnlyMakingStepsAreTakenAsDoneInFlight() {
        for (BufferEvent e : BufferEvent.values()) {
            boolean makes = e.kind() == BufferEvent.Kind.INSTALL || e.kind() == BufferEvent.Kind.FORWARD;
            assertThat(e.undo().isPresent()).as(e.toString()).isEqualTo(makes);
            assertThat(e.takenAsDoneIfInFlight()).as(e.toString()).isEqualTo(makes);
        }
    }

    @Test
    void everyKernelStepHasTwoCrashPointsNamedAfterIt() {
        assertThat(ADD_INGRESS.crashPoints()).containsExactly("after-intent:ADD_INGRESS", "after-kernel:ADD_INGRESS");
        assertThat(FAIL.crashPoints()).isEmpty();
    }

    @Test
    void findReturnsTheDeclaredTransition() {
        assertThat(Transitions.find(REDIRECTED, ADD_PLUG)).contains(new Transition(REDIRECTED, ADD_PLUG, PLUGGED));
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
