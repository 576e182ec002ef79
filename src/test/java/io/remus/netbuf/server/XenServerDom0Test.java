package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.xen.Dom0Kernel;
import io.remus.netbuf.xen.XenDom0Run;
import io.remus.netbuf.xen.XenUnderQemu;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * In Xen's dom0 (XenServerTest boots it, with one PVH domU): the real server with {@code
 * netbuf-server.hypervisor=xen}, over its REST API, against Xen's own domains. The steps build on each other (one
 * domU, destroyed and created again with xl), so they run in order; the observer is {@code tc -j} and {@code ip -j}.
 */
@Tag(XenDom0Run.TAG)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class XenServerDom0Test {

    static final String PASSWORD = "xen-server-test-password";
    static final String DOMU = XenUnderQemu.DOMU_NAME;
    static final Duration APPEAR = Duration.ofSeconds(180);

    final Path database = Path.of(System.getProperty("java.io.tmpdir"), "xen-server-" + System.nanoTime());
    ConfigurableApplicationContext server;
    int port;
    Http admin;
    Http anonymous;
    List<String> ifbsBefore;
    int domid;

    @BeforeAll
    void startServer() {
        ifbsBefore = Dom0Kernel.ifbs(); // the ifb module makes ifb0 and ifb1 when it loads: not the server's
        domid = Integer.parseInt(Sh.run("xl", "domid", DOMU).strip());
        start();
    }

    @AfterAll
    void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    void start() {
        server = startXenServer(database, PASSWORD);
        port = server.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
        admin = new Http(port).basic("admin", PASSWORD);
        anonymous = new Http(port);
    }

    /** The real server in dom0 with {@code netbuf-server.hypervisor=xen}, an H2 file database, a free port. */
    static ConfigurableApplicationContext startXenServer(Path database, String password, String... more) {
        long t0 = System.nanoTime();
        List<String> args = new ArrayList<>(List.of("--netbuf-server.hypervisor=xen", "--server.port=0",
                "--NETBUF_ADMIN_PASSWORD=" + password, "--spring.datasource.url=jdbc:h2:file:" + database
                        + ";WRITE_DELAY=0"));
        args.addAll(List.of(more));
        ConfigurableApplicationContext c = new SpringApplicationBuilder(NetbufServerApplication.class)
                .run(args.toArray(String[]::new));
        System.out.printf("[xen-server] started in %.1f s on port %s%n", (System.nanoTime() - t0) / 1e9,
                c.getEnvironment().getProperty("local.server.port"));
        return c;
    }

    @Test
    @Order(1)
    void listsTheDomUWithItsDomidAndConnectedVif() {
        assertThat(anonymous.get("/api/hypervisor").json().get("hypervisor").asText()).isEqualTo("XEN");
        JsonNode d = domain().orElseThrow(() -> new AssertionError("no " + DOMU + " in " + list()));
        System.out.println("[xen-server] GET /api/domains: " + list());
        assertThat(d.get("domid").asInt()).isEqualTo(domid);
        assertThat(d.get("state").asText()).isEqualTo("CONNECTED");
        assertThat(d.get("vifs")).hasSize(1);
        assertThat(d.get("vifs").get(0).get("name").asText()).isEqualTo(vif());
        assertThat(d.get("vifs").get(0).get("hotplugStatus").asText()).isEqualTo("connected");
        assertThat(d.get("remus").asBoolean()).isFalse();
        assertThat(d.get("buffered").asBoolean()).isFalse();
        assertThat(Dom0Kernel.qdiscKinds(vif())).as("an unmarked domain's vif").doesNotContain("ingress");
        JsonNode xen = admin.get("/actuator/health").json().get("components").get("xen");
        assertThat(xen.get("status").asText()).as(xen.toString()).isEqualTo("UP");
        assertThat(xen.get("details").get("xenstored").asText()).isEqualTo("connected");
    }

    @Test
    @Order(2)
    void badInputIsRefusedAndXlKeepsTheLifecycle() {
        expect(admin.put("/api/domains/bad%20name/remus", ""), 400, "domain name must be 1 to 64 characters");
        expect(admin.put("/api/domains/-x/remus", ""), 400, "starting with a letter or digit");
        expect(admin.put("/api/domains/" + "a".repeat(65) + "/remus", ""), 400, "1 to 64");
        expect(anonymous.put("/api/domains/" + DOMU + "/remus", ""), 401, "admin role");
        expect(admin.delete("/api/domains/" + DOMU + "/remus"), 404, "not marked for Remus");
        expect(admin.get("/api/domains/no-such-domain"), 404, "no domain named no-such-domain");
        expect(admin.post("/api/domains", "{\"name\":\"x\",\"remus\":true,\"vifs\":1}"), 409, "with xl");
        Http.Response start = admin.post("/api/domains/" + DOMU + "/start");
        System.out.println("[xen-server] POST /api/domains/" + DOMU + "/start: " + start);
        expect(start, 409, "with xl");
        expect(admin.post("/api/domains/" + DOMU + "/stop"), 409, "with xl");
        expect(admin.delete("/api/domains/" + DOMU), 409, "with xl");
        expect(admin.post("/api/netbuf/domains/" + DOMU + "/epochs"), 409, "has no buffered vif");
        assertThat(domain().orElseThrow().get("remus").asBoolean()).as("nothing marked").isFalse();
        assertThat(Dom0Kernel.qdiscKinds(vif())).doesNotContain("ingress");
        assertThat(Sh.run("xl", "list")).as("the domU runs on").contains(DOMU);
    }

    @Test
    @Order(3)
    void markingTheRunningDomUInstallsItsBuffersAndFollowsXlRemus() {
        Http.Response marked = admin.put("/api/domains/" + DOMU + "/remus", "");
        System.out.println("[xen-server] PUT /api/domains/" + DOMU + "/remus: " + marked);
        assertThat(marked.status()).as(marked.toString()).isEqualTo(200);
        assertThat(marked.json().get("remus").asBoolean()).isTrue();
        assertThat(marked.json().get("buffered").asBoolean()).as(marked.toString()).isTrue();
        assertBuffered(vif());
        JsonNode protection = anonymous.get("/api/netbuf/domains/" + DOMU).json();
        assertThat(protection.get("driver").asText()).isEqualTo("XL_REMUS");
        assertThat(protection.get("state").asText()).isEqualTo("PROTECTED");
        assertThat(protection.get("openEpoch").asLong()).as("no checkpoint yet: output passes").isZero();
        JsonNode followed = marked.json().get("xlRemus");
        assertThat(followed.get("domid").asInt()).isEqualTo(domid);
        assertThat(followed.get("requests").asLong()).as("no xl remus runs").isZero();
        // xl remus takes its checkpoints: the checkpoint API refuses them
        expect(admin.post("/api/netbuf/domains/" + DOMU + "/epochs"), 409, "xl remus");
    }

    @Test
    @Order(4)
    void aRestartedServerBuffersTheMarkedRunningDomainAnew() {
        server.close();
        server = null;
        start();
        JsonNode d = domain().orElseThrow();
        assertThat(d.get("remus").asBoolean()).isTrue();
        assertThat(d.get("buffered").asBoolean()).as(d.toString()).isTrue();
        assertBuffered(vif());
    }

    @Test
    @Order(5)
    void xlDestroyMakesItVanishOnItsOwnAndTearsDownItsBuffers() {
        String oldVif = vif();
        long t0 = System.nanoTime();
        Sh.run("xl", "destroy", DOMU);
        long destroyed = System.nanoTime();
        JsonNode absent = await(DOMU + " ABSENT in the listing", APPEAR,
                () -> domain().filter(d -> d.get("state").asText().equals("ABSENT")));
        System.out.printf("[xen-server] xl destroy took %.1f s; ABSENT in the listing %.1f s after it returned%n",
                (destroyed - t0) / 1e9, (System.nanoTime() - destroyed) / 1e9);
        System.out.println("[xen-server] GET /api/domains after xl destroy: " + list());
        assertThat(absent.get("remus").asBoolean()).as("still marked").isTrue();
        assertThat(absent.get("buffered").asBoolean()).isFalse();
        assertThat(absent.get("error").isNull()).as("teardown error: %s", absent.get("error")).isTrue();
        assertThat(absent.get("domid").isNull()).isTrue();
        assertThat(Dom0Kernel.hasLink(oldVif)).isFalse();
        assertThat(buffers(DOMU)).as("every buffer of the domain torn down").allSatisfy(b ->
                assertThat(b.get("state").asText()).isEqualTo("FREE"));
        assertThat(Dom0Kernel.ifbs()).as("ifbs left").isEqualTo(ifbsBefore);
        assertThat(Sh.run("tc", "qdisc", "show")).as("qdiscs left").doesNotContain("plug").doesNotContain("ingress");
    }

    @Test
    @Order(6)
    void xlCreateAgainIsBufferedOnItsNewVifOnItsOwn() {
        int oldDomid = domid;
        long t0 = System.nanoTime();
        Sh.run("xl", "create", System.getProperty(XenDom0Run.DOMU_CONFIG_PROPERTY));
        long created = System.nanoTime();
        JsonNode d = await(DOMU + " buffered again", APPEAR,
                () -> domain().filter(x -> x.get("buffered").asBoolean()));
        System.out.printf("[xen-server] xl create took %.1f s; buffered %.1f s after it returned%n",
                (created - t0) / 1e9, (System.nanoTime() - created) / 1e9);
        domid = d.get("domid").asInt();
        assertThat(domid).isNotEqualTo(oldDomid).isEqualTo(Integer.parseInt(Sh.run("xl", "domid", DOMU).strip()));
        assertThat(d.get("state").asText()).isEqualTo("CONNECTED");
        assertThat(d.get("vifs").get(0).get("name").asText()).isEqualTo(vif());
        assertBuffered(vif());
    }

    @Test
    @Order(7)
    void unmarkingTearsItsBuffersDown() {
        Http.Response unmarked = admin.delete("/api/domains/" + DOMU + "/remus");
        assertThat(unmarked.status()).as(unmarked.toString()).isEqualTo(204);
        JsonNode d = domain().orElseThrow();
        assertThat(d.get("remus").asBoolean()).isFalse();
        assertThat(d.get("buffered").asBoolean()).isFalse();
        assertThat(Dom0Kernel.qdiscKinds(vif())).doesNotContain("ingress");
        assertThat(Dom0Kernel.ingressFilters(vif())).isEmpty();
        assertThat(Dom0Kernel.ifbs()).as("ifbs left").isEqualTo(ifbsBefore);
        assertThat(Dom0Kernel.hasLink(vif())).as("the vif stays").isTrue();
        assertThat(buffers(DOMU)).allSatisfy(b -> assertThat(b.get("state").asText()).isEqualTo("FREE"));
    }

    String vif() {
        return "vif" + domid + ".0";
    }

    /** The vif has the ingress qdisc and the redirect filter to its buffer's ifb, which has the plug qdisc. */
    void assertBuffered(String vif) {
        List<JsonNode> live = buffers(DOMU).stream().filter(b -> !b.get("state").asText().equals("FREE")).toList();
        assertThat(live).extracting(b -> b.get("vif").asText() + " " + b.get("state").asText())
                .containsExactly(vif + " PLUGGED");
        String ifb = live.getFirst().get("ifb").asText();
        assertThat(Dom0Kernel.qdiscKinds(vif)).as("qdiscs on %s", vif).contains("ingress");
        assertThat(Dom0Kernel.redirectTargets(vif)).as("redirects of %s", vif).containsExactly(ifb);
        assertThat(Dom0Kernel.qdiscKinds(ifb)).as("qdiscs on %s", ifb).contains("plug");
    }

    List<JsonNode> buffers(String domain) {
        List<JsonNode> out = new ArrayList<>();
        anonymous.get("/api/netbuf/buffers").json().forEach(b -> {
            if (b.get("domain").asText().equals(domain)) {
                out.add(b);
            }
        });
        return out;
    }

    JsonNode list() {
        return anonymous.get("/api/domains").json();
    }

    Optional<JsonNode> domain() {
        for (JsonNode d : list()) {
            if (d.get("name").asText().equals(DOMU)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    static void expect(Http.Response r, int status, String detail) {
        assertThat(r.status()).as(r.toString()).isEqualTo(status);
        assertThat(r.contentType()).contains("application/problem+json");
        assertThat(r.json().get("detail").asText()).contains(detail);
    }

    /** Polls {@code probe} every 250 ms until it gives a value; fails naming {@code what} after {@code limit}. */
    static JsonNode await(String what, Duration limit, java.util.function.Supplier<Optional<JsonNode>> probe) {
        long end = System.nanoTime() + limit.toNanos();
        while (true) {
            Optional<JsonNode> v = probe.get();
            if (v.isPresent()) {
                return v.get();
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("not " + what + " within " + limit.toSeconds() + " s");
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
