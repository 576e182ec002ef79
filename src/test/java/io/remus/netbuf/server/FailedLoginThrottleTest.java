package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.server.security.TestClock;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Failed logins throttled, over real HTTP, on a clock the test moves: HTTP Basic and the form login, each test from
 * a loopback address of its own (127.0.0.x), so the server sees different remote addresses.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext(classMode = DirtiesContext.ClassMode.AFTER_CLASS)
class FailedLoginThrottleTest {

    static final String PASSWORD = "throttle-test-password";
    static final String DOMAIN = "{\"name\":\"thr\",\"remus\":false,\"vifs\":1}";
    static String ns;

    @TestConfiguration
    static class Clocks {
        @Bean
        TestClock clock() {
            return new TestClock();
        }
    }

    @LocalServerPort
    int port;
    @Autowired
    TestClock clock;

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry r) {
        Ip.requireRoot();
        ns = Ip.createNamespace();
        r.add("netbuf.namespace", () -> Ip.namespaceFile(ns).toString());
        r.add("spring.datasource.url", () -> "jdbc:h2:file:" + Path.of("target", "h2", "throttle-" + System.nanoTime())
                .toAbsolutePath() + ";WRITE_DELAY=0");
        r.add("NETBUF_ADMIN_PASSWORD", () -> PASSWORD);
    }

    @AfterAll
    static void cleanUp() {
        Ip.deleteNamespace(ns);
    }

    static void assertRefused(Http.Response r, long retryAfter) {
        assertThat(r.status()).as(r.toString()).isEqualTo(429);
        assertThat(r.headers().firstValue("Retry-After")).hasValue(Long.toString(retryAfter));
        assertThat(r.contentType()).contains("application/problem+json");
        assertThat(r.json().get("detail").asText()).contains("too many failed logins");
    }

    @Test
    void basicTheSixthAttemptIsRefusedEvenWithTheRightPasswordUntilTheBackoffEnds() {
        for (int i = 0; i < 5; i++) {
            assertThat(new Http(port, "127.0.0.2").basic("admin", "wrong").post("/api/domains", DOMAIN).status())
                    .isEqualTo(401);
        }
        assertRefused(new Http(port, "127.0.0.2").basic("admin", PASSWORD).post("/api/domains", DOMAIN), 60);
        assertRefused(new Http(port, "127.0.0.3").basic("admin", PASSWORD).get("/api/domains"), 60);
        assertRefused(new Http(port, "127.0.0.2").basic("other", "x").get("/api/domains"), 60);
        assertThat(new Http(port, "127.0.0.3").basic("other", "x").get("/api/domains").status())
                .as("another user from another address: checked").isEqualTo(401);
        assertThat(new Http(port).get("/api/domains").body()).doesNotContain("thr");

        clock.advance(Duration.ofSeconds(60));
        Http admin = new Http(port, "127.0.0.2").basic("admin", PASSWORD);
        assertThat(admin.post("/api/domains", DOMAIN).status()).isEqualTo(201);
        assertThat(admin.delete("/api/domains/thr").status()).isEqualTo(204);
        assertThat(new Http(port, "127.0.0.2").basic("admin", "wrong").get("/api/domains").status())
                .as("the success forgot the failures").isEqualTo(401);
        assertThat(admin.get("/api/domains").status()).isEqualTo(200);
    }

    @Test
    void formLoginTheSixthAttemptIsRefusedTheBackoffDoublesASuccessClears() {
        Http browser = new Http(port, "127.0.0.4");
        browser.get("/api/session");
        browser.header("X-XSRF-TOKEN", browser.cookie("XSRF-TOKEN").orElseThrow());
        String right = "username=admin&password=" + URLEncoder.encode(PASSWORD, StandardCharsets.UTF_8);
        String wrong = "username=admin&password=wrong";
        for (int i = 0; i < 5; i++) {
            assertThat(browser.postForm("/login", wrong).status()).isEqualTo(401);
        }
        assertRefused(browser.postForm("/login", right), 60);
        clock.advance(Duration.ofSeconds(60));
        assertThat(browser.postForm("/login", wrong).status()).isEqualTo(401);
        assertRefused(browser.postForm("/login", right), 120);
        clock.advance(Duration.ofSeconds(119));
        assertRefused(browser.postForm("/login", right), 1);
        clock.advance(Duration.ofSeconds(1));
        Http.Response login = browser.postForm("/login", right);
        assertThat(login.status()).as(login.toString()).isEqualTo(200);
        assertThat(browser.get("/api/session").json().get("authenticated").asBoolean()).isTrue();
    }
}
