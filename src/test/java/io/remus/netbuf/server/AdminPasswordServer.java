package io.remus.netbuf.server;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The admin-password tests' server, started and stopped by the test itself (a start may be the thing tested): each
 * test gets its own network namespace and H2 file, which every start of that test shares.
 */
final class AdminPasswordServer implements BeforeEachCallback, AfterEachCallback {

    private final String name;
    private String ns;
    private String url;

    AdminPasswordServer(String name) {
        this.name = name;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Ip.requireRoot();
        ns = Ip.createNamespace();
        url = "jdbc:h2:file:" + Path.of("target", "h2", name + "-" + System.nanoTime()).toAbsolutePath()
                + ";WRITE_DELAY=0";
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (ns != null) {
            Ip.deleteNamespace(ns);
        }
    }

    /** The JDBC URL of this test's database. */
    String url() {
        return url;
    }

    /** Starts the server on a free port with these properties added ({@code name=value}). */
    ConfigurableApplicationContext start(String... properties) {
        List<String> all = new ArrayList<>(List.of("server.port=0", "spring.datasource.url=" + url,
                "netbuf.namespace=" + Ip.namespaceFile(ns)));
        all.addAll(List.of(properties));
        return new SpringApplicationBuilder(NetbufServerApplication.class).properties(all.toArray(String[]::new))
                .run();
    }

    static int port(ConfigurableApplicationContext c) {
        return ((WebServerApplicationContext) c).getWebServer().getPort();
    }
}
