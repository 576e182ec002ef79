package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.uml.UserModeLinux;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The package installed into a throwaway root and its server started from the unit's own ExecStart= line, inside
 * user-mode-linux (where sch_plug exists): the page answers, a Remus domain is protected, and after a SIGKILL of the
 * server's JVM the unit's ExecStopPost= releases its plug (DebianPackageGuest does the guest's part). Runs at
 * integration-test with DebianPackageTest, after the package phase built the .deb.
 */
@Tag("deb-package")
class UmlDebianPackageTest {

    @Test
    void installedIntoAThrowawayRootTheUnitsLinesServeProtectAndRelease() throws Exception {
        UserModeLinux.requireInstalled();
        Path deb;
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("netbuf.deb.dir", "target")))) {
            deb = s.filter(p -> p.getFileName().toString().matches("remus-netbuf_.*_all\\.deb")).findFirst()
                    .orElseThrow(() -> new AssertionError("no remus-netbuf_*_all.deb: the package phase builds it"));
        }
        Path work = Path.of("target", "deb-uml").toAbsolutePath();
        Path root = work.resolve("root");
        DebianPackageTest.run("rm", "-rf", work.toString());
        Files.createDirectories(work);
        DebianPackageTest.Result x = DebianPackageTest.run("dpkg-deb", "-x", deb.toString(), root.toString());
        assertThat(x.status()).as(x.out()).isZero();
        DebianPackageTest.Result e = DebianPackageTest.run("dpkg-deb", "-e", deb.toString(),
                root.resolve("control").toString());
        assertThat(e.status()).as(e.out()).isZero();
        // what a system has in /etc besides the package's files: users, names, the loader's cache
        for (String f : List.of("passwd", "group", "hosts", "nsswitch.conf", "ld.so.cache")) {
            Files.copy(Path.of("/etc", f), root.resolve("etc").resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        Path log = work.resolve("server.log");
        UserModeLinux.Run run = UserModeLinux.runJava(work, DebianPackageGuest.class.getName(),
                List.of(root.toString(), log.toString()), List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"),
                Duration.ofMinutes(8));
        System.out.println(run.guestOutput());
        String serverLog = Files.exists(log) ? Files.readString(log) : "(no server log)";
        assertThat(run.guestOutput()).as("guest:\n%s\nserver log:\n%s\nconsole:\n%s", run.guestOutput(),
                tail(serverLog), run.tail()).contains("DEB_GUEST_OK");
        assertThat(run.guestExit()).isZero();
        assertThat(serverLog).as("the admin password is not in the server's log")
                .doesNotContain(Files.readString(root.resolve("etc/remus-netbuf/admin-password")).strip())
                .doesNotContain("Generated the admin password");
    }

    static String tail(String s) {
        List<String> lines = s.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }
}
