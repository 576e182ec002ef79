package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Without NETBUF_ADMIN_PASSWORD and with no password file yet, the first start generates a password into the file
 * (0600 from its creation, in a 0700 directory it makes), logs only where it is, and stores only its bcrypt hash; later
 * starts read it; a deleted file is made anew with a new password.
 */
@ExtendWith(OutputCaptureExtension.class)
class AdminPasswordTest {

    private static final String GENERATED = "Generated the admin password";

    @RegisterExtension
    final AdminPasswordServer server = new AdminPasswordServer("admin");
    @TempDir
    Path dir;

    @Test
    void generatedIntoAFileOnlyItsOwnerReadsNeverLoggedStoredHashed(CapturedOutput output) throws Exception {
        Path file = dir.resolve("data").resolve("admin-password");
        String fileProperty = "netbuf-server.admin-password-file=" + file;
        String password;
        try (ConfigurableApplicationContext first = server.start(fileProperty)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())))
                    .isEqualTo("rwx------");
            password = Files.readString(file).strip();
            assertThat(password).matches("[A-Za-z0-9]{24}");
            assertThat(output.getAll()).contains(GENERATED + " into " + file).doesNotContain(password);
            Http admin = new Http(AdminPasswordServer.port(first)).basic("admin", password);
            Http.Response created = admin.post("/api/domains", "{\"name\":\"pw\",\"remus\":false,\"vifs\":1}");
            assertThat(created.status()).as(created.toString()).isEqualTo(201);
        }
        try (Connection db = DriverManager.getConnection(server.url());
             ResultSet rs = db.createStatement().executeQuery("SELECT username, password_hash FROM server_user")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("admin");
            assertThat(rs.getString(2)).startsWith("$2").doesNotContain(password);
            assertThat(rs.next()).isFalse();
        }
        try (ConfigurableApplicationContext second = server.start(fileProperty)) {
            assertThat(count(output.getAll())).as("not generated at the second start").isEqualTo(1);
            Http admin = new Http(AdminPasswordServer.port(second)).basic("admin", password);
            assertThat(admin.delete("/api/domains/pw").status()).isEqualTo(204);
        }
        Files.delete(file);
        try (ConfigurableApplicationContext third = server.start(fileProperty)) {
            String renewed = Files.readString(file).strip();
            assertThat(renewed).matches("[A-Za-z0-9]{24}").isNotEqualTo(password);
            assertThat(count(output.getAll())).isEqualTo(2);
            int port = AdminPasswordServer.port(third);
            String json = "{\"name\":\"pw3\",\"remus\":false,\"vifs\":1}";
            assertThat(new Http(port).basic("admin", password).post("/api/domains", json).status()).isEqualTo(401);
            assertThat(new Http(port).basic("admin", renewed).post("/api/domains", json).status()).isEqualTo(201);
            assertThat(new Http(port).basic("admin", renewed).delete("/api/domains/pw3").status()).isEqualTo(204);
            assertThat(output.getAll()).doesNotContain(password).doesNotContain(renewed);
        }
    }

    private static int count(String out) {
        return out.split(GENERATED, -1).length - 1;
    }
}
