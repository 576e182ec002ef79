package io.remus.netbuf.netlink;

import io.remus.netbuf.libc.LibC;
import java.util.function.Supplier;

/**
 * Runs code on a fresh platform thread in another network namespace. setns(2) and unshare(2) change only the
 * calling thread, and a socket keeps the namespace it was made in; running on a throw-away thread means no pooled
 * or virtual thread is ever left in the wrong namespace.
 */
final class NamespaceThread {

    private NamespaceThread() {
    }

    /** Runs {@code body} on a fresh thread that has entered the network namespace at {@code nsPath}. */
    static <T> T inNamespace(String nsPath, Supplier<T> body) {
        return onFreshThread("netns-" + nsPath, () -> {
            int fd = LibC.open(nsPath, LibC.O_RDONLY | LibC.O_CLOEXEC);
            if (fd < 0) {
                throw new NetlinkUnavailableException("cannot open network namespace " + nsPath + ": errno "
                        + -fd + " (create it with: ip netns add NAME)", null);
            }
            int rc = LibC.setns(fd, LibC.CLONE_NEWNET);
            LibC.close(fd);
            if (rc != 0) {
                throw new NetlinkUnavailableException("cannot enter network namespace " + nsPath + ": errno "
                        + -rc + " (needs CAP_SYS_ADMIN)", null);
            }
            return body.get();
        });
    }

    /**
     * Like {@link #inNamespace(String, Supplier)}, for a namespace file the caller has open; a setns(2) failure is
     * returned as {@code -errno} in {@code error[0]} (EINVAL: not a network namespace).
     */
    static <T> T inNamespace(int nsFd, int[] error, Supplier<T> body) {
        return onFreshThread("netns-fd" + nsFd, () -> {
            int rc = LibC.setns(nsFd, LibC.CLONE_NEWNET);
            if (rc != 0) {
                error[0] = rc;
                return null;
            }
            return body.get();
        });
    }

    /**
     * Runs {@code body} on a new platform thread that ends with it, for calls that change the calling thread's
     * namespaces (setns, unshare). Waits for it even when interrupted (the interrupt is kept for the caller): the
     * thread may have made a kernel object, and only its result says which.
     */
    static <T> T onFreshThread(String name, Supplier<T> body) {
        Object[] result = new Object[1];
        RuntimeException[] failure = new RuntimeException[1];
        Thread t = Thread.ofPlatform().name(name).unstarted(() -> {
            try {
                result[0] = body.get();
            } catch (RuntimeException e) {
                failure[0] = e;
            }
        });
        t.start();
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        @SuppressWarnings("unchecked")
        T value = (T) result[0];
        return value;
    }
}
