package io.remus.netbuf.server;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs inside user-mode-linux as the guest's only job (UmlDebianPackageTest): the package unpacked into a throwaway
 * root ROOT (dpkg-deb -x, its control files in ROOT/control), made runnable with bind mounts of this machine's
 * programs and libraries, its postinst run by hand in a chroot, then the server started in the chroot from the
 * unit's own ExecStart= line with the unit's Environment=, WorkingDirectory=, UMask=, StateDirectory= and
 * CacheDirectory=. The page answers; a Remus
 * domain is started and protected (its buffer PLUGGED); the server's JVM is killed with SIGKILL, as in a crash, and
 * the unit's ExecStopPost= line, run as systemd would, releases the plug. Started again (Restart=on-failure), the
 * server protects the domain anew; SIGTERM (systemctl stop) ends it with 143, and ExecStopPost runs again. Prints a line per step; exits 0 when all
 * held, 1 naming the first that did not.
 *
 * <p>Two settings are the test's own, as environment: {@code NETBUF_SERVER_HYPERVISOR=namespace} (the package's
 * configuration says xen; there is no Xen here) and {@code JAVA_TOOL_OPTIONS} with C1 and the serial collector (the
 * guest has one slow CPU, as make run's), plus the guest's own (AVX-512 off on a host that has it).
 */
public final class DebianPackageGuest {

    static final Duration BOOT = Duration.ofSeconds(300);

    private DebianPackageGuest() {
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]).toAbsolutePath();
        Path log = Path.of(args[1]).toAbsolutePath();
        try {
            run(root, log);
            System.out.println("DEB_GUEST_OK");
            System.exit(0);
        } catch (Throwable t) {
            System.out.println("DEB_GUEST_FAILED " + t);
            t.printStackTrace(System.out);
            System.exit(1);
        }
    }

    static void run(Path root, Path log) throws Exception {
        // the throwaway root: the package's files, this machine's programs and libraries (Debian 12 is usr-merged)
        for (String d : List.of("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "lib/x86_64-linux-gnu", "proc", "sys",
                "dev", "run", "tmp", "var/lib", "var/cache", "root")) {
            Files.createDirectories(root.resolve(d));
        }
        for (String l : List.of("bin", "sbin", "lib64")) {
            Files.deleteIfExists(root.resolve(l));
            Files.createSymbolicLink(root.resolve(l), Path.of("usr", l));
        }
        for (String d : List.of("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "dev")) {
            sh("mount --bind /" + d + " " + root.resolve(d));
        }
        sh("mount --bind /usr/lib/x86_64-linux-gnu " + root.resolve("lib/x86_64-linux-gnu"));
        sh("mount -t proc proc " + root.resolve("proc"));
        sh("mount -t sysfs sysfs " + root.resolve("sys"));
        sh("mount -t tmpfs tmpfs " + root.resolve("run") + " && mkdir " + root.resolve("run/netns"));
        sh("mount -t tmpfs tmpfs " + root.resolve("tmp"));
        step("throwaway root ready: " + root);

        // postinst, as dpkg runs it at a first install
        String postinst = sh("chroot " + root + " /bin/sh /control/postinst configure");
        step("postinst configure: " + postinst.strip().replace('\n', ' '));
        Path passwordFile = root.resolve("etc/remus-netbuf/admin-password");
        String perms = PosixFilePermissions.toString(Files.getPosixFilePermissions(passwordFile));
        String password = Files.readString(passwordFile).strip();
        check(perms.equals("rw-------"), "admin-password is rw------- (" + perms + ")");
        check(password.matches("[A-Za-z0-9]{24}"), "admin-password holds 24 characters");
        check(!postinst.contains(password), "postinst does not print the password");
        String dataPerms = PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve(
                "var/lib/remus-netbuf")));
        check(dataPerms.equals("rwx------"), "/var/lib/remus-netbuf is rwx------ (" + dataPerms + ")");

        // the unit's lines
        List<String> unit = Files.readAllLines(root.resolve("lib/systemd/system/remus-netbuf.service"));
        List<String> env = new ArrayList<>(List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8", "NETBUF_SERVER_HYPERVISOR=namespace",
                "JAVA_TOOL_OPTIONS=-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData "
                        + System.getenv().getOrDefault("JAVA_TOOL_OPTIONS", "")));
        for (String line : unit) {
            if (line.startsWith("Environment=")) {
                env.add(line.substring("Environment=".length()));
            }
        }
        String execStart = value(unit, "ExecStart");
        String execStopPost = value(unit, "ExecStopPost");
        String workingDirectory = value(unit, "WorkingDirectory");
        String umask = value(unit, "UMask");
        // what systemd makes before it starts the service: StateDirectory= and CacheDirectory=, with their modes
        for (String[] d : List.of(new String[] {"StateDirectory", "var/lib"}, new String[] {"CacheDirectory",
                "var/cache"})) {
            Path dir = root.resolve(d[1]).resolve(value(unit, d[0]));
            Files.createDirectories(dir);
            sh("chmod " + value(unit, d[0] + "Mode") + " " + dir);
        }
        check(!execStart.contains("\"") && !execStart.contains("'") && !execStart.contains("$"),
                "ExecStart= needs no quoting or expansion: its words are split on spaces");
        step("ExecStart=" + execStart);

        List<String> start = chrootCommand(root, env, umask, workingDirectory, execStart);
        Process server = new ProcessBuilder(start).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        awaitPage(http, server, log);

        String auth = "Basic " + Base64.getEncoder().encodeToString(("admin:" + password).getBytes(
                StandardCharsets.UTF_8));
        String created = request(http, auth, "POST", "/api/domains",
                "{\"name\":\"pkg\",\"remus\":true,\"checkpoint\":true,\"vifs\":1}", 201);
        step("defined: " + created);
        String started = request(http, auth, "POST", "/api/domains/pkg/start", "", 200);
        step("started: " + started);
        String protection = awaitProtected(http);
        step("protected: " + protection);

        // a crash: SIGKILL of the JVM (the ExecStart's java wrapper exec'd it: same PID), then what systemd runs
        sh("kill -KILL " + server.pid());
        server.waitFor(30, TimeUnit.SECONDS);
        step("the server's JVM killed with SIGKILL (status " + server.exitValue() + ")");
        String released = exec(chrootCommand(root, env, umask, "/", execStopPost));
        check(released.contains("released 1 of 1 plug qdiscs"), "ExecStopPost released the plug: " + released);
        step("ExecStopPost: " + released.strip().replace('\n', ' '));

        // Restart=on-failure starts it again: the domain is protected anew; then systemctl stop: SIGTERM, the JVM's
        // 143 (SuccessExitStatus=), and ExecStopPost again
        check(unit.contains("Restart=on-failure") && unit.contains("SuccessExitStatus=143"),
                "the unit restarts on failure and takes 143 as success");
        server = new ProcessBuilder(start).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        awaitPage(http, server, log);
        protection = awaitProtected(http);
        step("restarted, protected again: " + protection);
        sh("kill -TERM " + server.pid());
        check(server.waitFor(120, TimeUnit.SECONDS), "the server stops within TimeoutStopSec=120s");
        check(server.exitValue() == 143, "the JVM exits 143 on SIGTERM (" + server.exitValue() + ")");
        released = exec(chrootCommand(root, env, umask, "/", execStopPost));
        step("stopped (status 143); ExecStopPost: " + released.strip().replace('\n', ' '));
    }

    static void awaitPage(HttpClient http, Process server, Path log) throws Exception {
        long t0 = System.nanoTime();
        int status = -1;
        while (System.nanoTime() - t0 < BOOT.toNanos()) {
            check(server.isAlive(), "the server runs (log: " + log + ")");
            try {
                status = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:8080/")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode();
                if (status == 200) {
                    break;
                }
            } catch (IOException e) {
                // not yet
            }
            Thread.sleep(1000);
        }
        check(status == 200, "the page answers on 127.0.0.1:8080 (status " + status + ")");
        step("the page answers after " + (System.nanoTime() - t0) / 1_000_000_000 + " s");
    }

    static String awaitProtected(HttpClient http) throws Exception {
        String protection = "";
        String buffers = "";
        for (int i = 0; i < 60; i++) {
            protection = request(http, null, "GET", "/api/netbuf/domains/pkg", null, 200);
            buffers = request(http, null, "GET", "/api/netbuf/buffers", null, 200);
            if (protection.contains("\"PROTECTED\"") && buffers.contains("\"PLUGGED\"")
                    && !protection.contains("\"lastCheckpoint\":null")) {
                break;
            }
            Thread.sleep(500);
        }
        check(protection.contains("\"state\":\"PROTECTED\""), "domain pkg is PROTECTED: " + protection);
        check(!protection.contains("\"lastCheckpoint\":null"), "and checkpointed: " + protection);
        check(buffers.contains("\"PLUGGED\""), "its buffer is PLUGGED: " + buffers);
        return protection;
    }

    /** chroot ROOT env -i ENV... sh -c 'umask U; cd DIR && exec "$@"' sh WORDS..., as systemd would run the line. */
    static List<String> chrootCommand(Path root, List<String> env, String umask, String dir, String line) {
        List<String> c = new ArrayList<>(List.of("chroot", root.toString(), "/usr/bin/env", "-i"));
        c.addAll(env);
        c.addAll(List.of("/bin/sh", "-c", "umask " + umask + " && cd " + dir + " && exec \"$@\"", "sh"));
        c.addAll(List.of(line.strip().split("\\s+")));
        return c;
    }

    static String value(List<String> unit, String key) {
        return unit.stream().filter(l -> l.startsWith(key + "=")).map(l -> l.substring(key.length() + 1))
                .findFirst().orElseThrow(() -> new AssertionError("the unit has no " + key + "="));
    }

    static String request(HttpClient http, String auth, String method, String path, String body, int expected)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:8080" + path))
                .timeout(Duration.ofSeconds(60));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        if (body != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        check(r.statusCode() == expected, method + " " + path + " answers " + expected + ": " + r.statusCode() + " "
                + r.body());
        return r.body();
    }

    static String sh(String command) throws Exception {
        return exec(List.of("/bin/sh", "-c", command));
    }

    static String exec(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        check(p.waitFor() == 0, command + " exits 0: " + out);
        return out;
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static void step(String what) {
        System.out.println("DEB_GUEST " + what);
    }
}
