package io.remus.netbuf.netlink;

import io.remus.netbuf.libc.LibC;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Named network namespaces, made and removed the way {@code ip netns add} / {@code del} do it (a bind mount of the
 * namespace on {@code /run/netns/NAME}), so iproute2 and this package see the same namespaces. No subprocess is
 * started. Creating and deleting need CAP_SYS_ADMIN (unshare, mount) and write access to {@code /run/netns}.
 * Calls are serialised in this JVM, and with {@code ip netns add} by the flock iproute2 takes on the directory.
 */
public final class Namespaces {

    /** The calling thread's network namespace: /proc/self is the process's main thread, not the caller. */
    private static final String THREAD_NET_NS = "/proc/thread-self/ns/net";
    private static final String CAP_SYS_ADMIN =
            "needs CAP_SYS_ADMIN: run as root or grant the JVM cap_sys_admin (setcap or systemd AmbientCapabilities)";

    private Namespaces() {
    }

    /**
     * {@code ip netns add NAME}: a new network namespace (with only {@code lo}, down) at {@code /run/netns/NAME}.
     * Makes {@code /run/netns} (0755) and, as iproute2 does, a shared mount point if it is not one yet. A namespace
     * of that name that exists already is an error ({@link NamespaceException#alreadyExists()}); nothing is then
     * changed. On any other failure nothing is left behind.
     */
    public static synchronized void create(NetworkNamespace namespace) {
        Objects.requireNonNull(namespace, "namespace");
        LibNl.requireLoaded();
        SysError e = add(NetworkNamespace.RUN_DIR.toString(), namespace.file().toString());
        if (e != null) {
            throw failure("create network namespace", namespace, e);
        }
    }

    /**
     * {@code ip netns del NAME}: unmounts and removes {@code /run/netns/NAME}. The namespace goes away with its
     * devices (a veth whose other end is elsewhere goes with it) once no process and no socket uses it any more. A
     * namespace that does not exist is success.
     */
    public static synchronized void delete(NetworkNamespace namespace) {
        Objects.requireNonNull(namespace, "namespace");
        LibNl.requireLoaded();
        SysError e = remove(namespace.file().toString());
        if (e != null) {
            throw failure("delete network namespace", namespace, e);
        }
    }

    /** {@code ip netns list | grep -x NAME}: whether {@code /run/netns/NAME} exists. */
    public static boolean exists(NetworkNamespace namespace) {
        return Files.exists(namespace.file(), LinkOption.NOFOLLOW_LINKS);
    }

    /** {@code ip netns list}: every namespace in {@code /run/netns} whose name is a valid {@link NetworkNamespace}. */
    public static List<NetworkNamespace> list() {
        List<NetworkNamespace> out = new ArrayList<>();
        try (DirectoryStream<java.nio.file.Path> dir = Files.newDirectoryStream(NetworkNamespace.RUN_DIR)) {
            for (java.nio.file.Path p : dir) {
                String name = p.getFileName().toString();
                try {
                    out.add(NetworkNamespace.of(name));
                } catch (IllegalArgumentException notOurs) {
                    // a name iproute2 accepts but this package does not: not one of ours
                }
            }
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            throw new NetlinkException("list network namespaces failed: " + e, "list network namespaces",
                    NetworkNamespace.RUN_DIR.toString(), null);
        }
        out.sort(java.util.Comparator.comparing(NetworkNamespace::name));
        return out;
    }

    /** A libc call that failed: the call, as an error message names it, and its errno. */
    record SysError(String call, int errno) {
    }

