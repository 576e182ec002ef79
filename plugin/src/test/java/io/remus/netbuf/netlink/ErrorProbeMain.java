package io.remus.netbuf.netlink;

import java.nio.file.Path;

/**
 * Child-JVM probe for NativeErrorsTest: opens a socket in the namespace named by its file (or, given {@code
 * --current}, in the namespace it was started in, which the test made), creates an ifb, prints what failed.
 */
public final class ErrorProbeMain {

    public static void main(String[] args) {
        try (Netlink netlink = args[0].equals("--current") ? Netlink.open() : Netlink.openInNamespace(Path.of(args[0]))) {
            netlink.createIfb(InterfaceName.of("nbprobe0"));
            System.out.println("OK");
        } catch (RuntimeException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }
}
