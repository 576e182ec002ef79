package io.remus.netbuf.model;

import static io.remus.netbuf.model.BufferEvent.*;
import static io.remus.netbuf.model.BufferState.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
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

    @AfterEach
    void stopMachines() {
        started.forEach(BufferMachine::stop);
    }

    private BufferMachine start(BufferState state) {
        BufferMachine machine = BufferMachine.start(state);
        started.add(machine);
        return machine;
    }

    private static List<KernelStep> fireAll(BufferMachine machine, List<BufferEvent> events) {
        List<KernelStep> steps = new ArrayList<>();
        for (BufferEvent event : events) {
            Transition t = machine.fire(event);
            assertThat(machine.state()).isEqualTo(t.target());
            steps.add(t.kernelStep().orElseThrow());
        }
        return steps;
    }

    // legal paths

    @Test
    void fullInstallDoesOneKernelStepPerTransition() {
        BufferMachine machine = start(FREE);
        List<BufferState> states = new ArrayList<>();
        List<KernelStep> steps = new ArrayList<>();
        for (BufferEvent event : INSTALL) {
            steps.add(machine.fire(event).kernelStep().orElseThrow());
            states.add(machine.state());
        }
        assertThat(states).containsExactly(IFB_UP, INGRESS, REDIRECTED, PLUGGED);
        assertThat(steps).containsExactly(
                KernelStep.IFB_UP, KernelStep.INGRESS_ADD, KernelStep.REDIRECT_ADD, KernelStep.PLUG_ADD);
    }

    @Test
    void releaseThenTeardownToFree() {
        BufferMachine machine = start(FREE);
        fireAll(machine, INSTALL);

        Transition release = machine.fire(RELEASE);
        assertThat(release).isEqualTo(new Transition(PLUGGED, RELEASE, RELEASED, Optional.of(KernelStep.PLUG_RELEASE_INDEFINITE)));
        assertThat(machine.state()).isEqualTo(RELEASED);

        assertThat(fireAll(machine, TEARDOWN)).containsExactly(
                KernelStep.PLUG_DELETE, KernelStep.REDIRECT_DELETE, KernelStep.INGRESS_DELETE, KernelStep.IFB_RELEASE);
        assertThat(machine.state()).isEqualTo(FREE);
    }

    @Test
    void aReleasedBufferResumesToPluggedAndIsReleasedAgain() {
        BufferMachine machine = start(FREE);
        fireAll(machine, INSTALL);
        machine.fire(RELEASE);
        assertThat(machine.fire(RESUME))
                .isEqualTo(new Transition(RELEASED, RESUME, PLUGGED, Optional.of(KernelStep.PLUG_RESUME)));
        assertThat(machine.state()).isEqualTo(PLUGGED);
        assertThat(machine.fire(RELEASE).target()).isEqualTo(RELEASED);
        assertThatThrownBy(() -> start(PLUGGED).fire(RESUME)).isInstanceOf(IllegalTransitionException.class);
    }

    @Test
    void teardownDirectlyFromPlugged() {
        BufferMachine machine = start(FREE);
        fireAll(machine, INSTALL);
        assertThat(fireAll(machine, TEARDOWN)).containsExactly(
                KernelStep.PLUG_DELETE, KernelStep.REDIRECT_DELETE, KernelStep.INGRESS_DELETE, KernelStep.IFB_RELEASE);
        assertThat(machine.state()).isEqualTo(FREE);
    }

    @Test
    void aFreedBufferCanBeInstalledAgain() {
        BufferMachine machine = start(FREE);
        fireAll(machine, INSTALL);
        fireAll(machine, TEARDOWN);
        fireAll(machine, INSTALL);
        assertThat(machine.state()).isEqualTo(PLUGGED);
    }

    /** Install the first {@code installed} steps, then undo them in reverse. */
    @ParameterizedTest(name = "{0} steps installed")
    @MethodSource("partialInstalls")
    void partialInstallThenTeardown(int installed, BufferState reached) {
        BufferMachine machine = start(FREE);
        List<KernelStep> done = fireAll(machine, INSTALL.subList(0, installed));
        assertThat(machine.state()).isEqualTo(reached);

        List<KernelStep> undone = fireAll(machine, TEARDOWN.subList(TEARDOWN.size() - installed, TEARDOWN.size()));
        assertThat(machine.state()).isEqualTo(FREE);
        assertThat(undone).hasSameSizeAs(done);
    }

    static Stream<Arguments> partialInstalls() {
        return Stream.of(Arguments.of(1, IFB_UP), Arguments.of(2, INGRESS), Arguments.of(3, REDIRECTED));
    }

    // illegal events

    @ParameterizedTest(name = "{1} in {0}")
    @MethodSource("illegalPairs")
    void illegalEventThrowsAndLeavesTheStateUnchanged(BufferState state, BufferEvent event) {
        BufferMachine machine = start(state);
        assertThatThrownBy(() -> machine.fire(event))
                .isInstanceOfSatisfying(IllegalTransitionException.class, e -> {
                    assertThat(e.event()).isEqualTo(event);
                    assertThat(e.state()).isEqualTo(state);
                    assertThat(e.allowed()).isEqualTo(Transitions.allowedFrom(state));
                })
                .hasMessageStartingWith("event " + event + " is not allowed in state " + state + " (allowed: ");
        assertThat(machine.state()).isEqualTo(state);
    }

    static Stream<Arguments> illegalPairs() {
        return Arrays.stream(BufferState.values()).flatMap(state -> Arrays.stream(BufferEvent.values())
                .filter(event -> Transitions.find(state, event).isEmpty())
                .map(event -> Arguments.of(state, event)));
    }

    @Test
    void illegalEventMessageNamesTheAllowedEvents() {
        assertThatThrownBy(() -> start(FREE).fire(ADD_PLUG))
                .isInstanceOf(IllegalTransitionException.class)
                .hasMessage("event ADD_PLUG is not allowed in state FREE (allowed: ACQUIRE_IFB, FAIL)");
        assertThatThrownBy(() -> start(FAILED).fire(ACQUIRE_IFB))
                .hasMessage("event ACQUIRE_IFB is not allowed in state FAILED (allowed: CLEARED)");
    }

    @Test
    void aStoppedMachineRefusesEveryEvent() {
        BufferMachine machine = BufferMachine.start(FREE);
        machine.stop();
        assertThatThrownBy(() -> machine.fire(ACQUIRE_IFB)).isInstanceOf(IllegalStateException.class);
    }

    // failures

    @ParameterizedTest
    @EnumSource(value = BufferState.class, mode = EnumSource.Mode.EXCLUDE, names = "FAILED")
    void failRecordsStepAndReasonThenClearedFreesTheBuffer(BufferState state) {
        BufferMachine machine = start(state);
        KernelStep step = Transitions.ALL.stream()
                .filter(t -> t.source() == state).flatMap(t -> t.kernelStep().stream()).findFirst().orElseThrow();

        Transition failed = machine.fail(step, "EBUSY from the kernel");
        assertThat(failed).isEqualTo(new Transition(state, FAIL, FAILED, Optional.empty()));
        assertThat(machine.state()).isEqualTo(FAILED);
        assertThat(machine.failedStep()).contains(step);
        assertThat(machine.failureReason()).contains("EBUSY from the kernel");

        assertThat(machine.fire(CLEARED)).isEqualTo(new Transition(FAILED, CLEARED, FREE, Optional.empty()));
        assertThat(machine.state()).isEqualTo(FREE);
        assertThat(machine.failedStep()).isEmpty();
        assertThat(machine.failureReason()).isEmpty();
    }

    /** Walk the install path and fail at each step in turn, as the plugin will. */
    @ParameterizedTest(name = "failing step {0}")
    @MethodSource("installFailurePoints")
    void failureDuringInstall(int stepIndex, KernelStep failing) {
        BufferMachine machine = start(FREE);
        fireAll(machine, INSTALL.subList(0, stepIndex));
        machine.fail(failing, "no");
        assertThat(machine.state()).isEqualTo(FAILED);
        assertThat(machine.failedStep()).contains(failing);
        machine.fire(CLEARED);
        assertThat(machine.state()).isEqualTo(FREE);
    }

    static Stream<Arguments> installFailurePoints() {
        return Stream.of(
                Arguments.of(0, KernelStep.IFB_UP),
                Arguments.of(1, KernelStep.INGRESS_ADD),
                Arguments.of(2, KernelStep.REDIRECT_ADD),
                Arguments.of(3, KernelStep.PLUG_ADD));
    }

    @Test
    void aSecondFailureIsRefusedAndTheFirstIsKept() {
        BufferMachine machine = start(INGRESS);
        machine.fail(KernelStep.REDIRECT_ADD, "first");
        assertThatThrownBy(() -> machine.fail(KernelStep.INGRESS_DELETE, "second"))
                .isInstanceOf(IllegalTransitionException.class)
                .hasMessage("event FAIL is not allowed in state FAILED (allowed: CLEARED)");
        assertThat(machine.failedStep()).contains(KernelStep.REDIRECT_ADD);
        assertThat(machine.failureReason()).contains("first");
    }

    @Test
    void restoringIntoFailedHasNoRecordedFailure() {
        BufferMachine machine = start(FAILED);
        assertThat(machine.failedStep()).isEmpty();
        assertThat(machine.failureReason()).isEmpty();
        machine.fire(CLEARED);
        assertThat(machine.state()).isEqualTo(FREE);
    }

    // reset

    @ParameterizedTest
    @EnumSource(BufferState.class)
    void resetToEachStateThenEveryAllowedEventWorks(BufferState state) {
        assertThat(start(state).state()).isEqualTo(state);
        for (BufferEvent event : Transitions.allowedFrom(state)) {
            BufferMachine machine = start(state);
            Transition t = event == FAIL ? machine.fail(KernelStep.IFB_UP, "test") : machine.fire(event);
            assertThat(machine.state()).isEqualTo(t.target()).isEqualTo(Transitions.find(state, event).orElseThrow().target());
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
