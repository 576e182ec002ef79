package io.remus.netbuf.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The test's observer and namespace maker: iproute2 run from test code, never the code under test. Each test
 * namespace has a random name; nothing here touches the root namespace's interfaces.
 */
final class Ip {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Ip() {
    }

    record Result(int exit, String out, String err) {
    }

    static Result tryRun(String... command) {
        try {
            Path err = Files.createTempFile("nbs", ".err");
            try {
                Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
                p.getOutputStream().close();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new AssertionError("timed out: " + String.join(" ", command));
                }
                return new Result(p.exitValue(), out, Files.readString(err));
            } finally {
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new AssertionError("cannot run " + command[0] + " (install iproute2)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static String run(String... command) {
        Result r = tryRun(command);
        if (r.exit() != 0) {
            throw new AssertionError(String.join(" ", command) + " exited " + r.exit() + ": " + r.err().strip());
        }
        return r.out();
    }

    /** A new network namespace with a random name; returns the name. */
    static String createNamespace() {
        String name = "nbs" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
        run("ip", "netns", "add", name);
        return name;
    }

    static void deleteNamespace(String name) {
        tryRun("ip", "netns", "del", name);
    }

    static boolean namespaceExists(String name) {
        return Files.exists(Path.of("/run/netns", name));
    }

    static Path namespaceFile(String name) {
        return Path.of("/run/netns", name);
    }

    /** {@code ip -n NS -j link show}: the interface names in the namespace, or empty if it does not exist. */
    static List<String> links(String namespace) {
        Result r = tryRun("ip", "-n", namespace, "-j", "link", "show");
        List<String> names = new ArrayList<>();
        if (r.exit() != 0) {
            return names;
        }
        parse(r.out()).forEach(l -> names.add(l.get("ifname").asText()));
        return names;
    }

    static List<String> linksOfType(String namespace, String type) {
        List<String> names = new ArrayList<>();
        parse(run("ip", "-n", namespace, "-j", "link", "show", "type", type))
                .forEach(l -> names.add(l.get("ifname").asText()));
        return names;
    }

    static JsonNode link(String namespace, String dev) {
        return parse(run("ip", "-n", namespace, "-j", "link", "show", "dev", dev)).get(0);
    }

    static JsonNode qdiscs(String namespace, String dev) {
        return parse(run("tc", "-n", namespace, "-j", "qdisc", "show", "dev", dev));
    }

    static JsonNode parse(String json) {
        try {
            return JSON.readTree(json.isBlank() ? "[]" : json);
        } catch (IOException e) {
            throw new AssertionError("unparseable JSON from ip: " + json, e);
        }
    }

    static void requireRoot() {
        try {
            String uid = Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:")).findFirst().orElse("Uid: ?").split("\\s+")[1];
            if (!uid.equals("0")) {
                throw new AssertionError("kernel tests need root (to create network namespaces); uid " + uid);
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
