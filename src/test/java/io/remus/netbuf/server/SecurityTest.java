package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Who may do what, over real HTTP: open reads, Basic without a challenge, session login with a CSRF cookie, the
 * actuator's allow-list.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext(classMode = DirtiesContext.ClassMode.AFTER_CLASS)
@AutoConfigureObservability(tracing = false) // the Prometheus endpoint, which a test context leaves out otherwise
class SecurityTest {

    static final String PASSWORD = "security-test-password";
    static String ns;

    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry r) {
        Ip.requireRoot();
        ns = Ip.createNamespace();
        r.add("netbuf.namespace", () -> Ip.namespaceFile(ns).toString());
        r.add("spring.datasource.url", () -> "jdbc:h2:file:" + Path.of("target", "h2", "security-" + System.nanoTime())
                .toAbsolutePath() + ";WRITE_DELAY=0");
        r.add("NETBUF_ADMIN_PASSWORD", () -> PASSWORD);
        // more than the packaged health,prometheus, as an operator (or ServerMemoryBench) might expose
        r.add("management.endpoints.web.exposure.include", () -> "health,prometheus,info,env,heapdump");
        r.add("management.endpoint.heapdump.access", () -> "unrestricted");
    }

    @AfterAll
    static void cleanUp() {
        Ip.deleteNamespace(ns);
    }

    static String domainJson(String name) {
        return "{\"name\":\"" + name + "\",\"remus\":false,\"vifs\":1}";
    }

    static String newName() {
        return "s" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 30), 36);
    }

    @Test
    void mutationsWithoutCredentialsGet401ProblemsAndNoChallenge() {
        Http anonymous = new Http(port);
        String name = newName();
        for (Http.Response r : new Http.Response[] {
                anonymous.post("/api/domains", domainJson(name)),
                anonymous.post("/api/domains/" + name + "/start"),
                anonymous.delete("/api/domains/" + name),
                anonymous.post("/api/netbuf/domains/" + name + "/epochs"),
                new Http(port).basic("admin", "wrong").post("/api/domains", domainJson(name)),
                new Http(port).basic("nobody", PASSWORD).post("/api/domains", domainJson(name))}) {
            assertThat(r.status()).as(r.toString()).isEqualTo(401);
            assertThat(r.headers().firstValue("WWW-Authenticate")).as(r.toString()).isEmpty();
            assertThat(r.contentType()).contains("application/problem+json");
            assertThat(r.json().get("detail").asText()).isNotBlank();
        }
        assertThat(anonymous.get("/api/domains").body()).doesNotContain(name);
    }

    @Test
    void readsAreOpen() {
        Http anonymous = new Http(port);
        assertThat(anonymous.get("/api/domains").status()).isEqualTo(200);
        assertThat(anonymous.get("/api/netbuf/buffers").status()).isEqualTo(200);
        Http.Response session = anonymous.get("/api/session");
        assertThat(session.status()).isEqualTo(200);
        assertThat(session.json().get("authenticated").asBoolean()).isFalse();
    }

    @Test
    void basicCredentialsNeedNoCsrfToken() {
        Http admin = new Http(port).basic("admin", PASSWORD);
        String name = newName();
        Http.Response created = admin.post("/api/domains", domainJson(name));
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        assertThat(created.headers().firstValue("WWW-Authenticate")).isEmpty();
        assertThat(admin.delete("/api/domains/" + name).status()).isEqualTo(204);
    }

    @Test
    void sessionLoginNeedsTheCsrfTokenOnEveryMutation() {
        Http browser = new Http(port);
        assertThat(browser.get("/api/session").status()).isEqualTo(200);
        String token = browser.cookie("XSRF-TOKEN").orElseThrow(() -> new AssertionError("no XSRF-TOKEN cookie"));

        String form = "username=admin&password=" + URLEncoder.encode(PASSWORD, StandardCharsets.UTF_8);
        Http.Response noToken = browser.postForm("/login", form);
        assertThat(noToken.status()).as(noToken.toString()).isEqualTo(403);
        assertThat(noToken.json().get("detail").asText()).contains("X-XSRF-TOKEN");

        Http.Response wrong = browser.header("X-XSRF-TOKEN", token).postForm("/login", "username=admin&password=nope");
        assertThat(wrong.status()).as(wrong.toString()).isEqualTo(401);
        assertThat(wrong.headers().firstValue("WWW-Authenticate")).isEmpty();
        assertThat(wrong.headers().firstValue("Location")).isEmpty();

        Http.Response login = browser.postForm("/login", form);
        assertThat(login.status()).as(login.toString()).isEqualTo(200);
        assertThat(login.headers().firstValue("Location")).isEmpty();
        assertThat(login.json().get("user").asText()).isEqualTo("admin");
        assertThat(browser.cookie("JSESSIONID")).isPresent();
        Http.Response session = browser.get("/api/session");
        assertThat(session.json().get("authenticated").asBoolean()).isTrue();
        assertThat(session.json().get("user").asText()).isEqualTo("admin");

        String name = newName();
        browser.withoutHeader("X-XSRF-TOKEN");
        Http.Response withoutToken = browser.post("/api/domains", domainJson(name));
        assertThat(withoutToken.status()).as(withoutToken.toString()).isEqualTo(403);
        assertThat(withoutToken.contentType()).contains("application/problem+json");
        assertThat(browser.get("/api/domains").body()).doesNotContain(name);

        Http.Response staleToken = browser.header("X-XSRF-TOKEN", "not-the-token").post("/api/domains", domainJson(name));
        assertThat(staleToken.status()).isEqualTo(403);

        // login issued a fresh token (the one from before the login no longer counts)
        String fresh = browser.cookie("XSRF-TOKEN").orElseThrow();
        Http.Response created = browser.header("X-XSRF-TOKEN", fresh).post("/api/domains", domainJson(name));
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        assertThat(browser.delete("/api/domains/" + name).status()).isEqualTo(204);

        assertThat(browser.post("/logout").status()).isEqualTo(200);
        Http.Response afterLogout = browser.post("/api/domains", domainJson(newName()));
        assertThat(afterLogout.status()).isEqualTo(401);
    }

    @Test
    void anonymousGetsTheHealthStatusAndMetricsEveryOtherActuatorEndpointNeedsTheAdmin() {
        Http anonymous = new Http(port);
        Http.Response health = anonymous.get("/actuator/health");
        assertThat(health.status()).as(health.toString()).isIn(200, 503);
        assertThat(health.json().has("status")).isTrue();
        assertThat(health.json().has("components")).as(health.toString()).isFalse();
        assertThat(health.body()).doesNotContain("details");
        assertThat(anonymous.get("/actuator/health/netbuf").body()).doesNotContain("sch_plug");
        Http.Response metrics = anonymous.getText("/actuator/prometheus");
        assertThat(metrics.status()).as(metrics.toString()).isEqualTo(200);
        for (String path : new String[] {"/actuator", "/actuator/info", "/actuator/env", "/actuator/heapdump"}) {
            Http.Response r = anonymous.get(path);
            assertThat(r.status()).as(path + ": " + r).isEqualTo(401);
            assertThat(r.contentType()).as(path).contains("application/problem+json");
            assertThat(r.headers().firstValue("WWW-Authenticate")).as(path).isEmpty();
        }

        Http admin = new Http(port).basic("admin", PASSWORD);
        Http.Response details = admin.get("/actuator/health");
        assertThat(details.json().path("components").path("netbuf").path("details").has("sch_plug"))
                .as(details.toString()).isTrue();
        assertThat(admin.get("/actuator/health/netbuf").json().path("details").has("sch_plug")).isTrue();
        for (String path : new String[] {"/actuator", "/actuator/info", "/actuator/env"}) {
            Http.Response r = admin.get(path);
            assertThat(r.status()).as(path).isEqualTo(200);
        }
    }
}
