package io.remus.netbuf.server.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.security.core.authority.AuthorityUtils;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetails;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.core.userdetails.UsernameNotFoundException;
import org.springframework.security.crypto.password.PasswordEncoder;

/**
 * The admin user, kept bcrypt-hashed in server_user. Its password is {@code NETBUF_ADMIN_PASSWORD} when set, else
 * the first line of the file {@code netbuf-server.admin-password-file} names (the Debian package's
 * {@code /etc/remus-netbuf/admin-password}, made by its postinst, readable by root only); the stored hash follows
 * either. A password file that is named but cannot be read, or is empty, stops the start: nothing is generated then.
 * With neither, one is generated at the first start and logged that once, never again.
 */
public class AdminAccount implements UserDetailsService {

    public static final String USERNAME = "admin";
    public static final String PASSWORD_VARIABLE = "NETBUF_ADMIN_PASSWORD";
    public static final String PASSWORD_FILE_PROPERTY = "netbuf-server.admin-password-file";
    private static final String ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    private static final int GENERATED_LENGTH = 24;
    private static final Logger log = LoggerFactory.getLogger(AdminAccount.class);

    private final JdbcTemplate jdbc;

    public AdminAccount(JdbcTemplate jdbc, PasswordEncoder encoder, Environment env) {
        this.jdbc = jdbc;
        String given = env.getProperty(PASSWORD_VARIABLE);
        if (given == null || given.isEmpty()) {
            given = fromFile(env.getProperty(PASSWORD_FILE_PROPERTY));
        }
        List<String> stored = jdbc.queryForList("SELECT password_hash FROM server_user WHERE username = ?",
                String.class, USERNAME);
        if (given != null && !given.isEmpty()) {
            if (stored.isEmpty()) {
                insert(encoder.encode(given));
            } else if (!encoder.matches(given, stored.getFirst())) {
                jdbc.update("UPDATE server_user SET password_hash = ? WHERE username = ?", encoder.encode(given),
                        USERNAME);
            }
        } else if (stored.isEmpty()) {
            String generated = generate();
            insert(encoder.encode(generated));
            log.warn("Generated the admin password (shown this once; set {} to choose one): {}", PASSWORD_VARIABLE,
                    generated);
        }
    }

    /** The first line of the password file, or null if no file is configured. */
    private static String fromFile(String file) {
        if (file == null || file.isBlank()) {
            return null;
        }
        String line;
        try {
            line = Files.readAllLines(Path.of(file), StandardCharsets.UTF_8).stream().findFirst().orElse("").strip();
        } catch (IOException | UncheckedIOException e) {
            throw new IllegalStateException(PASSWORD_FILE_PROPERTY + "=" + file + ": cannot read the admin password: "
                    + e, e);
        }
        if (line.isEmpty()) {
            throw new IllegalStateException(PASSWORD_FILE_PROPERTY + "=" + file
                    + ": the file's first line is empty; write the admin password there");
        }
        return line;
    }

    private void insert(String hash) {
        jdbc.update("INSERT INTO server_user (username, password_hash, role, created_at) VALUES (?, ?, 'ADMIN', ?)",
                USERNAME, hash, Timestamp.from(Instant.now()));
    }

    private static String generate() {
        SecureRandom random = new SecureRandom();
        StringBuilder s = new StringBuilder(GENERATED_LENGTH);
        for (int i = 0; i < GENERATED_LENGTH; i++) {
            s.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
        }
        return s.toString();
    }

    @Override
    public UserDetails loadUserByUsername(String username) {
        return jdbc.query("SELECT username, password_hash, role FROM server_user WHERE username = ?",
                (rs, n) -> new User(rs.getString(1), rs.getString(2),
                        AuthorityUtils.createAuthorityList("ROLE_" + rs.getString(3))), username)
                .stream().findFirst()
                .orElseThrow(() -> new UsernameNotFoundException("no user " + username));
    }
}
