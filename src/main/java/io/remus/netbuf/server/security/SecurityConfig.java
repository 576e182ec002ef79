package io.remus.netbuf.server.security;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Clock;
import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.security.servlet.EndpointRequest;
import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.boot.actuate.metrics.export.prometheus.PrometheusScrapeEndpoint;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.authentication.ProviderManager;
import org.springframework.security.authentication.dao.DaoAuthenticationProvider;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.csrf.CsrfException;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.crypto.bcrypt.BCryptPasswordEncoder;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.logout.HttpStatusReturningLogoutSuccessHandler;
import org.springframework.security.web.csrf.CookieCsrfTokenRepository;
import org.springframework.security.web.csrf.CsrfToken;
import org.springframework.security.web.csrf.CsrfTokenRequestAttributeHandler;
import org.springframework.security.web.savedrequest.NullRequestCache;

/**
 * Reads are open; every mutation needs ROLE_ADMIN. Of the actuator, anonymous users get the health status (its details
 * need the admin: show-details when-authorized) and the Prometheus metrics; every other endpoint, exposed now or
 * later, needs the admin. Failed logins are throttled ({@link LoginThrottle}): a refused attempt gets 429.
 * <p>
 * API clients use HTTP Basic, the admin page a form login with a session cookie. No response ever carries a
 * WWW-Authenticate challenge: a browser that got one would cache the Basic credentials and send them on every request,
 * which CSRF protection could then not tell from the user's own. For the same reason, only a request that itself
 * carries Basic credentials skips the CSRF check.
 */
@Configuration
public class SecurityConfig {

    @Bean
    PasswordEncoder passwordEncoder() {
        return new BCryptPasswordEncoder();
    }

    @Bean
    AdminAccount adminAccount(JdbcTemplate jdbc, PasswordEncoder encoder, Environment env) {
        return new AdminAccount(jdbc, encoder, env);
    }

    /** Takes the context's Clock if it has one (a test's). */
    @Bean
    LoginThrottle loginThrottle(ObjectProvider<Clock> clock) {
        return new LoginThrottle(clock.getIfAvailable(Clock::systemUTC));
    }

    @Bean
    SecurityFilterChain api(HttpSecurity http, ObjectMapper json, AdminAccount users, PasswordEncoder encoder,
                            LoginThrottle throttle) throws Exception {
        AuthenticationEntryPoint unauthorized = (req, res, e) -> {
            if (e instanceof ThrottledAuthenticationManager.Refused refused) {
                tooManyFailures(json, req, res, refused);
            } else {
                ProblemResponses.write(json, req, res, HttpStatus.UNAUTHORIZED, "Authentication required",
                        "this request needs the admin role: log in at POST /login or send HTTP Basic credentials");
            }
        };
        DaoAuthenticationProvider passwords = new DaoAuthenticationProvider(users);
        passwords.setPasswordEncoder(encoder);
        // Plain (unmasked) token: the admin page copies the XSRF-TOKEN cookie into the X-XSRF-TOKEN header.
        CsrfTokenRequestAttributeHandler csrfHandler = new CsrfTokenRequestAttributeHandler();
        http
                .authenticationManager(new ThrottledAuthenticationManager(new ProviderManager(passwords), throttle))
                .authorizeHttpRequests(a -> a
                        .requestMatchers(EndpointRequest.to(HealthEndpoint.class, PrometheusScrapeEndpoint.class))
                        .permitAll()
                        .requestMatchers(EndpointRequest.toAnyEndpoint()).hasRole("ADMIN")
                        .requestMatchers(HttpMethod.GET, "/**").permitAll()
                        .requestMatchers(HttpMethod.HEAD, "/**").permitAll()
                        .requestMatchers("/login", "/error").permitAll()
                        .anyRequest().hasRole("ADMIN"))
                .csrf(c -> c
                        .csrfTokenRepository(CookieCsrfTokenRepository.withHttpOnlyFalse())
                        .csrfTokenRequestHandler(csrfHandler)
                        .ignoringRequestMatchers(SecurityConfig::carriesBasicCredentials))
                .httpBasic(b -> b.authenticationEntryPoint(unauthorized))
                .formLogin(f -> f
                        .loginProcessingUrl("/login")
                        .successHandler((req, res, auth) -> {
                            // The session's new CSRF token: reading it makes the repository send the cookie now.
                            CsrfToken token = (CsrfToken) req.getAttribute(CsrfToken.class.getName());
                            if (token != null) {
                                token.getToken();
                            }
                            res.setStatus(HttpStatus.OK.value());
                            res.setContentType(MediaType.APPLICATION_JSON_VALUE);
                            json.writeValue(res.getOutputStream(), Map.of("authenticated", true,
                                    "user", auth.getName()));
                        })
                        .failureHandler((req, res, e) -> {
                            if (e instanceof ThrottledAuthenticationManager.Refused refused) {
                                tooManyFailures(json, req, res, refused);
                            } else {
                                ProblemResponses.write(json, req, res, HttpStatus.UNAUTHORIZED, "Login failed",
                                        "wrong user name or password");
                            }
                        }))
                .logout(l -> l.logoutUrl("/logout")
                        .logoutSuccessHandler(new HttpStatusReturningLogoutSuccessHandler(HttpStatus.OK)))
                .requestCache(r -> r.requestCache(new NullRequestCache()))
                .exceptionHandling(e -> e
                        .authenticationEntryPoint(unauthorized)
                        .accessDeniedHandler((req, res, ex) -> {
                            // The CSRF check runs before authorisation: without this, an anonymous mutation would
                            // get 403 (token) instead of 401 (credentials).
                            boolean login = "/login".equals(req.getServletPath());
                            if (!loggedIn() && !login) {
                                unauthorized.commence(req, res, null);
                            } else if (ex instanceof CsrfException) {
                                ProblemResponses.write(json, req, res, HttpStatus.FORBIDDEN, "CSRF token required",
                                        "missing or wrong CSRF token: send the XSRF-TOKEN cookie's value in the"
                                                + " X-XSRF-TOKEN header");
                            } else {
                                ProblemResponses.write(json, req, res, HttpStatus.FORBIDDEN, "Forbidden",
                                        "this request needs the admin role");
                            }
                        }));
        return http.build();
    }

    private static void tooManyFailures(ObjectMapper json, HttpServletRequest req, HttpServletResponse res,
                                        ThrottledAuthenticationManager.Refused refused) throws IOException {
        long seconds = refused.retryAfterSeconds();
        res.setHeader(HttpHeaders.RETRY_AFTER, Long.toString(seconds));
        ProblemResponses.write(json, req, res, HttpStatus.TOO_MANY_REQUESTS, "Too many failed logins",
                "too many failed logins for this user or from this address: try again in " + seconds + " s");
    }

    private static boolean loggedIn() {
        Authentication a = SecurityContextHolder.getContext().getAuthentication();
        return a != null && a.isAuthenticated() && !(a instanceof AnonymousAuthenticationToken);
    }

    private static boolean carriesBasicCredentials(HttpServletRequest request) {
        String auth = request.getHeader("Authorization");
        return auth != null && auth.regionMatches(true, 0, "Basic ", 0, 6);
    }
}
