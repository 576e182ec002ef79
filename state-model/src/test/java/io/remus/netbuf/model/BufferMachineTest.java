package io.remus.netbuf.model;

import static io.remus.netbuf.model.BufferEvent.*;
import static io.remus.netbuf.model.BufferState.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.messaging.support.MessageBuilder;
import org.springframework.statemachine.StateMachine;
import org.springframework.statemachine.StateMachineEventResult;
import org.springframework.statemachine.StateMachineEventResult.ResultType;
import org.springframework.statemachine.support.DefaultStateMachineContext;

import reactor.core.publisher.Mono;

class BufferMachineTest {

    private static final List<BufferEvent> INSTALL = List.of(ACQUIRE_IFB, ADD_INGRESS, ADD_REDIRECT, ADD_PLUG);
    private static final List<BufferEvent> TEARDOWN = List.of(REMOVE_PLUG, REMOVE_REDIRECT, REMOVE_INGRESS, RELEASE_IFB);

    private final List<BufferMachine> started = new ArrayList<>();
    /** What the write-ahead saw, in order: the row as the test's "database" has it. */
    private final List<Transition> written = new ArrayList<>();

    @AfterEach
    void stopMachines() {
        started.forEach(BufferMachine::stop);
    }

    private BufferMachine start(BufferState state) {
        BufferMachine machine = BufferMachine.restoredTo(state);
        started.add(machine);
        return machine;
    }

    private Transition fire(BufferMachine machine, BufferEvent event) {
        return machine.fire(event, written::add);
    }

    private List<BufferEvent> fireAll(BufferMachine machine, List<BufferEvent> events) {
        List<BufferEvent> fired = new ArrayList<>();
        for (BufferEvent event : events) {
            Transition t = fire(machine, event);
            assertThat(machine.state()).isEqualTo(t.target());
            fired.add(t.event());
        }
        return fired;
    }

    // legal paths

    @Test
    void fullInstallWritesEachTransitionAheadOfItsStateChange() {
        BufferMachine machine = start(FREE);
        List<BufferState> seenByTheWrite = new ArrayList<>();
        for (BufferEvent event : BufferEvent.install()) {
            machine.fire(event, t -> seenByTheWrite.add(machine.state()));
        }
        // each write ran before the machine left the step's source state
        assertThat(seenByTheWrite).containsExactly(FREE, IFB_UP, INGRESS, REDIRECTED);
        assertThat(machine.state()).isEqualTo(PLUGGED);
    }

    @Test
    void releaseThenTeardownToFree() {
        BufferMachine machine = start(FREE);
        fireAll(machine, INSTALL);
        assertThat(fire(machine, RELEASE)).isEqualTo(new Transition(PLUGGED, RELEASE, RELEASED));
        assertThat(fireAll(machine, TEARDOWN)).containsExactlyElementsOf(TEARDOWN);
        assertThat(machine.state()).isEqualTo(FREE);
        assertThat(written).extracting(Transition::event).containsExactly(ACQUIRE_IFB, ADD_INGRESS, ADD_REDIRECT,
                ADD_PLUG, RELEASE, REMOVE_PLUG, REMOVE_REDIRECT, REMOVE_INGRESS, RELEASE_IFB);
    }

    @Test
    void aReleasedBufferResumesToPluggedAndIsReleasedAgain() {
        BufferMachine machine = start(FREE);
        fireAll(machine, INSTALL);
        fire(machine, RELEASE);
        assertThat(fire(machine, RESUME)).isEqualTo(new Transition(RELEASED, RESUME, PLUGGED));
        assertThat(fire(machine, RELEASE).target()).isEqualTo(RELEASED);
        assertThatThrownBy(() -> fire(start(PLUGGED), RESUME)).isInstanceOf(IllegalTransitionException.class);
    }

    @Test
    void aFreedBufferCanBeInstalledAgain() {
        BufferMachine machine = start(FREE);
        fireAll(machine, INSTALL);
        fireAll(machine, TEARDOWN);
        fireAll(machine, INSTALL);
        assertThat(machine.state()).isEqualTo(PLUGGED);
    }

    /** Install the first {@code installed} steps, then undo them in reverse, each by the table's backward step. */
    @ParameterizedTest(name = "{0} steps installed")
    @MethodSource("partialInstalls")
    void partialInstallThenTeardown(int installed, BufferState reached) {
        BufferMachine machine = start(FREE);
        fireAll(machine, INSTALL.subList(0, installed));
        assertThat(machine.state()).isEqualTo(reached);
        List<BufferEvent> undone = new ArrayList<>();
        while (machine.state() != FREE) {
            undone.add(fire(machine, BufferEvent.backward(machine.state())).event());
        }
        assertThat(undone).containsExactlyElementsOf(TEARDOWN.subList(TEARDOWN.size() - installed, TEARDOWN.size()));
    }

    static Stream<Arguments> partialInstalls() {
        return Stream.of(Arguments.of(1, IFB_UP), Arguments.of(2, INGRESS), Arguments.of(3, REDIRECTED));
    }

    // the write-ahead

    @Test
    void aWriteThatFailsVetoesTheChangeAndReachesTheCaller() {
        BufferMachine machine = start(IFB_UP);
        IllegalStateException refused = new IllegalStateException("database is read-only");
        assertThatThrownBy(() -> machine.fire(ADD_INGRESS, t -> {
            throw refused;
        })).isSameAs(refused);
        assertThat(machine.state()).isEqualTo(IFB_UP);
        // and the machine goes on
        assertThat(fire(machine, ADD_INGRESS).target()).isEqualTo(INGRESS);
    }

