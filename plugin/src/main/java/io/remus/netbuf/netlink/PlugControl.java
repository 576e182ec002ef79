package io.remus.netbuf.netlink;

import io.remus.netbuf.netlink.Nle.Step;

/**
 * The checkpoint hot path for one plug qdisc: {@link #buffer()} at each checkpoint, {@link #releaseOne()} when the
 * backup acknowledges it, {@link #releaseIndefinite()} when the backup is lost. Each call is one netlink round trip
 * and allocates nothing on the Java heap unless it fails. Not for use after {@link #close()}.
 */
public final class PlugControl implements AutoCloseable {

    private final Netlink netlink;
    private final PlugQdisc plug;
    private final LibNl.PlugObject object;

    PlugControl(Netlink netlink, PlugQdisc plug, LibNl.PlugObject object) {
        this.netlink = netlink;
        this.plug = plug;
        this.object = object;
    }

    public PlugQdisc plug() {
        return plug;
    }

    /** {@code tc qdisc change dev IFB root plug block}: closes the current epoch. */
    public void buffer() {
        run(Step.PLUG_BUFFER);
    }

    /** {@code tc qdisc change dev IFB root plug release}: lets the oldest closed epoch out. */
    public void releaseOne() {
        run(Step.PLUG_RELEASE_ONE);
    }

    /** {@code tc qdisc change dev IFB root plug release_indefinite}: lets everything out until the next buffer. */
    public void releaseIndefinite() {
        run(Step.PLUG_RELEASE_INDEFINITE);
    }

    /** The error of this plug's entry in a {@link Netlink#plugBatch} that reported {@code code} for it. */
    public NetlinkException failure(PlugAction action, int code) {
        return Netlink.failure(step(action), plug.ifb().toString(), code);
    }

    LibNl.PlugObject object() {
        return object;
    }

    static Step step(PlugAction action) {
        return switch (action) {
            case BUFFER -> Step.PLUG_BUFFER;
            case RELEASE_ONE -> Step.PLUG_RELEASE_ONE;
            case RELEASE_INDEFINITE -> Step.PLUG_RELEASE_INDEFINITE;
        };
    }

    private void run(Step step) {
        int rc = netlink.plugChange(object, step);
        if (rc < 0) {
            throw Netlink.failure(step, plug.ifb().toString(), rc);
        }
    }

    @Override
    public void close() {
        synchronized (netlink) {
            LibNl.plugFree(object);
        }
    }
}
