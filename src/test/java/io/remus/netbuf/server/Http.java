package io.remus.netbuf.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.CookieManager;
import java.net.HttpCookie;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** A real HTTP client (java.net.http) with its own cookie jar, against the server on 127.0.0.1. */
final class Http {

    static final ObjectMapper JSON = new ObjectMapper();

    record Response(int status, String body, java.net.http.HttpHeaders headers) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        String contentType() {
            return headers.firstValue("Content-Type").orElse("");
        }

        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    private final String base;
    private final CookieManager cookies = new CookieManager();
    private final HttpClient client;
    private String basic;
    private final Map<String, String> extraHeaders = new LinkedHashMap<>();

    Http(int port) {
        this.base = "http://127.0.0.1:" + port;
        this.client = HttpClient.newBuilder().cookieHandler(cookies).build();
    }

    /** Connecting from another loopback address (127.0.0.2, ...): the server sees another remote address. */
    Http(int port, String from) {
        this.base = "http://127.0.0.1:" + port;
        try {
            this.client = HttpClient.newBuilder().cookieHandler(cookies).localAddress(InetAddress.getByName(from))
                    .build();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(from, e);
        }
    }

    Http basic(String user, String password) {
        basic = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /**
     * Logs in once (POST /login, as the admin page does) and sends the session's CSRF token from then on: a client
     * making many requests pays the password check once, not on each request as with {@link #basic}.
     */
    Http session(String user, String password) {
        get("/api/session"); // the XSRF-TOKEN cookie
        header("X-XSRF-TOKEN", cookie("XSRF-TOKEN").orElseThrow(() -> new AssertionError("no XSRF-TOKEN cookie")));
        Response login = postForm("/login", "username=" + user + "&password="
                + java.net.URLEncoder.encode(password, StandardCharsets.UTF_8));
        if (login.status() != 200) {
            throw new AssertionError("login failed: " + login);
        }
        extraHeaders.put("X-XSRF-TOKEN", cookie("XSRF-TOKEN").orElseThrow()); // login issued a fresh one
        return this;
    }

    Http header(String name, String value) {
        extraHeaders.put(name, value);
        return this;
    }

    Http withoutHeader(String name) {
        extraHeaders.remove(name);
        return this;
    }

    Optional<String> cookie(String name) {
        return cookies.getCookieStore().getCookies().stream().filter(c -> c.getName().equals(name))
                .map(HttpCookie::getValue).findFirst();
    }

    Response get(String path) {
        return send(builder(path).GET());
    }

    /** GET with any content type accepted, the body read and thrown away (a heap dump): returns the status. */
    int getDiscarding(String path) {
        try {
            HttpRequest.Builder b = builder(path).setHeader("Accept", "*/*").GET();
            return client.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    Response getText(String path) {
        return send(builder(path).setHeader("Accept", "text/plain").GET());
    }

    Response post(String path, String json) {
        return send(builder(path).header("Content-Type", "application/json")
                .POST(json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json)));
    }

    Response post(String path) {
        return post(path, null);
    }

    Response put(String path, String json) {
        return send(builder(path).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)));
    }

    Response postForm(String path, String form) {
        return send(builder(path).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)));
    }

    Response delete(String path) {
        return send(builder(path).DELETE());
    }

    private HttpRequest.Builder builder(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Accept",
                "application/json, application/problem+json");
        if (basic != null) {
            b.header("Authorization", basic);
        }
        extraHeaders.forEach(b::header);
        return b;
    }

    private Response send(HttpRequest.Builder b) {
        try {
            HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body(), r.headers());
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
