package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.netlink.KernelPlug;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The demo domain on the running kernel: with sch_plug it runs, its buffers plugged; without it, it is defined, its
 * start fails naming the fix, the server runs on, and nothing of it is left. (It runs checkpointing inside
 * user-mode-linux in {@code AdminPageBrowserTest}.) Off by default.
 */
@ExtendWith(OutputCaptureExtension.class)
@Tag("host-kernel")
class DemoDomainHostTest {

    String ns;
    String url;
    String demo;

    @BeforeEach
    void setUp() {
        Ip.requireRoot();
        ns = Ip.createNamespace();
        url = "jdbc:h2:file:" + Path.of("target", "h2", "demo-" + System.nanoTime()).toAbsolutePath() + ";WRITE_DELAY=0";
        demo = "demo" + Long.toString(System.nanoTime() % 1_000_000, 36);
    }

    @AfterEach
    void tearDown() {
        Ip.deleteNamespace("nbdom-" + demo);
        Ip.deleteNamespace(ns);
    }

    ConfigurableApplicationContext start(String... more) {
        return new SpringApplicationBuilder(NetbufServerApplication.class)
                .properties("server.port=0", "spring.datasource.url=" + url, "netbuf.namespace=" + Ip.namespaceFile(ns),
                        "NETBUF_ADMIN_PASSWORD=demo-test", "netbuf-server.demo.name=" + demo)
                .run(more); // as command-line arguments: they win over the packaged application.yml
    }

    @Test
    void offByDefault() {
        try (ConfigurableApplicationContext c = start()) {
            Http http = new Http(((WebServerApplicationContext) c).getWebServer().getPort());
            assertThat(http.get("/api/domains").json().size()).isZero();
        }
    }

    /** With sch_plug the demo runs, its buffers plugged; without it, it is defined, and its start fails naming the fix. */
    @Test
    void theDemoRunsPluggedWhereTheKernelHasSchPlugAndElseItsStartFailsNamingTheFix(CapturedOutput output) {
        try (ConfigurableApplicationContext c = start("--netbuf-server.demo.enabled=true", "--netbuf-server.demo.vifs=2",
                // a slow guest kernel (UmlServerAsHostTest) may stall the demo's loop for seconds while the server starts
                "--netbuf.checkpoint.ack-timeout=60s")) {
            Http http = new Http(((WebServerApplicationContext) c).getWebServer().getPort());
            Http.Response d = http.get("/api/domains/" + demo);
            assertThat(d.status()).as(d.toString()).isEqualTo(200);
            assertThat(d.json().get("remus").asBoolean()).isTrue();
            assertThat(d.json().get("checkpoint").asBoolean()).isTrue();
            assertThat(d.json().get("vifs").asInt()).isEqualTo(2);
            if (KernelPlug.present()) {
                assertThat(d.json().get("state").asText()).isEqualTo("RUNNING");
                assertThat(Ip.linksOfType(ns, "ifb")).hasSize(2);
                assertThat(http.get("/api/netbuf/buffers").json().findValuesAsText("state"))
                        .containsOnly("PLUGGED");
                return;
            }
            assertThat(d.json().get("state").asText()).isEqualTo("DEFINED");
            assertThat(output.getOut()).contains("demo domain " + demo + " could not start").contains(KernelPlug.FIX);
            assertThat(Ip.namespaceExists("nbdom-" + demo)).isFalse();
            assertThat(Ip.linksOfType(ns, "veth")).isEmpty();
            assertThat(Ip.linksOfType(ns, "ifb")).isEmpty();
            assertThat(http.get("/actuator/health").status()).as("the server runs on").isIn(200, 503);
        }
    }
}
