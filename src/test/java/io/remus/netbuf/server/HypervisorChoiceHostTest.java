package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * {@code netbuf-server.hypervisor} on this host, which is no Xen dom0: namespace by default; xen fails the start
 * naming xenstored and libxenstore4 (the real libxenstore is asked, and there is no xenstored to answer); anything
 * else fails naming the valid values. The xen mode itself runs in dom0 under QEMU (XenServerTest).
 */
class HypervisorChoiceHostTest {

    String ns;
    String url;

    @BeforeEach
    void setUp() {
        Ip.requireRoot();
        ns = Ip.createNamespace();
        url = "jdbc:h2:file:" + Path.of("target", "h2", "hypervisor-" + System.nanoTime()).toAbsolutePath()
                + ";WRITE_DELAY=0";
    }

    @AfterEach
    void tearDown() {
        Ip.deleteNamespace(ns);
    }

    ConfigurableApplicationContext start(String... more) {
        return new SpringApplicationBuilder(NetbufServerApplication.class)
                .properties("server.port=0", "spring.datasource.url=" + url, "netbuf.namespace=" + Ip.namespaceFile(ns),
                        "NETBUF_ADMIN_PASSWORD=hypervisor-test")
                .run(more);
    }

    @Test
    void namespaceByDefault() {
        try (ConfigurableApplicationContext c = start()) {
            Http http = new Http(((WebServerApplicationContext) c).getWebServer().getPort());
            assertThat(http.get("/api/hypervisor").json().get("hypervisor").asText()).isEqualTo("NAMESPACE");
            assertThat(http.get("/api/domains").status()).isEqualTo(200);
            assertThat(http.basic("admin", "hypervisor-test").get("/actuator/health").json().get("components")
                    .has("xen")).isFalse();
        }
    }

    @Test
    void xenOutsideADom0FailsTheStartNamingXenstoredAndLibxenstore4() {
        assertThat(Files.exists(Path.of("/dev/xen/xenbus")) || Files.exists(Path.of("/run/xenstored/socket")))
                .as("this test expects a host without xenstored").isFalse();
        assertThatThrownBy(() -> start("--netbuf-server.hypervisor=xen")).satisfies(e ->
                assertThat(messages(e)).contains("netbuf-server.hypervisor=xen needs a Xen dom0 with xenstored running"
                        + " and libxenstore (Debian package libxenstore4)").contains("xenstore open failed"));
    }

    @Test
    void anyOtherValueFailsTheStartNamingTheValidOnes() {
        assertThatThrownBy(() -> start("--netbuf-server.hypervisor=kvm")).satisfies(e ->
                assertThat(messages(e)).contains("netbuf-server.hypervisor must be namespace or xen, not 'kvm'"));
    }

    private static String messages(Throwable e) {
        List<String> all = new ArrayList<>();
        for (Throwable t = e; t != null; t = t.getCause()) {
            all.add(String.valueOf(t.getMessage()));
        }
        return String.join("\n", all);
    }
}
