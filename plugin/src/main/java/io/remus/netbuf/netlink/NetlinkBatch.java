package io.remus.netbuf.netlink;

import io.remus.netbuf.netlink.Nle.Step;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Kernel operations collected for one sendmsg ({@link Netlink#send}): the same operations as {@link Netlink}'s
 * methods of the same names, on the same value types, each built by libnl's {@code rtnl_*_build_*_request}. The
 * kernel runs them in the order they were added, each whether or not an earlier one failed, and answers every
 * failure by its sequence number; {@link #failure} then gives the error the single method would have thrown.
 * Nothing here is idempotent: a batch's caller decides whether "gone" is success ({@link #code}).
 */
public final class NetlinkBatch {

    private record Request(Step step, String device, ToIntFunction<LibNl.Requests> build) {
    }

    private final List<Request> requests = new ArrayList<>();
    private int[] codes = new int[0];
    private boolean sent;

    NetlinkBatch() {
    }

    /** {@code ip link add NAME type ifb}. */
    public int createIfb(InterfaceName name) {
        return add(Step.CREATE_IFB, name.value(), r -> LibNl.appendIfbAdd(r, name.value()));
    }

    /** {@code ip link set NAME addrgenmode none} (see {@link Netlink#noIpv6Address}). */
    public int noIpv6Address(Link link) {
        return add(Step.NO_IPV6_ADDRESS, link.toString(), r -> LibNl.appendLinkNoIpv6Address(r, link.index()));
    }

    /** {@code ip link set NAME up}. */
    public int setUp(Link link) {
        return add(Step.SET_UP, link.toString(), r -> LibNl.appendLinkSetUp(r, link.index(), true));
    }

    /** {@code ip link set NAME down}. */
    public int setDown(Link link) {
        return add(Step.SET_DOWN, link.toString(), r -> LibNl.appendLinkSetUp(r, link.index(), false));
    }

    /** {@code ip link del NAME}. */
    public int deleteLink(Link link) {
        return add(Step.DELETE_LINK, link.toString(), r -> LibNl.appendLinkDelete(r, link.index()));
    }

    /** {@code tc qdisc add dev VIF ingress}. */
    public int addIngress(IngressQdisc ingress) {
        return add(Step.ADD_INGRESS, ingress.vif().toString(), r -> LibNl.appendIngressAdd(r, ingress.vif().index()));
    }

    /** {@code tc qdisc del dev VIF ingress}. */
    public int deleteIngress(IngressQdisc ingress) {
        return add(Step.DELETE_INGRESS, ingress.vif().toString(),
                r -> LibNl.appendIngressDelete(r, ingress.vif().index()));
    }

    /** The redirect filter, as {@link Netlink#addRedirect}. */
    public int addRedirect(RedirectFilter f) {
        return add(Step.ADD_REDIRECT, f.vif().toString(), r -> LibNl.appendRedirectAdd(r, f.vif().index(),
                f.protocol(), f.priority(), f.handle(), f.keyOffset(), f.ifb().index()));
    }

    /** As {@link Netlink#deleteRedirect}: the filter's node, or with handle 0 every node at its priority. */
    public int deleteRedirect(RedirectFilter f) {
        return add(Step.DELETE_REDIRECT, f.vif().toString(), r -> LibNl.appendRedirectDelete(r, f.vif().index(),
                f.protocol(), f.priority(), f.handle()));
    }

    /** {@code tc qdisc add dev IFB root handle H plug limit N}. A new plug qdisc starts blocked. */
    public int addPlug(PlugQdisc plug) {
        return add(Step.ADD_PLUG, plug.ifb().toString(), r -> LibNl.appendPlugAdd(r, plug.ifb().index(),
                plug.handle().value(), (int) plug.limitBytes()));
    }

    /** {@code tc qdisc change dev IFB root plug release_indefinite}. */
    public int plugReleaseIndefinite(PlugQdisc plug) {
        return add(Step.PLUG_RELEASE_INDEFINITE, plug.ifb().toString(), r -> LibNl.appendPlugChange(r,
                plug.ifb().index(), plug.handle().value(), PlugAction.RELEASE_INDEFINITE));
    }

    /** {@code tc qdisc del dev IFB root handle H}. */
    public int deletePlug(PlugQdisc plug) {
        return add(Step.DELETE_PLUG, plug.ifb().toString(), r -> LibNl.appendPlugDelete(r, plug.ifb().index(),
                plug.handle().value()));
    }

    public int size() {
        return requests.size();
    }

    public boolean isEmpty() {
        return requests.isEmpty();
    }

    /** After {@link Netlink#send}: whether request {@code i} succeeded. */
    public boolean ok(int i) {
        return code(i) == 0;
    }

    /** After {@link Netlink#send}: the error request {@code i} came to, as its single method throws it, or null. */
    public NetlinkException failure(int i) {
        int code = code(i);
        return code == 0 ? null : Netlink.failure(requests.get(i).step(), requests.get(i).device(), code);
    }

    /** After {@link Netlink#send}: 0, or request {@code i}'s negative libnl code. */
    int code(int i) {
        if (!sent) {
            throw new IllegalStateException("the batch has not been sent");
        }
        return codes[i];
    }

    private int add(Step step, String device, ToIntFunction<LibNl.Requests> build) {
        if (sent) {
            throw new IllegalStateException("the batch has been sent");
        }
        requests.add(new Request(step, device, build));
        return requests.size() - 1;
    }

    /**
     * Builds every request into {@code r} (a request libnl cannot build gets its code at once and is not sent),
     * sends them ({@link LibNl#send}) and keeps each one's code. Returns the number of failures, or a negative libnl
     * code if the batch as a whole failed. Called by {@link Netlink#send} under the socket's lock.
     */
    int sendOn(LibNl.Socket socket) {
        codes = new int[requests.size()];
        sent = true;
        try (LibNl.Requests r = new LibNl.Requests(requests.size())) {
            int[] requestOf = new int[requests.size()];
            int built = 0;
            int failures = 0;
            for (int i = 0; i < requests.size(); i++) {
                int m = requests.get(i).build().applyAsInt(r);
                if (m < 0) {
                    codes[i] = m;
                    failures++;
                } else {
                    requestOf[built++] = i;
                }
            }
            int[] errors = new int[built];
            int rc = LibNl.send(socket, r, errors);
            if (rc < 0) {
                return rc;
            }
            for (int m = 0; m < built; m++) {
                codes[requestOf[m]] = errors[m];
            }
            return failures + rc;
        }
    }
}
