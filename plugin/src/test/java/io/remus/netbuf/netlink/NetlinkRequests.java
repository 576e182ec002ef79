package io.remus.netbuf.netlink;

/** For the bench: how many netlink requests (sendmsgs) this process's sockets have sent so far. */
public final class NetlinkRequests {

    private NetlinkRequests() {
    }

    public static long sent() {
        return LibNl.requestsSent();
    }
}
