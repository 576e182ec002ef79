package io.remus.netbuf.server.demo;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The demo domain ({@code netbuf-server.demo.*}), for {@code make run}.
 *
 * @param enabled whether to define (if missing) and start a Remus domain with the built-in checkpoint loop at
 *                startup, and stop it at shutdown; off unless set (./config/application.yml sets it)
 * @param name    the demo domain's name
 * @param vifs    how many vifs it has
 */
@ConfigurationProperties("netbuf-server.demo")
public record DemoProperties(
        @DefaultValue("false") boolean enabled,
        @DefaultValue("demo") String name,
        @DefaultValue("2") int vifs) {
}
