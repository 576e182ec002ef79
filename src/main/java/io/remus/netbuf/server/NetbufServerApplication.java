package io.remus.netbuf.server;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** The VM-management server that embeds the Remus netbuf plugin. */
@SpringBootApplication
public class NetbufServerApplication {

    public static void main(String[] args) {
        SpringApplication.run(NetbufServerApplication.class, args);
    }
}
