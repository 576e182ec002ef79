package io.remus.netbuf.server.security;

import java.time.Duration;
import org.springframework.security.authentication.AuthenticationManager;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.web.authentication.WebAuthenticationDetails;

/**
 * The form login's and HTTP Basic's authentication: refuses an attempt the {@link LoginThrottle} holds back before
 * any password is checked, and tells it each outcome. Only wrong credentials count as a failure (not, say, a database
 * that does not answer).
 */
final class ThrottledAuthenticationManager implements AuthenticationManager {

    /** An attempt refused unchecked; the answer is 429 with Retry-After. */
    static final class Refused extends AuthenticationException {
        private final Duration retryAfter;

        Refused(Duration retryAfter) {
            super("too many failed logins for this user or from this address");
            this.retryAfter = retryAfter;
        }

        /** Whole seconds, rounded up. */
        long retryAfterSeconds() {
            return (retryAfter.toMillis() + 999) / 1000;
        }
    }

    private final AuthenticationManager delegate;
    private final LoginThrottle throttle;

    ThrottledAuthenticationManager(AuthenticationManager delegate, LoginThrottle throttle) {
        this.delegate = delegate;
        this.throttle = throttle;
    }

    @Override
    public Authentication authenticate(Authentication attempt) {
        String user = attempt.getName();
        String address = attempt.getDetails() instanceof WebAuthenticationDetails d ? d.getRemoteAddress() : "";
        Duration refused = throttle.refusedFor(user, address);
        if (refused.isPositive()) {
            throw new Refused(refused);
        }
        Authentication result;
        try {
            result = delegate.authenticate(attempt);
        } catch (BadCredentialsException e) {
            throttle.failed(user, address);
            throw e;
        }
        throttle.succeeded(user, address);
        return result;
    }
}