    @Test
    void aKernelFailureAfterTheWriteIsUndoneByRestoringTheRowsState() {
        BufferMachine machine = start(INGRESS);
        fire(machine, ADD_REDIRECT); // intent written, then the kernel refuses: the row stays in INGRESS
        machine.restore(INGRESS);
        assertThat(machine.state()).isEqualTo(INGRESS);
        assertThat(fire(machine, REMOVE_INGRESS).target()).isEqualTo(IFB_UP);
    }

    // illegal events

    @ParameterizedTest(name = "{1} in {0}")
    @MethodSource("illegalPairs")
    void illegalEventThrowsWritesNothingAndLeavesTheStateUnchanged(BufferState state, BufferEvent event) {
        BufferMachine machine = start(state);
        assertThatThrownBy(() -> fire(machine, event))
                .isInstanceOfSatisfying(IllegalTransitionException.class, e -> {
                    assertThat(e.event()).isEqualTo(event);
                    assertThat(e.state()).isEqualTo(state);
                    assertThat(e.allowed()).isEqualTo(Transitions.allowedFrom(state));
                })
                .hasMessageStartingWith("event " + event + " is not allowed in state " + state + " (allowed: ");
        assertThat(machine.state()).isEqualTo(state);
        assertThat(written).isEmpty();
    }

    static Stream<Arguments> illegalPairs() {
        return Arrays.stream(BufferState.values()).flatMap(state -> Arrays.stream(BufferEvent.values())
                .filter(event -> Transitions.find(state, event).isEmpty())
                .map(event -> Arguments.of(state, event)));
    }

    @Test
    void illegalEventMessageNamesTheAllowedEvents() {
        assertThatThrownBy(() -> fire(start(FREE), ADD_PLUG))
                .isInstanceOf(IllegalTransitionException.class)
                .hasMessage("event ADD_PLUG is not allowed in state FREE (allowed: ACQUIRE_IFB, FAIL)");
        assertThatThrownBy(() -> fire(start(FAILED), ACQUIRE_IFB))
                .hasMessage("event ACQUIRE_IFB is not allowed in state FAILED (allowed: CLEARED)");
    }

    @Test
    void aStoppedMachineRefusesEveryEvent() {
        BufferMachine machine = BufferMachine.restoredTo(FREE);
        machine.stop();
        assertThatThrownBy(() -> fire(machine, ACQUIRE_IFB)).isInstanceOf(IllegalStateException.class);
    }

    // failures

    @ParameterizedTest
    @EnumSource(value = BufferState.class, mode = EnumSource.Mode.EXCLUDE, names = "FAILED")
    void failThenClearedFreesTheBuffer(BufferState state) {
        BufferMachine machine = start(state);
        assertThat(fire(machine, FAIL)).isEqualTo(new Transition(state, FAIL, FAILED));
        assertThatThrownBy(() -> fire(machine, FAIL))
                .isInstanceOf(IllegalTransitionException.class)
                .hasMessage("event FAIL is not allowed in state FAILED (allowed: CLEARED)");
        assertThat(fire(machine, CLEARED)).isEqualTo(new Transition(FAILED, CLEARED, FREE));
        assertThat(machine.state()).isEqualTo(FREE);
    }

    // restore

    @ParameterizedTest
    @EnumSource(BufferState.class)
    void restoredToEachStateThenEveryAllowedEventWorks(BufferState state) {
        assertThat(start(state).state()).isEqualTo(state);
        for (BufferEvent event : Transitions.allowedFrom(state)) {
            BufferMachine machine = start(state);
            Transition t = fire(machine, event);
            assertThat(machine.state()).isEqualTo(t.target()).isEqualTo(event.target());
        }
    }

    // the generated machine against the table

    record Accepted(BufferState source, BufferEvent event, BufferState target) {
    }

    /** Talks to the raw Spring machine, so this does not rely on BufferMachine's own use of the table. */
    @Test
    void theMachineAcceptsExactlyTheTransitionsOfTheTable() {
        Set<Accepted> accepted = new HashSet<>();
        for (BufferState state : BufferState.values()) {
            for (BufferEvent event : BufferEvent.values()) {
                StateMachine<BufferState, BufferEvent> machine = BufferMachine.build();
                machine.startReactively().block();
                machine.getStateMachineAccessor().doWithAllRegions(access -> access
                        .resetStateMachineReactively(new DefaultStateMachineContext<>(state, null, null, null)).block());
                assertThat(machine.getState().getId()).isEqualTo(state);

                List<StateMachineEventResult<BufferState, BufferEvent>> results = machine
                        .sendEvent(Mono.just(MessageBuilder.withPayload(event).build())).collectList().block();
                assertThat(results).hasSize(1);
                if (results.getFirst().getResultType() == ResultType.ACCEPTED) {
                    accepted.add(new Accepted(state, event, machine.getState().getId()));
                } else {
                    assertThat(machine.getState().getId()).isEqualTo(state);
                }
                machine.stopReactively().block();
            }
        }
        assertThat(accepted).containsExactlyInAnyOrderElementsOf(
                Transitions.ALL.stream().map(t -> new Accepted(t.source(), t.event(), t.target())).toList());
    }
}
