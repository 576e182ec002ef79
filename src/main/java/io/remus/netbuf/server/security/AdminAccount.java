package io.remus.netbuf.server.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Set;
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
 * the first line of the password file: the one {@code netbuf-server.admin-password-file} names (the Debian package's
 * {@code /etc/remus-netbuf/admin-password}, made by its postinst), {@code data/admin-password} (beside the default
 * H2 database) if none is named. If that file does not exist, a password is generated and written there, readable by
 * its owner only; the log names the file, never the password. A file that exists but cannot be read, or is empty,
 * stops the start. The stored hash follows the variable or the file at each start.
 */
public class AdminAccount implements UserDetailsService {

    public static final String USERNAME = "admin";
    public static final String PASSWORD_VARIABLE = "NETBUF_ADMIN_PASSWORD";
    public static final String PASSWORD_FILE_PROPERTY = "netbuf-server.admin-password-file";
    public static final Path DEFAULT_PASSWORD_FILE = Path.of("data", "admin-password");
    private static final String ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    private static final int GENERATED_LENGTH = 24;
    private static final Logger log = LoggerFactory.getLogger(AdminAccount.class);

    private final JdbcTemplate jdbc;

    public AdminAccount(JdbcTemplate jdbc, PasswordEncoder encoder, Environment env) {
        this.jdbc = jdbc;
        String given = env.getProperty(PASSWORD_VARIABLE);
        if (given == null || given.isEmpty()) {
            Path file = passwordFile(env);
            given = Files.exists(file, LinkOption.NOFOLLOW_LINKS) ? fromFile(file) : generateInto(file);
        }
        List<String> stored = jdbc.queryForList("SELECT password_hash FROM server_user WHERE username = ?",
                String.class, USERNAME);
        if (stored.isEmpty()) {
            insert(encoder.encode(given));
        } else if (!encoder.matches(given, stored.getFirst())) {
            jdbc.update("UPDATE server_user SET password_hash = ? WHERE username = ?", encoder.encode(given),
                    USERNAME);
        }
    }

    static Path passwordFile(Environment env) {
        String named = env.getProperty(PASSWORD_FILE_PROPERTY);
        return named == null || named.isBlank() ? DEFAULT_PASSWORD_FILE : Path.of(named);
    }

    /** The first line of the password file. */
    private static String fromFile(Path file) {
        String line;
        try {
            line = Files.readAllLines(file, StandardCharsets.UTF_8).stream().findFirst().orElse("").strip();
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

    /**
     * A new password, in a new file made 0600 by open(2) itself (CREATE_NEW: an existing file or link is never
     * written through), so it is never readable by others, not even for a moment. A missing parent is made 0700.
     */
    private static String generateInto(Path file) {
        String password = generate();
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (!Files.isDirectory(parent)) {
                Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            }
            try (SeekableByteChannel out = Files.newByteChannel(file,
                    Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                out.write(ByteBuffer.wrap((password + "\n").getBytes(StandardCharsets.UTF_8)));
            }
        } catch (IOException e) {
            throw new IllegalStateException(PASSWORD_FILE_PROPERTY + "=" + file
                    + ": the file does not exist and a generated admin password cannot be written there: " + e
                    + "; name a writable path, or set " + PASSWORD_VARIABLE, e);
        }
        log.warn("Generated the admin password into {} (readable by its owner only; edit it or set {} to choose"
                + " one, delete it for a new one)", file.toAbsolutePath(), PASSWORD_VARIABLE);
        return password;
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
