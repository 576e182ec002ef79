package io.remus.netbuf.model;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import org.springframework.beans.factory.BeanNameAware;
import org.springframework.messaging.Message;
import org.springframework.messaging.MessageHeaders;
import org.springframework.messaging.support.GenericMessage;
import org.springframework.statemachine.StateMachine;
import org.springframework.statemachine.StateMachineEventResult;
import org.springframework.statemachine.StateMachineEventResult.ResultType;
import org.springframework.statemachine.config.StateMachineBuilder;
import org.springframework.statemachine.config.StateMachineFactory;
import org.springframework.statemachine.config.builders.StateMachineTransitionConfigurer;
import org.springframework.statemachine.state.State;
import org.springframework.statemachine.support.DefaultStateMachineContext;
import org.springframework.statemachine.support.StateMachineInterceptorAdapter;

import reactor.core.publisher.Mono;

/**
 * One buffer's lifecycle: a Spring state machine generated from {@link BufferEvent}'s table, built once per buffer
 * and kept while the buffer lives; after a restart it is restored from the buffer's row. Persistence is the
 * machine's own shape, as in Spring Statemachine's persist recipes: an interceptor runs the caller's
 * {@link WriteAhead} in {@code preStateChange}, before the state changes, so a step's intent is committed before its
 * kernel call, and a write that fails vetoes the change and reaches the caller as its exception (the machine itself
 * would only log it). The kernel call is the caller's, after {@link #fire} returns: a netlink error is an exception
 * in the caller's hands, never lost inside the machine. If the kernel call fails, the caller records it and puts
 * the machine back where the row is ({@link #restore(BufferState)}).
 */
public final class BufferMachine {

    /** Records a transition before the machine takes it: a step's intent, or a record's outcome (FAIL, CLEARED). */
    @FunctionalInterface
    public interface WriteAhead {
        void write(Transition t);
    }

    /**
     * One message per event, made once: a message built per event would read the clock for its timestamp header and
     * make an id, each a cost where a clock read is a system call (user-mode-linux). Messages are immutable, and
     * nothing here reads their headers.
     */
    private static final Map<BufferEvent, Mono<Message<BufferEvent>>> EVENTS = new EnumMap<>(BufferEvent.class);

    /** Headers without an id or a timestamp (the protected constructor's "none" values). */
    private static final MessageHeaders NO_HEADERS = new MessageHeaders(null, MessageHeaders.ID_VALUE_NONE, -1L) {
    };

    static {
        for (BufferEvent e : BufferEvent.values()) {
            EVENTS.put(e, Mono.just(new GenericMessage<>(e, NO_HEADERS)));
        }
    }

    /** The table's machine configured once; each buffer's machine is made from it (not configured anew). */
    private static final StateMachineFactory<BufferState, BufferEvent> FACTORY = factory();
    private static final AtomicLong MACHINES = new AtomicLong();

    private final StateMachine<BufferState, BufferEvent> machine;
    /** The write of the event being sent; set only for the duration of {@link #fire}. */
    private WriteAhead pendingWrite;
    private Transition pendingTransition;
    private RuntimeException writeFailure;

    private BufferMachine(StateMachine<BufferState, BufferEvent> machine) {
        this.machine = machine;
    }

    /** Builds and starts a buffer's machine in {@code state}: FREE for a new buffer, its row's state after a restart. */
    public static BufferMachine restoredTo(BufferState state) {
        BufferMachine buffer = new BufferMachine(build());
        buffer.machine.getStateMachineAccessor().doWithAllRegions(access -> access.addStateMachineInterceptor(
                new StateMachineInterceptorAdapter<>() {
                    @Override
                    public void preStateChange(State<BufferState, BufferEvent> to, Message<BufferEvent> message,
                            org.springframework.statemachine.transition.Transition<BufferState, BufferEvent> t,
                            StateMachine<BufferState, BufferEvent> machine,
                            StateMachine<BufferState, BufferEvent> root) {
                        buffer.writeAhead();
                    }
                }));
        buffer.machine.startReactively().block();
        if (state != BufferState.FREE) { // started, it is in FREE already
            buffer.restore(state);
        }
        return buffer;
    }