    /**
     * {@code ip netns add}, as iproute2 does it: makes {@code dir} (0755) if missing and a shared mount point;
     * creates the empty {@code file} (O_EXCL: an existing one is EEXIST); then, on a fresh thread, unshare(2)s a
     * new network namespace and bind-mounts it onto the file, which keeps it alive after the thread has ended.
     * If the namespace cannot be made, the file is removed again. Returns null on success.
     */
    private static SysError add(String dir, String file) {
        int rc = LibC.mkdir(dir, 0755);
        if (rc != 0 && rc != -Errno.EEXIST) {
            return new SysError("mkdir " + dir, -rc);
        }
        SysError shared = makeSharedMountPoint(dir);
        if (shared != null) {
            return shared;
        }
        int fd = LibC.open(file, LibC.O_RDONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_CLOEXEC);
        if (fd < 0) {
            return new SysError("create " + file, -fd);
        }
        LibC.close(fd);
        SysError made = NamespaceThread.onFreshThread("netns-add " + file, () -> {
            int unshared = LibC.unshare(LibC.CLONE_NEWNET);
            if (unshared != 0) {
                return new SysError("unshare(CLONE_NEWNET)", -unshared);
            }
            int mounted = LibC.mount(THREAD_NET_NS, file, "none", LibC.MS_BIND);
            if (mounted != 0) {
                return new SysError("mount --bind " + THREAD_NET_NS + " " + file, -mounted);
            }
            return null;
        });
        if (made != null) {
            remove(file);
        }
        return made;
    }

    /**
     * {@code mount --make-rshared dir}, first bind-mounting {@code dir} onto itself if it is no mount point (EINVAL),
     * under an exclusive flock on it as iproute2 takes (two racing recursive binds would stack without end). A
     * shared {@code /run/netns} lets namespace mounts and unmounts reach processes in other mount namespaces that
     * were copied from this one, such as {@code ip netns exec} children and services with a private /tmp.
     */
    private static SysError makeSharedMountPoint(String dir) {
        int lock = LibC.open(dir, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC);
        if (lock < 0) {
            return new SysError("open " + dir, -lock);
        }
        try {
            int rc;
            do {
                rc = LibC.flock(lock, LibC.LOCK_EX);
            } while (rc == -Errno.EINTR);
            if (rc != 0) {
                return new SysError("flock " + dir, -rc);
            }
            boolean bound = false;
            while (true) {
                rc = LibC.mount("", dir, "none", LibC.MS_SHARED | LibC.MS_REC);
                if (rc == 0) {
                    return null;
                }
                if (rc != -Errno.EINVAL || bound) {
                    return new SysError("mount --make-rshared " + dir, -rc);
                }
                rc = LibC.mount(dir, dir, "none", LibC.MS_BIND | LibC.MS_REC);
                if (rc != 0) {
                    return new SysError("mount --rbind " + dir + " " + dir, -rc);
                }
                bound = true;
            }
        } finally {
            LibC.close(lock); // releases the flock
        }
    }

    /**
     * {@code ip netns del}: detaches the namespace's mount (an error here, such as "not mounted", is ignored as
     * iproute2 does) and unlinks the file; a file already gone is success. Returns null on success.
     */
    private static SysError remove(String file) {
        LibC.umount2(file, LibC.MNT_DETACH);
        int rc = LibC.unlink(file);
        return rc != 0 && rc != -Errno.ENOENT ? new SysError("unlink " + file, -rc) : null;
    }

    /** The error for a failed libc call of a namespace operation (also used by Netlink.createVethPair). */
    static NamespaceException failure(String operation, NetworkNamespace namespace, SysError e) {
        return new NamespaceException(operation, namespace.name(), e.call(), e.errno(), fix(namespace, e));
    }

    private static String fix(NetworkNamespace namespace, SysError e) {
        String dir = NetworkNamespace.RUN_DIR.toString();
        return switch (e.errno()) {
            case Errno.EEXIST -> e.call().startsWith("create ")
                    ? "a network namespace named " + namespace + " exists already: delete it first (ip netns del "
                            + namespace + ") or choose another name"
                    : null;
            case Errno.EPERM -> CAP_SYS_ADMIN;
            case Errno.EACCES -> "needs write access to " + dir + ": run as root";
            case Errno.EBUSY -> "the namespace file is still mounted: " + CAP_SYS_ADMIN;
            case Errno.EROFS -> dir + " is read-only for this process (systemd: ReadWritePaths=" + dir + ")";
            case Errno.ENOENT -> e.call().startsWith("open ")
                    ? "no network namespace named " + namespace + ": create it first (Namespaces.create, or ip netns add "
                            + namespace + ")"
                    : null;
            case Errno.EINVAL -> e.call().startsWith("unshare")
                    ? "the kernel has no network namespaces (CONFIG_NET_NS)" : null;
            case Errno.ENOSPC -> e.call().startsWith("unshare")
                    ? "too many network namespaces: raise /proc/sys/user/max_net_namespaces" : null;
            default -> null;
        };
    }
}
