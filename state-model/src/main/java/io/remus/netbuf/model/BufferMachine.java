package io.remus.netbuf.model;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import org.springframework.messaging.support.MessageBuilder;
import org.springframework.statemachine.StateMachine;
import org.springframework.statemachine.StateMachineEventResult;
import org.springframework.statemachine.StateMachineEventResult.ResultType;
import org.springframework.statemachine.config.StateMachineBuilder;
import org.springframework.statemachine.config.builders.StateMachineTransitionConfigurer;
import org.springframework.statemachine.support.DefaultStateMachineContext;

import reactor.core.publisher.Mono;

/**
 * The lifecycle of one buffer: a Spring state machine generated from {@link Transitions}, built without an
 * application context. It only validates events and records failures; the caller does the kernel step of
 * each returned {@link Transition}. Not meant for concurrent use, but its methods are synchronized so that
 * a state read and the event that follows it cannot interleave.
 */
public final class BufferMachine {

    private static final String FAILED_STEP = "failedStep";
    private static final String FAILURE_REASON = "failureReason";

    private final StateMachine<BufferState, BufferEvent> machine;

    private BufferMachine(StateMachine<BufferState, BufferEvent> machine) {
        this.machine = machine;
    }

    /** Builds and starts a machine, then puts it in {@code initial}, e.g. a state restored from the database. */
    public static BufferMachine start(BufferState initial) {
        StateMachine<BufferState, BufferEvent> machine = build();
        machine.startReactively().block();
        machine.getStateMachineAccessor().doWithAllRegions(access -> access
                .resetStateMachineReactively(new DefaultStateMachineContext<>(initial, null, null, null))
                .block());
        BufferMachine buffer = new BufferMachine(machine);
        // reset silently does nothing for a state the machine does not know
        if (buffer.state() != initial) {
            throw new IllegalStateException("could not reset the machine to " + initial + "; it is in " + buffer.state());
        }
        return buffer;
    }

    static StateMachine<BufferState, BufferEvent> build() {
        try {
            StateMachineBuilder.Builder<BufferState, BufferEvent> builder = StateMachineBuilder.builder();
            builder.configureConfiguration().withConfiguration().autoStartup(false);
            builder.configureStates().withStates()
                    .initial(BufferState.FREE)
                    .states(EnumSet.allOf(BufferState.class));
            StateMachineTransitionConfigurer<BufferState, BufferEvent> transitions = builder.configureTransitions();
            for (Transition t : Transitions.ALL) {
                transitions.withExternal().source(t.source()).event(t.event()).target(t.target());
            }
            return builder.build();
        } catch (Exception e) {
            throw new IllegalStateException("could not build the buffer state machine", e);
        }
    }

    public synchronized BufferState state() {
        return machine.getState().getId();
    }

    /**
     * Sends {@code event} and returns the transition it took; the caller then does its kernel step.
     *
     * @throws IllegalTransitionException if {@code event} is not allowed in the current state
     */
    public synchronized Transition fire(BufferEvent event) {
        BufferState from = state();
        List<StateMachineEventResult<BufferState, BufferEvent>> results = machine
                .sendEvent(Mono.just(MessageBuilder.withPayload(event).build()))
                .collectList()
                .block();
        boolean accepted = results != null && !results.isEmpty()
                && results.stream().allMatch(r -> r.getResultType() == ResultType.ACCEPTED);
        Optional<Transition> expected = Transitions.find(from, event);
        if (!accepted) {
            if (expected.isPresent()) {
                // the table allows it, so the machine itself is unusable (stopped, or in error)
                throw new IllegalStateException("machine denied " + expected.get() + ", which the table allows;"
                        + " is the machine stopped? results: "
                        + (results == null ? "none" : results.stream().map(r -> r.getResultType()).toList()));
            }
            throw new IllegalTransitionException(event, from, Transitions.allowedFrom(from));
        }
        Transition taken = expected.orElseThrow(() -> new IllegalStateException(
                "machine accepted " + event + " in " + from + ", which is not in the transition table"));
        if (state() != taken.target()) {
            throw new IllegalStateException("machine took " + taken + " but is in " + state());
        }
        if (event == BufferEvent.CLEARED) {
            variables().remove(FAILED_STEP);
            variables().remove(FAILURE_REASON);
        }
        return taken;
    }

    /**
     * Fires {@link BufferEvent#FAIL} and records which kernel step failed and why.
     *
     * @throws IllegalTransitionException if the buffer is already FAILED; the first failure is kept
     */
    public synchronized Transition fail(KernelStep failedStep, String reason) {
        Objects.requireNonNull(failedStep, "failedStep");
        Objects.requireNonNull(reason, "reason");
        Transition taken = fire(BufferEvent.FAIL);
        variables().put(FAILED_STEP, failedStep);
        variables().put(FAILURE_REASON, reason);
        return taken;
    }

    /** The kernel step given to {@link #fail}, until CLEARED; empty after a restore into FAILED. */
    public synchronized Optional<KernelStep> failedStep() {
        return Optional.ofNullable(machine.getExtendedState().get(FAILED_STEP, KernelStep.class));
    }

    /** The reason given to {@link #fail}, until CLEARED; empty after a restore into FAILED. */
    public synchronized Optional<String> failureReason() {
        return Optional.ofNullable(machine.getExtendedState().get(FAILURE_REASON, String.class));
    }

    public synchronized void stop() {
        machine.stopReactively().block();
    }

    private Map<Object, Object> variables() {
        return machine.getExtendedState().getVariables();
    }

    @Override
    public synchronized String toString() {
        return "BufferMachine[" + state() + failedStep().map(s -> ", failed " + s).orElse("")
                + failureReason().map(r -> ": " + r).orElse("") + "]";
    }
}
