package io.remus.netbuf.server;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;

/** The VM-management server that embeds the Remus netbuf plugin. */
@SpringBootApplication
@EnableConfigurationProperties(HypervisorProperties.class)
public class NetbufServerApplication {

    public static void main(String[] args) {
        SpringApplication.run(NetbufServerApplication.class, args);
    }
}
