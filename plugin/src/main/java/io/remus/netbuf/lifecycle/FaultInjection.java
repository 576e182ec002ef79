package io.remus.netbuf.lifecycle;

import io.remus.netbuf.model.BufferEvent;

/**
 * Where the crash tests stop a process: right after a step's intent is committed, and right after its kernel call
 * (for a domain's step, with all its vifs at that point). Inert unless the system property {@value #PROPERTY}
 * names one of {@link BufferEvent#crashPoints} ({@code after-intent:ADD_INGRESS}, {@code after-kernel:ADD_INGRESS});
 * then, on reaching it, the process prints {@code NETBUF_CRASH_POINT <point>} and waits to be killed (the test sends
 * SIGKILL). Never set in production. {@link #abandonAt} is the in-process form, for a bench that needs many crashed
 * installs.
 */
public final class FaultInjection {

    public static final String PROPERTY = "netbuf.test.crash-at";
    public static final String MARKER = "NETBUF_CRASH_POINT ";

    /** Thrown at the point by {@link #abandonAt}: an Error, so no undo in the lifecycle runs, as after a SIGKILL. */
    public static final class Abandoned extends Error {
        private Abandoned(String point) {
            super("abandoned at " + point, null, false, false);
        }
    }

    private final String point;
    private final boolean abandon;

    private FaultInjection(String point, boolean abandon) {
        this.point = point;
        this.abandon = abandon;
    }

    public static FaultInjection fromSystemProperty() {
        String p = System.getProperty(PROPERTY);
        return new FaultInjection(p == null || p.isBlank() ? null : p.strip(), false);
    }

    public static FaultInjection none() {
        return new FaultInjection(null, false);
    }

    /**
     * Throws {@link Abandoned} at {@code point} instead of waiting to be killed: the call in progress ends there,
     * leaving the database and the kernel as a crash at that point leaves them. Test and bench code only.
     */
    public static FaultInjection abandonAt(String point) {
        return new FaultInjection(point, true);
    }

    void afterIntent(BufferEvent step) {
        at(step.afterIntent());
    }

    void afterKernel(BufferEvent step) {
        at(step.afterKernel());
    }

    private void at(String here) {
        if (point == null || !point.equals(here)) {
            return;
        }
        if (abandon) {
            throw new Abandoned(here);
        }
        System.out.println(MARKER + here);
        System.out.flush();
        while (true) {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                // keep waiting for the kill: this point must not be passed
            }
        }
    }
}
