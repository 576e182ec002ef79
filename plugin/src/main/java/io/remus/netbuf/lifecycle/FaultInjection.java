package io.remus.netbuf.lifecycle;

import io.remus.netbuf.model.KernelStep;

/**
 * Where the crash tests stop a process: right after a step's intent is committed, and right after its kernel step.
 * Inert unless the system property {@value #PROPERTY} names a point ({@code after-intent:INGRESS_ADD} or
 * {@code after-kernel:INGRESS_ADD}); then, on reaching it, the process prints {@code NETBUF_CRASH_POINT <point>}
 * and waits to be killed (the test sends SIGKILL). Never set in production.
 */
public final class FaultInjection {

    public static final String PROPERTY = "netbuf.test.crash-at";
    public static final String MARKER = "NETBUF_CRASH_POINT ";

    private final String point;

    private FaultInjection(String point) {
        this.point = point;
    }

    public static FaultInjection fromSystemProperty() {
        String p = System.getProperty(PROPERTY);
        return new FaultInjection(p == null || p.isBlank() ? null : p.strip());
    }

    public static FaultInjection none() {
        return new FaultInjection(null);
    }

    void afterIntent(KernelStep step) {
        at("after-intent:" + step);
    }

    void afterKernel(KernelStep step) {
        at("after-kernel:" + step);
    }

    private void at(String here) {
        if (point == null || !point.equals(here)) {
            return;
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
