package io.remus.netbuf.netlink;

/**
 * Child-JVM probe for NamespaceMountTest: {@code create NAME...} or {@code delete NAME...} through
 * {@link Namespaces}, printing {@code OK} or what failed, one line per name.
 */
public final class NamespaceProbeMain {

    public static void main(String[] args) {
        for (int i = 1; i < args.length; i++) {
            try {
                NetworkNamespace ns = NetworkNamespace.of(args[i]);
                switch (args[0]) {
                    case "create" -> Namespaces.create(ns);
                    case "delete" -> Namespaces.delete(ns);
                    default -> throw new IllegalArgumentException("create or delete, not " + args[0]);
                }
                System.out.println("OK " + args[0] + " " + ns);
            } catch (RuntimeException e) {
                System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
    }
}
