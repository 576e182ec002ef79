package io.remus.netbuf.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.xen.XenUnderQemu;
import java.nio.file.Path;
import java.util.Optional;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The real server in Xen's dom0 as the xl remus tests ({@link XlRemusFailoverDom0Test},
 * {@link XlRemusGuestViewDom0Test}) run it: on a database of its own with a 30 s ack deadline, with an admin and an
 * anonymous client, and the domU's row of {@code /api/domains}.
 */
final class XlRemusDom0Server implements AutoCloseable {

    static final String DOMU = XenUnderQemu.DOMU_NAME;

    final ConfigurableApplicationContext context;
    final Http admin;
    final Http anonymous;

    private XlRemusDom0Server(ConfigurableApplicationContext context, Http admin, Http anonymous) {
        this.context = context;
        this.admin = admin;
        this.anonymous = anonymous;
    }

    static XlRemusDom0Server start(Path database, String password) {
        ConfigurableApplicationContext c = XenServerDom0Test.startXenServer(database, password,
                "--netbuf.checkpoint.ack-timeout=30s");
        int port = c.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
        return new XlRemusDom0Server(c, new Http(port).basic("admin", password), new Http(port));
    }

    /** {@code xl domid}: the domU's domain id now (its backup's after a failover). */
    static int domid() {
        return Integer.parseInt(Sh.run("xl", "domid", DOMU).strip());
    }

    /** The domU's row of {@code GET /api/domains}, or empty while it is not listed. */
    Optional<JsonNode> domain() {
        for (JsonNode d : anonymous.get("/api/domains").json()) {
            if (d.get("name").asText().equals(DOMU)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    <T> T bean(Class<T> type) {
        return context.getBean(type);
    }

    @Override
    public void close() {
        context.close();
    }
}
