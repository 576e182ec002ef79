package io.remus.netbuf.bench;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The C baseline ({@code src/test/c/netbuf_bench.c}) as one long-lived process: each command line sent runs one
 * timed round in C and answers its nanoseconds. One process for the whole run means a C round costs no fork and
 * exec, and C and Java rounds can alternate as often as the statistics need.
 */
final class CBaseline implements AutoCloseable {

    private final Process process;
    private final BufferedWriter in;
    private final BufferedReader out;

    /** Starts {@code prefix... binary}, e.g. with {@code ip netns exec NS} in front. */
    CBaseline(Path binary, String... prefix) {
        this(binary, false, prefix);
    }

    /** With {@code idleThread}, the C process is multi-threaded (see the C file). */
    CBaseline(Path binary, boolean idleThread, String... prefix) {
        List<String> cmd = new ArrayList<>(Arrays.asList(prefix));
        cmd.add(binary.toString());
        if (idleThread) {
            cmd.add("--idle-thread");
        }
        try {
            process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the C baseline " + cmd, e);
        }
        in = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
        out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Runs one command (see the C file's header), returns the nanoseconds it took in C. */
    long run(String command) {
        try {
            in.write(command);
            in.newLine();
            in.flush();
            String answer = out.readLine();
            if (answer == null || answer.startsWith("error")) {
                throw new IllegalStateException("the C baseline failed on '" + command + "': " + answer);
            }
            return Long.parseLong(answer.strip());
        } catch (IOException e) {
            throw new UncheckedIOException("the C baseline died on '" + command + "'", e);
        }
    }

    @Override
    public void close() {
        try {
            in.close();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Compiles the C baseline into {@code work}; needs gcc and libnl's headers ({@code make bench} installs them). */
    static Path compile(Path work) {
        Path source = source();
        try {
            Files.createDirectories(work);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path binary = work.resolve("netbuf_bench");
        String flags = Bench.sh("pkg-config", "--cflags", "--libs", "libnl-route-3.0").strip();
        List<String> cmd = new ArrayList<>(List.of("gcc", "-O2", "-o", binary.toString(), source.toString()));
        cmd.addAll(Arrays.asList(flags.split("\\s+")));
        Bench.sh(cmd.toArray(String[]::new));
        return binary;
    }

    /** plugin/src/test/c/netbuf_bench.c, found from where this class was loaded (plugin/target/test-classes). */
    private static Path source() {
        try {
            Path classes = Path.of(CBaseline.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path source = classes.getParent().getParent().resolve("src/test/c/netbuf_bench.c");
            if (!Files.exists(source)) {
                throw new IllegalStateException("the C baseline's source is not at " + source);
            }
            return source;
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
