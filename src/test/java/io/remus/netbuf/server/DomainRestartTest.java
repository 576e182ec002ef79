package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.netlink.KernelPlug;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The server restarted on the same database after going down without stopping its domains (host kernel, each
 * domain's devices in namespaces this test makes or watches): recorded states are brought in line with the kernel,
 * so that no stale RUNNING row wedges the next start.
 */
@ExtendWith(OutputCaptureExtension.class)
class DomainRestartTest {

    static final String PASSWORD = "restart-test-password";

    String ns;
    String url;
    final List<String> domainNamespaces = new ArrayList<>();

    @BeforeEach
    void setUp() {
        Ip.requireRoot();
        ns = Ip.createNamespace();
        url = "jdbc:h2:file:" + Path.of("target", "h2", "restart-" + System.nanoTime()).toAbsolutePath()
                + ";WRITE_DELAY=0";
    }

    @AfterEach
    void tearDown() {
        domainNamespaces.forEach(Ip::deleteNamespace);
        Ip.deleteNamespace(ns);
    }

    ConfigurableApplicationContext start() {
        return new SpringApplicationBuilder(NetbufServerApplication.class)
                .properties("server.port=0", "spring.datasource.url=" + url, "netbuf.namespace=" + Ip.namespaceFile(ns),
                        "NETBUF_ADMIN_PASSWORD=" + PASSWORD)
                .run();
    }

    Http admin(ConfigurableApplicationContext c) {
        return new Http(((WebServerApplicationContext) c).getWebServer().getPort()).basic("admin", PASSWORD);
    }

    String name(String prefix) {
        String name = prefix + Long.toString(ThreadLocalRandom.current().nextLong(1L << 30), 36);
        domainNamespaces.add("nbdom-" + name);
        return name;
    }

    static String state(Http admin, String name) {
        return admin.get("/api/domains/" + name).json().get("state").asText();
    }

    static String hostVif(Http admin, String name, int n) {
        return admin.get("/api/domains/" + name).json().get("hostVifs").get(n).asText();
    }

    @Test
    void staleRunningDomainsAreReconciledWithTheKernelAtStartup(CapturedOutput output) throws Exception {
        String gone = name("gone");       // namespace and vifs gone (a reboot, a halted UML guest)
        String partial = name("part");    // one of its two vifs gone
        String intact = name("kept");     // everything still there (only the server was restarted)
        String leftover = name("left");   // DEFINED, but its namespace is there (a start cut short)
        String remus = name("remus");     // a Remus domain recorded RUNNING, nothing of it in the kernel
        String goneVif;
        String partialVif0;
        String partialVif1;
        String intactVif;
        try (ConfigurableApplicationContext first = start()) {
            Http admin = admin(first);
            for (String[] d : new String[][] {{gone, "1"}, {partial, "2"}, {intact, "1"}, {leftover, "1"}}) {
                Http.Response r = admin.post("/api/domains", "{\"name\":\"" + d[0] + "\",\"remus\":false,\"vifs\":"
                        + d[1] + "}");
                assertThat(r.status()).as(r.toString()).isEqualTo(201);
            }
            for (String d : List.of(gone, partial, intact)) {
                Http.Response r = admin.post("/api/domains/" + d + "/start");
                assertThat(r.status()).as(r.toString()).isEqualTo(200);
            }
            assertThat(admin.post("/api/domains", "{\"name\":\"" + remus + "\",\"remus\":true,\"checkpoint\":true,"
                    + "\"vifs\":1}").status()).isEqualTo(201);
            goneVif = hostVif(admin, gone, 0);
            partialVif0 = hostVif(admin, partial, 0);
            partialVif1 = hostVif(admin, partial, 1);
            intactVif = hostVif(admin, intact, 0);
        } // closed without stopping the domains: their rows say RUNNING, their devices stay

        Ip.deleteNamespace("nbdom-" + gone); // its veth pairs go with it
        Ip.run("ip", "-n", ns, "link", "del", partialVif1);
        Ip.run("ip", "netns", "add", "nbdom-" + leftover);
        try (Connection db = DriverManager.getConnection(url)) {
            db.createStatement().executeUpdate("UPDATE server_domain SET state = 'RUNNING' WHERE name = '" + remus + "'");
        }
        assertThat(Ip.links(ns)).contains(partialVif0, intactVif).doesNotContain(goneVif, partialVif1);

        try (ConfigurableApplicationContext second = start()) {
            Http admin = admin(second);
            assertThat(state(admin, gone)).isEqualTo("DEFINED");
            assertThat(state(admin, partial)).isEqualTo("DEFINED");
            assertThat(Ip.links(ns)).as("what was left of " + partial).doesNotContain(partialVif0);
            assertThat(Ip.namespaceExists("nbdom-" + partial)).isFalse();
            assertThat(state(admin, intact)).isEqualTo("RUNNING");
            assertThat(Ip.links(ns)).contains(intactVif);
            assertThat(Ip.linksOfType("nbdom-" + intact, "veth")).containsExactly("eth0");
            assertThat(state(admin, leftover)).isEqualTo("DEFINED");
            assertThat(Ip.namespaceExists("nbdom-" + leftover)).as("leftover namespace removed").isFalse();
            assertThat(state(admin, remus)).isEqualTo("DEFINED");
            assertThat(output.getOut()).contains("domain " + gone + " was RUNNING, but namespace nbdom-" + gone
                    + ", vif " + goneVif + " are gone: removed what was left, now DEFINED");
            assertThat(output.getOut()).contains("domain " + intact + ": still running, kept RUNNING");

            // nothing wedged: each starts (or stops) as usual
            for (String d : List.of(gone, partial, leftover)) {
                Http.Response r = admin.post("/api/domains/" + d + "/start");
                assertThat(r.status()).as(d + ": " + r).isEqualTo(200);
                assertThat(Ip.namespaceExists("nbdom-" + d)).isTrue();
            }
            assertThat(Ip.links(ns)).contains(goneVif, partialVif0, partialVif1);
            Http.Response remusStart = admin.post("/api/domains/" + remus + "/start");
            if (KernelPlug.present()) {
                assertThat(remusStart.status()).as(remusStart.toString()).isEqualTo(200);
            } else {
                assertThat(remusStart.status()).as("no sch_plug on this kernel: " + remusStart).isEqualTo(500);
                assertThat(remusStart.json().get("detail").asText()).contains(KernelPlug.FIX);
            }
            for (String d : List.of(gone, partial, intact, leftover, remus)) {
                assertThat(admin.delete("/api/domains/" + d).status()).isEqualTo(204);
                assertThat(Ip.namespaceExists("nbdom-" + d)).isFalse();
            }
            assertThat(Ip.linksOfType(ns, "veth")).isEmpty();
        }
    }
}
