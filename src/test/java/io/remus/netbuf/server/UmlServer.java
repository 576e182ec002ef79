package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The real server inside user-mode-linux (PLUGGED needs sch_plug, which this host lacks), started by the same
 * launcher as {@code make run} (src/uml/run-server.sh) on a free port, with its own network namespace, H2 file and
 * run directory under {@code target/}. {@link #close} stops it as Ctrl-C would, if it still runs, and removes the
 * namespace.
 */
final class UmlServer implements AutoCloseable {

    static final Path UML = Path.of("/usr/bin/linux.uml");

    final Path runDir;
    final String netns;
    final String dbUrl;
    final int port;
    final Path log;
    final Process launcher;
    final long bootSeconds;

    /**
     * Starts the server's main class from this test class path: {@code jvmOptions} go before it (the launcher adds
     * its own), {@code serverArgs} after it. Returns once the server answers on 127.0.0.1:{@link #port}.
     */
    static UmlServer start(String prefix, String password, Duration boot, List<String> jvmOptions,
                           List<String> serverArgs) throws Exception {
        Path runDir = newRunDir(prefix);
        List<String> javaArgs = new ArrayList<>(jvmOptions);
        javaArgs.addAll(List.of("-cp", classPath(), NetbufServerApplication.class.getName(),
                "--spring.datasource.url=" + dbUrl(runDir)));
        javaArgs.addAll(serverArgs);
        return start(prefix, runDir, password, boot, javaArgs);
    }

    /**
     * Starts {@code mainClass} from this test class path in place of the server, in {@code runDir}: for tests of the
     * launcher itself, with a stand-in that starts faster than Spring Boot. It must answer {@code GET /} with 200 on
     * the launcher's {@code --server.address} and {@code --server.port}.
     */
    static UmlServer startStandIn(String prefix, Path runDir, Class<?> mainClass, Duration boot) throws Exception {
        return start(prefix, runDir, "unused", boot, List.of("-cp", classPath(), mainClass.getName()));
    }

    static Path newRunDir(String prefix) throws IOException {
        String id = Long.toString(ThreadLocalRandom.current().nextLong(1L << 30), 36);
        return Files.createDirectories(Path.of("target", prefix + "-uml-" + id).toAbsolutePath());
    }

    private static String dbUrl(Path runDir) {
        return "jdbc:h2:file:" + runDir.resolve("netbuf") + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE";
    }

    private static UmlServer start(String prefix, Path runDir, String password, Duration boot, List<String> javaArgs)
            throws Exception {
        Ip.requireRoot();
        requireFile(UML, "apt-get install user-mode-linux (make test installs it)");
        requireFile(Path.of("/usr/bin/socat"), "apt-get install socat (make test installs it)");
        return new UmlServer(prefix, runDir, password, boot, javaArgs);
    }

    private UmlServer(String prefix, Path runDir, String password, Duration boot, List<String> javaArgs)
            throws Exception {
        this.runDir = runDir;
        netns = "nb" + prefix.substring(0, Math.min(3, prefix.length()))
                + Long.toString(ThreadLocalRandom.current().nextLong(1L << 30), 36);
        dbUrl = dbUrl(runDir);
        port = freePort();
        log = runDir.resolve("launcher-" + netns + ".log");

        // env --default-signal=INT: a launcher that inherits SIGINT ignored (a JVM started in the background) could
        // not trap it, and SIGINT is what Ctrl-C sends
        List<String> command = new ArrayList<>(List.of("env", "--default-signal=INT", launcherScript().toString()));
        command.addAll(javaArgs);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("NETBUF_RUN_IN", "uml");
        pb.environment().put("NETBUF_PORT", String.valueOf(port));
        pb.environment().put("NETBUF_RUN_DIR", runDir.toString());
        pb.environment().put("NETBUF_RUN_NETNS", netns);
        pb.environment().put("NETBUF_UML_BOOT_TIMEOUT", String.valueOf(boot.toSeconds()));
        pb.environment().put("NETBUF_ADMIN_PASSWORD", password);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        long started = System.nanoTime();
        launcher = pb.start();
        try {
            awaitReady(boot);
        } catch (Exception | AssertionError e) {
            close();
            throw e;
        }
        bootSeconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
    }

    private void awaitReady(Duration boot) throws Exception {
        long deadline = System.nanoTime() + boot.plusMinutes(1).toNanos();
        while (System.nanoTime() < deadline) {
            String text = Files.exists(log) ? Files.readString(log) : "";
            if (text.contains("NETBUF_RUN_READY")) {
                return;
            }
            if (!launcher.isAlive()) {
                throw new AssertionError("the launcher exited " + launcher.exitValue()
                        + " before the server answered\n" + logTail());
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the server in user-mode-linux did not answer within " + boot + "\n" + logTail());
    }

    /** SIGINT to the launcher, as Ctrl-C: returns its exit status, or fails if it has not exited within 2 minutes. */
    int interrupt() throws InterruptedException {
        signal("INT", launcher.pid());
        assertThat(launcher.waitFor(2, TimeUnit.MINUTES)).as("launcher stopped within 2 min\n" + logTail()).isTrue();
        return launcher.exitValue();
    }

    /**
     * SIGKILL to the launcher and everything it started (UML, the forwarder), then the namespace goes: for a run
     * whose state is thrown away, where stopping every domain cleanly would take minutes. Everything the server
     * made in a kernel was in the guest's.
     */
    void kill() throws InterruptedException {
        launcher.descendants().forEach(ProcessHandle::destroyForcibly);
        launcher.destroyForcibly();
        launcher.waitFor(30, TimeUnit.SECONDS);
        // UML forks its processes all the time: one forked after the snapshot of descendants outlives its parent
        for (int i = 0; i < 10; i++) {
            List<ProcessHandle> stray = ProcessHandle.allProcesses().filter(this::ofThisRun).toList();
            if (stray.isEmpty()) {
                break;
            }
            stray.forEach(ProcessHandle::destroyForcibly);
            Thread.sleep(200);
        }
        if (Ip.namespaceExists(netns)) {
            Ip.deleteNamespace(netns);
        }
        List<String> left = processesLeft();
        if (!left.isEmpty()) {
            throw new IllegalStateException("processes of the killed server's run are left: " + left);
        }
    }

    @Override
    public void close() throws Exception {
        if (launcher.isAlive()) {
            signal("INT", launcher.pid());
            if (!launcher.waitFor(2, TimeUnit.MINUTES)) {
                launcher.descendants().forEach(ProcessHandle::destroyForcibly);
                launcher.destroyForcibly();
            }
        }
        if (Ip.namespaceExists(netns)) {
            Ip.deleteNamespace(netns);
        }
    }

    String logTail() {
        try {
            List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
            return "--- launcher and guest console (tail; all in " + log + ") ---\n"
                    + String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        } catch (IOException e) {
            return "(no launcher log: " + e + ")";
        }
    }

    /**
     * Host processes whose command line names this run's directory or namespace (UML, socat, tail, chromium) still
     * there after up to 10 s: the last ones may take a moment to exit.
     */
    List<String> processesLeft() throws InterruptedException {
        List<String> left = processesOfThisRun();
        for (int i = 0; i < 50 && !left.isEmpty(); i++) {
            Thread.sleep(200);
            left = processesOfThisRun();
        }
        return left;
    }

    private List<String> processesOfThisRun() {
        return ProcessHandle.allProcesses().filter(this::ofThisRun).map(p -> p.info().commandLine().orElse(""))
                .collect(Collectors.toList());
    }

    private boolean ofThisRun(ProcessHandle p) {
        String c = p.info().commandLine().orElse("");
        return c.contains(runDir.toString()) || c.contains(netns);
    }

    static Path launcherScript() {
        // the tests run in the server module's directory, src/
        Path script = Path.of("uml", "run-server.sh").toAbsolutePath();
        if (!Files.isExecutable(script)) {
            throw new AssertionError("the launcher " + script + " is missing or not executable");
        }
        return script;
    }

    static String classPath() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return Stream.of(cp.split(File.pathSeparator)).filter(e -> !e.isBlank())
                .map(e -> Path.of(e).toAbsolutePath().toString()).collect(Collectors.joining(File.pathSeparator));
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void signal(String signal, long pid) {
        Ip.run("kill", "-" + signal, String.valueOf(pid));
    }

    static void requireFile(Path p, String fix) {
        if (!Files.isExecutable(p)) {
            throw new AssertionError(p + " is missing: " + fix);
        }
    }
}
