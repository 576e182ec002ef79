package io.remus.netbuf.netlink;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * A network interface name that is safe to hand to the kernel: 1 to 15 bytes (IFNAMSIZ less the NUL) of
 * {@code [A-Za-z0-9._-]}, not {@code .} or {@code ..}. The kernel itself also allows other bytes, but nothing a
 * Xen toolstack names a vif or an ifb needs them, and refusing them here keeps bad input out of the kernel.
 */
public record InterfaceName(String value) {

    /** IFNAMSIZ (16) less the terminating NUL. */
    public static final int MAX_BYTES = 15;

    private static final Pattern ALLOWED = Pattern.compile("[A-Za-z0-9._-]+");

    public InterfaceName {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("interface name is empty");
        }
        int bytes = value.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_BYTES) {
            throw new IllegalArgumentException("interface name '" + printable(value) + "' is " + bytes
                    + " bytes; Linux allows at most " + MAX_BYTES);
        }
        if (!ALLOWED.matcher(value).matches() || value.equals(".") || value.equals("..")) {
            throw new IllegalArgumentException("interface name '" + printable(value)
                    + "' may contain only letters, digits, '.', '_' and '-'");
        }
    }

    public static InterfaceName of(String value) {
        return new InterfaceName(value);
    }

    /** Escapes control and non-ASCII characters so an error message cannot be used to forge log lines. */
    static String printable(String s) {
        StringBuilder out = new StringBuilder();
        s.codePoints().forEach(cp -> {
            if (cp >= 0x20 && cp < 0x7f) {
                out.appendCodePoint(cp);
            } else {
                out.append(String.format("\\u%04x", cp));
            }
        });
        return out.toString();
    }

    @Override
    public String toString() {
        return value;
    }
}
