package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/** Without NETBUF_ADMIN_PASSWORD, the first start generates one, logs it once and stores only its bcrypt hash. */
@ExtendWith(OutputCaptureExtension.class)
class AdminPasswordTest {

    private static final Pattern LOGGED = Pattern.compile("Generated the admin password.*: ([A-Za-z0-9]{24})\\s");

    String ns;
    String url;

    @BeforeEach
    void setUp() {
        Ip.requireRoot();
        ns = Ip.createNamespace();
        url = "jdbc:h2:file:" + Path.of("target", "h2", "admin-" + System.nanoTime()).toAbsolutePath()
                + ";WRITE_DELAY=0";
    }

    @AfterEach
    void tearDown() {
        Ip.deleteNamespace(ns);
    }

    ConfigurableApplicationContext start() {
        return new SpringApplicationBuilder(NetbufServerApplication.class)
                .properties("server.port=0", "spring.datasource.url=" + url,
                        "netbuf.namespace=" + Ip.namespaceFile(ns))
                .run();
    }

    static int port(ConfigurableApplicationContext c) {
        return ((WebServerApplicationContext) c).getWebServer().getPort();
    }

    @Test
    void generatedOnceLoggedOnceStoredHashed(CapturedOutput output) throws Exception {
        String password;
        try (ConfigurableApplicationContext first = start()) {
            Matcher m = LOGGED.matcher(output.getOut());
            assertThat(m.find()).as("the generated password is logged").isTrue();
            password = m.group(1);
            assertThat(m.find()).as("logged once").isFalse();
            Http admin = new Http(port(first)).basic("admin", password);
            Http.Response created = admin.post("/api/domains", "{\"name\":\"pw\",\"remus\":false,\"vifs\":1}");
            assertThat(created.status()).as(created.toString()).isEqualTo(201);
        }
        try (Connection db = DriverManager.getConnection(url);
             ResultSet rs = db.createStatement().executeQuery("SELECT username, password_hash FROM server_user")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("admin");
            assertThat(rs.getString(2)).startsWith("$2").doesNotContain(password);
            assertThat(rs.next()).isFalse();
        }
        int loggedBefore = count(output.getOut());
        try (ConfigurableApplicationContext second = start()) {
            assertThat(count(output.getOut())).as("not logged at the second start").isEqualTo(loggedBefore);
            Http admin = new Http(port(second)).basic("admin", password);
            assertThat(admin.delete("/api/domains/pw").status()).isEqualTo(204);
        }
    }

    private static int count(String out) {
        int n = 0;
        Matcher m = Pattern.compile("Generated the admin password").matcher(out);
        while (m.find()) {
            n++;
        }
        return n;
    }
}
