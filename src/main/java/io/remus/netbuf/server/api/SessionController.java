package io.remus.netbuf.server.api;

import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.web.csrf.CsrfToken;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

@RestController
public class SessionController {

    public record Session(boolean authenticated, String user) {
    }

    /** Who is logged in. Also hands out the XSRF-TOKEN cookie: the token is written only once it is read. */
    @GetMapping("/api/session")
    public Session session(Authentication auth, CsrfToken csrf) {
        if (csrf != null) {
            csrf.getToken();
        }
        boolean in = auth != null && auth.isAuthenticated() && !(auth instanceof AnonymousAuthenticationToken);
        return new Session(in, in ? auth.getName() : null);
    }
}
