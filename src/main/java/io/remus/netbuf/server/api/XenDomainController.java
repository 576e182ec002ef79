package io.remus.netbuf.server.api;

import io.remus.netbuf.server.ConditionalOnHypervisor;
import io.remus.netbuf.server.HypervisorProperties.Hypervisor;
import io.remus.netbuf.server.domain.DomainConflictException;
import io.remus.netbuf.server.domain.DomainNotFoundException;
import io.remus.netbuf.server.xen.XenDomain;
import io.remus.netbuf.server.xen.XenDomainWatch;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code netbuf-server.hypervisor=xen}: the domains Xen has, and the Remus marks. Xen's domains are created and
 * destroyed with {@code xl}, so the namespace driver's create, start, stop and delete answer 409 saying so.
 */
@RestController
@RequestMapping("/api/domains")
@ConditionalOnHypervisor(Hypervisor.XEN)
public class XenDomainController implements KnownDomains {

    /** Xen allows more than the namespace driver's names; these fit the plugin's domain column and log lines. */
    static final String NAME = "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}";
    static final String NAME_RULE = "must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-', starting with a"
            + " letter or digit";
    static final String USE_XL = "Xen domains are created, started and stopped with xl (xl create CONFIG, xl"
            + " destroy NAME), not by this server; mark one for Remus with PUT /api/domains/{name}/remus";

    private final XenDomainWatch xen;

    public XenDomainController(XenDomainWatch xen) {
        this.xen = xen;
    }

    @GetMapping
    public List<XenDomain> list() {
        return xen.domains();
    }

    @GetMapping("/{name}")
    public XenDomain get(@PathVariable String name) {
        return find(checkName(name));
    }

    /** Marks the domain for Remus; a name no domain has yet may be marked: it is buffered when it starts. */
    @PutMapping("/{name}/remus")
    public XenDomain mark(@PathVariable String name) {
        xen.mark(checkName(name));
        return find(name);
    }

    /** Unmarks the domain and removes its buffers; 404 if it was not marked. */
    @DeleteMapping("/{name}/remus")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    public void unmark(@PathVariable String name) {
        if (!xen.unmark(checkName(name))) {
            throw new NotFoundException("mark", "domain " + name + " is not marked for Remus");
        }
    }

    @PostMapping
    public void create() {
        throw new DomainConflictException(USE_XL);
    }

    @PostMapping({"/{name}/start", "/{name}/stop"})
    public void startOrStop(@PathVariable String name) {
        throw new DomainConflictException(USE_XL);
    }

    @DeleteMapping("/{name}")
    public void destroy(@PathVariable String name) {
        throw new DomainConflictException(USE_XL);
    }

    @Override
    public String known(String name) {
        return find(checkName(name)).name();
    }

    private XenDomain find(String name) {
        return xen.domain(name).orElseThrow(() -> new DomainNotFoundException(name));
    }

    static String checkName(String name) {
        if (name == null || !name.matches(NAME)) {
            throw new BadRequestException("name", "domain name " + NAME_RULE);
        }
        return name;
    }
}
