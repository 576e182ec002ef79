package io.remus.netbuf.autoconfigure;

import io.remus.netbuf.persistence.NetbufDatabase;
import java.nio.file.Path;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.env.EnvironmentPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * With the plugin enabled and no {@code spring.datasource.url} set, the database is an H2 file under
 * {@code ./data/} (not Boot's in-memory default, which would forget every buffer at a restart). Any URL the
 * application sets, e.g. a PostgreSQL one, wins.
 */
public class NetbufDataSourceDefaults implements EnvironmentPostProcessor, Ordered {

    public static final Path DEFAULT_FILE = Path.of("data", "netbuf");

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment env, SpringApplication application) {
        if (env.getProperty("netbuf.enabled", Boolean.class, false) && !env.containsProperty("spring.datasource.url")) {
            env.getPropertySources().addLast(new MapPropertySource("netbufDataSourceDefaults",
                    Map.of("spring.datasource.url", NetbufDatabase.h2FileUrl(DEFAULT_FILE))));
        }
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
