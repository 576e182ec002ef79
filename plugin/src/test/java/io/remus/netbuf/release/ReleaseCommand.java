package io.remus.netbuf.release;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.spi.ToolProvider;

/**
 * The release command as the launcher runs it: {@code src/uml/release-held-output.sh}, a child JVM with the script's
 * own flags. The plugin's jar is not packaged yet when the plugin's tests run, so its compiled classes are put in a
 * jar of their own under {@code target/} (the script's class-data sharing archive needs a jar; a directory on the
 * class path turns sharing off).
 */
final class ReleaseCommand {

    record Result(int exit, String output) {
    }

    private static Path jar;

    private ReleaseCommand() {
    }

    /** The repository's root: the plugin's classes are in {@code plugin/target/classes}. */
    static Path repo() {
        return classes().getParent().getParent().getParent();
    }

    static Path script(String name) {
        Path script = repo().resolve("src/uml").resolve(name);
        assertThat(script).as("the launcher's scripts").isExecutable();
        return script;
    }

    /** The environment the scripts need to run the command from this build: this JDK, the jar of these classes. */
    static void environment(Map<String, String> env) {
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("NETBUF_PLUGIN_JAR", jar().toString());
    }

    /** Runs the command with {@code args}; fails if it has not exited within a minute. */
    static Result run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(script("release-held-output.sh").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        environment(pb.environment());
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(1, TimeUnit.MINUTES)).as("the release command exited within a minute").isTrue();
        System.out.print(output);
        return new Result(p.exitValue(), output);
    }

    static synchronized Path jar() {
        if (jar == null) {
            Path classes = classes();
            jar = classes.resolveSibling("release-test").resolve("netbuf-plugin-release-test.jar");
            StringWriter errors = new StringWriter();
            try {
                Files.createDirectories(jar.getParent());
                Files.deleteIfExists(jar);
            } catch (IOException e) {
                throw new AssertionError("cannot make " + jar.getParent(), e);
            }
            int rc = ToolProvider.findFirst("jar").orElseThrow().run(new PrintWriter(System.out),
                    new PrintWriter(errors), "--create", "--file", jar.toString(), "-C", classes.toString(), ".");
            assertThat(rc).as("jar of %s: %s", classes, errors).isZero();
        }
        return jar;
    }

    private static Path classes() {
        try {
            return Path.of(ReleaseHeldOutput.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }
}
