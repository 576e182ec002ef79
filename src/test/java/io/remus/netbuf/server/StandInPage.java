package io.remus.netbuf.server;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The server's stand-in for tests of the launcher itself: answers every request with 200 on the launcher's
 * {@code --server.address} and {@code --server.port}, and nothing else. A JVM without Spring starts in seconds
 * inside user-mode-linux, where the server takes half a minute or more.
 */
public final class StandInPage {

    public static void main(String[] args) throws IOException {
        String address = "127.0.0.1";
        int port = 8080;
        for (String arg : args) {
            if (arg.startsWith("--server.address=")) {
                address = arg.substring(arg.indexOf('=') + 1);
            } else if (arg.startsWith("--server.port=")) {
                port = Integer.parseInt(arg.substring(arg.indexOf('=') + 1));
            }
        }
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getByName(address), port), 8);
        http.createContext("/", exchange -> {
            byte[] body = "stand-in\n".getBytes();
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        http.start();
        System.out.println("stand-in page on " + address + ":" + port);
    }
}
