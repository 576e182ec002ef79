package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * netbuf-server.admin-password-file, as the Debian package sets it (/etc/remus-netbuf/admin-password, written by its
 * postinst): the file's first line is the admin password, nothing is generated or logged, the stored hash follows the
 * file, and a file that exists but cannot be read, or is empty, stops the start (one that does not exist is made:
 * AdminPasswordTest).
 */
@ExtendWith(OutputCaptureExtension.class)
class AdminPasswordFileTest {

    @RegisterExtension
    final AdminPasswordServer server = new AdminPasswordServer("admin-file");
    @TempDir
    Path dir;

    ConfigurableApplicationContext start(Path passwordFile) {
        return server.start("netbuf-server.admin-password-file=" + passwordFile);
    }

    Path passwordFile(String content) throws Exception {
        Path file = dir.resolve("admin-password");
        Files.writeString(file, content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    @Test
    void theFilesFirstLineIsThePasswordNeverLoggedAndTheHashFollowsIt(CapturedOutput output) throws Exception {
        Path file = passwordFile("Fi1ePassw0rdOfTheTest24c\n");
        try (ConfigurableApplicationContext first = start(file)) {
            int port = AdminPasswordServer.port(first);
            Http.Response created = new Http(port).basic("admin", "Fi1ePassw0rdOfTheTest24c")
                    .post("/api/domains", "{\"name\":\"pwf\",\"remus\":false,\"vifs\":1}");
            assertThat(created.status()).as(created.toString()).isEqualTo(201);
            assertThat(new Http(port).basic("admin", "wrong").delete("/api/domains/pwf").status()).isEqualTo(401);
        }
        passwordFile("Sec0ndPasswordOfTheTest2\n");
        try (ConfigurableApplicationContext second = start(file)) {
            int port = AdminPasswordServer.port(second);
            assertThat(new Http(port).basic("admin", "Fi1ePassw0rdOfTheTest24c").delete("/api/domains/pwf").status())
                    .as("the old password no longer works").isEqualTo(401);
            assertThat(new Http(port).basic("admin", "Sec0ndPasswordOfTheTest2").delete("/api/domains/pwf").status())
                    .isEqualTo(204);
        }
        assertThat(output.getAll()).doesNotContain("Generated the admin password")
                .doesNotContain("Fi1ePassw0rdOfTheTest24c").doesNotContain("Sec0ndPasswordOfTheTest2");
    }

    @Test
    void aFileThatCannotBeReadOrIsEmptyStopsTheStart() throws Exception {
        Path unreadable = Files.createDirectory(dir.resolve("a-directory"));
        assertThatThrownBy(() -> start(unreadable).close())
                .hasStackTraceContaining("netbuf-server.admin-password-file=" + unreadable)
                .hasStackTraceContaining("cannot read the admin password");
        Path empty = passwordFile("\n");
        assertThatThrownBy(() -> start(empty).close())
                .hasStackTraceContaining("the file's first line is empty");
    }
}
