package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The launcher (src/uml/run-server.sh) after a run of it was killed with SIGKILL: the next start in the same run
 * directory removes what the dead run left, as its state file names it (its forwarder, its guest if still up, its
 * network namespace with the tap), says so, and runs. The server is {@link StandInPage}, so each UML boot costs
 * seconds, not the server's start. The files of the run are its owner's only. Also the checks of the settings that
 * reach socat's EXEC address.
 */
class LauncherStaleRunTest {

    static final Duration BOOT = Duration.ofMinutes(3);

    @Test
    void aStartAfterAKilledLauncherRemovesItsForwarderAndNamespaceAndRuns() throws Exception {
        UmlServer dead = UmlServer.startStandIn("stale", UmlServer.newRunDir("stale"), StandInPage.class, BOOT);
        UmlServer next = null;
        try {
            dead.launcher.destroyForcibly(); // SIGKILL to the launcher alone: what it started stays
            assertThat(dead.launcher.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(Ip.namespaceExists(dead.netns)).as("the dead run's namespace is left").isTrue();
            assertThat(processesNaming(dead.netns)).as("the dead run's forwarder is left")
                    .anyMatch(c -> c.contains("socat TCP-LISTEN:" + dead.port));

            next = UmlServer.startStandIn("stale", dead.runDir, StandInPage.class, BOOT);
            String log = Files.readString(next.log);
            System.out.println("LauncherStaleRunTest: the next start answered after " + next.bootSeconds + " s");
            assertThat(log).contains("the last run in " + dead.runDir + " did not clean up", "killed its forwarder",
                    "deleted its network namespace " + dead.netns).doesNotContain("another run-server.sh");
            assertThat(Ip.namespaceExists(dead.netns)).isFalse();
            assertThat(processesNaming(dead.netns)).isEmpty();
            for (String file : List.of("console.log", "forward.log", "init.sh", "server.env", "run.state", "lock")) {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(next.runDir.resolve(file))))
                        .as("%s: its owner's only (the console holds the server's output)", file).endsWith("------");
            }

            assertThat(next.interrupt()).as(next.logTail()).isEqualTo(130);
            assertThat(Ip.namespaceExists(next.netns)).isFalse();
            assertThat(next.processesLeft()).isEmpty();
            assertThat(dead.runDir.resolve("run.state")).doesNotExist();
        } finally {
            if (next != null) {
                next.close();
            }
            for (ProcessHandle p : ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("")
                    .contains(dead.netns)).toList()) {
                p.destroyForcibly();
            }
            dead.close();
        }
    }

    @Test
    void aPortOrNamespaceNameThatCouldReachSocatsExecAddressIsRefused() throws Exception {
        for (Map<String, String> env : List.of(Map.of("NETBUF_PORT", "0"), Map.of("NETBUF_PORT", "65536"),
                Map.of("NETBUF_PORT", "80,fork"), Map.of("NETBUF_RUN_NETNS", "x; touch /tmp/owned"),
                Map.of("NETBUF_RUN_NETNS", ".."), Map.of("NETBUF_RUN_NETNS", ""))) {
            ProcessBuilder pb = new ProcessBuilder(UmlServer.launcherScript().toString(), "-version")
                    .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().putAll(env);
            pb.environment().put("NETBUF_RUN_IN", "uml");
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            String name = env.keySet().iterator().next();
            assertThat(p.exitValue()).as("%s: %s", env, out).isEqualTo(1);
            assertThat(out).as("%s", env).contains(name + " must be");
        }
    }

    private static List<String> processesNaming(String text) {
        return ProcessHandle.allProcesses().map(p -> p.info().commandLine().orElse(""))
                .filter(c -> c.contains(text)).toList();
    }
}
