package io.remus.netbuf.netlink;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the kernel's own tools (ip, tc) from test code: the observer that is not the code under test. */
public final class Sh {

    private Sh() {
    }

    public record Result(int exit, String out, String err) {
        public boolean ok() {
            return exit == 0;
        }
    }

    public static Result tryRun(List<String> command) {
        try {
            Path err = Files.createTempFile("nbt", ".err");
            try {
                Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
                p.getOutputStream().close();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    fail("timed out after 60 s: " + String.join(" ", command));
                }
                return new Result(p.exitValue(), out, Files.readString(err));
            } finally {
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new AssertionError("cannot run " + command.getFirst() + " (install iproute2): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    public static Result tryRun(String... command) {
        return tryRun(List.of(command));
    }

    public static String run(String... command) {
        Result r = tryRun(command);
        if (!r.ok()) {
            fail(String.join(" ", command) + " exited " + r.exit() + ": " + r.err().strip());
        }
        return r.out();
    }

    /** Kernel tests need root: creating namespaces and changing tc state needs CAP_SYS_ADMIN and CAP_NET_ADMIN. */
    public static void requireRoot() {
        try {
            String uid = Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:")).findFirst().orElse("Uid: ?").split("\\s+")[1];
            if (!uid.equals("0")) {
                fail("kernel tests need root (CAP_NET_ADMIN and CAP_SYS_ADMIN to create network namespaces);"
                        + " this JVM runs as uid " + uid + ": run make test as root");
            }
        } catch (IOException e) {
            throw new AssertionError("cannot read /proc/self/status", e);
        }
    }
}
