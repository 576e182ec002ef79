package io.remus.netbuf.model;

import java.util.Objects;
import java.util.Optional;

/**
 * One allowed transition: in {@code source}, {@code event} leads to {@code target} by doing
 * {@code kernelStep}, if any.
 */
public record Transition(BufferState source, BufferEvent event, BufferState target, Optional<KernelStep> kernelStep) {

    public Transition {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(kernelStep, "kernelStep");
    }

    static Transition step(BufferState source, BufferEvent event, BufferState target, KernelStep kernelStep) {
        return new Transition(source, event, target, Optional.of(kernelStep));
    }

    static Transition noStep(BufferState source, BufferEvent event, BufferState target) {
        return new Transition(source, event, target, Optional.empty());
    }

    @Override
    public String toString() {
        return source + " --" + event + "--> " + target + kernelStep.map(s -> " [" + s + "]").orElse("");
    }
}