    static StateMachine<BufferState, BufferEvent> build() {
        StateMachine<BufferState, BufferEvent> machine;
        synchronized (FACTORY) {
            // a uuid of its own, not the random one the machine would draw (from SecureRandom: a read of
            // /dev/urandom, a system call, for an id nothing here reads)
            machine = FACTORY.getStateMachine(new UUID(0L, MACHINES.incrementAndGet()));
        }
        // A factory's machine is named "stateMachine", so each of its ~7 notifications per event looks up
        // @OnTransition-style handlers by that name, misses, and compiles a regex to try the default name (a fifth
        // of an event's time). No handlers are used here; without a name, every lookup returns at once.
        ((BeanNameAware) machine).setBeanName(null);
        return machine;
    }

    private static StateMachineFactory<BufferState, BufferEvent> factory() {
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
            return builder.createFactory();
        } catch (Exception e) {
            throw new IllegalStateException("could not build the buffer state machine", e);
        }
    }

    public synchronized BufferState state() {
        return machine.getState().getId();
    }

    /**
     * Sends {@code event}: the interceptor runs {@code write} for the transition it takes, then the state changes.
     *
     * @return the transition taken; the caller then does its kernel call, if it has one
     * @throws IllegalTransitionException if {@code event} is not allowed in the current state (nothing is written)
     * @throws RuntimeException whatever {@code write} threw; the state is unchanged
     */
    public synchronized Transition fire(BufferEvent event, WriteAhead write) {
        BufferState from = state();
        Transition expected = Transitions.require(from, event);
        pendingWrite = write;
        pendingTransition = expected;
        writeFailure = null;
        List<StateMachineEventResult<BufferState, BufferEvent>> results;
        try {
            results = machine.sendEvent(EVENTS.get(event)).collectList().block();
        } finally {
            pendingWrite = null;
            pendingTransition = null;
        }
        if (writeFailure != null) {
            RuntimeException failure = writeFailure;
            writeFailure = null;
            if (state() != from) {
                throw new IllegalStateException("machine took " + expected + " although its write failed", failure);
            }
            throw failure;
        }
        boolean accepted = results != null && !results.isEmpty()
                && results.stream().allMatch(r -> r.getResultType() == ResultType.ACCEPTED);
        if (!accepted || state() != expected.target()) {
            // the table allows it, so the machine itself is unusable (stopped, or in error)
            throw new IllegalStateException("machine did not take " + expected + ", which the table allows; it is"
                    + " in " + state() + "; is it stopped? results: "
                    + (results == null ? "none" : results.stream().map(r -> r.getResultType()).toList()));
        }
        return expected;
    }

    /** Puts the machine in {@code state} without an event or a write: where the buffer's row says it is. */
    public synchronized void restore(BufferState state) {
        machine.getStateMachineAccessor().doWithAllRegions(access -> access
                .resetStateMachineReactively(new DefaultStateMachineContext<>(state, null, null, null))
                .block());
        // reset silently does nothing for a state the machine does not know
        if (state() != state) {
            throw new IllegalStateException("could not restore the machine to " + state + "; it is in " + state());
        }
    }

    public synchronized void stop() {
        machine.stopReactively().block();
    }

    /** In the interceptor, on the sending thread: the write vetoes the change by throwing. */
    private void writeAhead() {
        if (pendingWrite == null) {
            throw new IllegalStateException("state change without fire(): " + pendingTransition);
        }
        try {
            pendingWrite.write(pendingTransition);
        } catch (RuntimeException e) {
            writeFailure = e;
            throw e;
        }
    }

    @Override
    public synchronized String toString() {
        return "BufferMachine[" + state() + "]";
    }
}
