package io.remus.netbuf.server.api;

import io.remus.netbuf.server.ConditionalOnHypervisor;
import io.remus.netbuf.server.HypervisorProperties.Hypervisor;
import io.remus.netbuf.server.domain.DomainService;
import jakarta.validation.Valid;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

@RestController
@ConditionalOnHypervisor(Hypervisor.NAMESPACE)
@RequestMapping("/api/domains")
public class DomainController implements KnownDomains {

    private final DomainService domains;

    public DomainController(DomainService domains) {
        this.domains = domains;
    }

    @GetMapping
    public List<DomainView> list() {
        return domains.list().stream().map(DomainView::of).toList();
    }

    @GetMapping("/{name}")
    public DomainView get(@PathVariable String name) {
        return DomainView.of(domains.get(checkName(name)));
    }

    @PostMapping
    @ResponseStatus(HttpStatus.CREATED)
    public DomainView create(@Valid @RequestBody DomainRequest r) {
        return DomainView.of(domains.create(r.name(), r.remus(), r.checkpointOrFalse(), r.vifs()));
    }

    @PostMapping("/{name}/start")
    public DomainView start(@PathVariable String name) {
        return DomainView.of(domains.start(checkName(name)));
    }

    @PostMapping("/{name}/stop")
    public DomainView stop(@PathVariable String name) {
        return DomainView.of(domains.stop(checkName(name)));
    }

    @DeleteMapping("/{name}")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    public void destroy(@PathVariable String name) {
        domains.destroy(checkName(name));
    }

    @Override
    public String known(String name) {
        return domains.get(checkName(name)).name();
    }

    static String checkName(String name) {
        if (name == null || !name.matches(DomainRequest.NAME)) {
            throw new BadRequestException("name", "domain name " + DomainRequest.NAME_RULE);
        }
        return name;
    }
}
