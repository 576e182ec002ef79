package io.remus.netbuf.netlink;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * A named network namespace as {@code ip netns} knows it: the namespace is kept alive by a bind mount on
 * {@code /run/netns/NAME}, so {@code ip netns exec NAME ...}, {@code ip -n NAME ...} and
 * {@link Netlink#openInNamespace(NetworkNamespace)} all reach it. The name is 1 to 64 characters of
 * {@code [A-Za-z0-9._-]}, not {@code .} or {@code ..}: it becomes a file name, so nothing that could leave
 * {@code /run/netns} or confuse a shell is accepted.
 */
public record NetworkNamespace(String name) {

    /** Where iproute2 keeps the namespace files ({@code NETNS_RUN_DIR}). */
    public static final Path RUN_DIR = Path.of("/run/netns");

    public static final int MAX_LENGTH = 64;

    private static final Pattern ALLOWED = Pattern.compile("[A-Za-z0-9._-]+");

    public NetworkNamespace {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("network namespace name is empty");
        }
        if (name.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("network namespace name '" + InterfaceName.printable(name) + "' is "
                    + name.length() + " characters; at most " + MAX_LENGTH + " are allowed");
        }
        if (!ALLOWED.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("network namespace name '" + InterfaceName.printable(name)
                    + "' may contain only letters, digits, '.', '_' and '-' (and is not . or ..)");
        }
    }

    public static NetworkNamespace of(String name) {
        return new NetworkNamespace(name);
    }

    /** {@code /run/netns/NAME}, the file the namespace is bind-mounted on. */
    public Path file() {
        return RUN_DIR.resolve(name);
    }

    @Override
    public String toString() {
        return name;
    }
}
