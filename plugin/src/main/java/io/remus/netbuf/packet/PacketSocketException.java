package io.remus.netbuf.packet;

/**
 * A packet-socket call for a {@link VifTap} failed. Names the operation, the device, the failed call, the OS error
 * text and, where one is known, the fix.
 */
public class PacketSocketException extends RuntimeException {

    static final int ENXIO = 6;
    static final int ENODEV = 19;

    private final String operation;
    private final String device;
    private final String call;
    private final int errno;
    private final String fix;

    public PacketSocketException(String operation, String device, String call, int errno, String errorText,
                                 String fix) {
        super(operation + " on " + device + " failed: " + call + ": " + errorText + " (errno " + errno + ")"
                + (fix == null ? "" : "; fix: " + fix));
        this.operation = operation;
        this.device = device;
        this.call = call;
        this.errno = errno;
        this.fix = fix;
    }

    /** What was being done, e.g. {@code open null tap}. */
    public String operation() {
        return operation;
    }

    /** The interface the tap was for. */
    public String device() {
        return device;
    }

    /** The libc call that failed, with its arguments, e.g. {@code bind(AF_PACKET, ifindex 7)}. */
    public String call() {
        return call;
    }

    /** The call's errno, positive. */
    public int errno() {
        return errno;
    }

    /** True when the device was not there to bind to: the vif has gone, with its domain or by hotplug. */
    public boolean deviceGone() {
        return errno == ENODEV || errno == ENXIO;
    }

    /** The known fix, or null. */
    public String fix() {
        return fix;
    }
}
