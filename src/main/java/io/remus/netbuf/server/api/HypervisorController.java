package io.remus.netbuf.server.api;

import io.remus.netbuf.server.HypervisorProperties;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** Which hypervisor the server manages: the page shows its domains accordingly. */
@RestController
public class HypervisorController {

    public record HypervisorView(HypervisorProperties.Hypervisor hypervisor) {
    }

    private final HypervisorProperties properties;

    public HypervisorController(HypervisorProperties properties) {
        this.properties = properties;
    }

    @GetMapping("/api/hypervisor")
    public HypervisorView hypervisor() {
        return new HypervisorView(properties.hypervisor());
    }
}
