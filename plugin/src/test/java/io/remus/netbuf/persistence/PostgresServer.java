package io.remus.netbuf.persistence;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A PostgreSQL server for tests: one throwaway cluster per test JVM, started on first use and stopped at JVM exit,
 * with a fresh database per {@link #newDatabase()}.
 *
 * <p>The cluster is made with the Debian {@code postgresql} package's binaries ({@code /usr/lib/postgresql/15/bin},
 * else the newest version there). {@code initdb} refuses to run as root, so as root every server command runs as
 * the OS user {@code postgres} through {@code runuser -u postgres --}. The data directory is
 * {@code target/pg-<pid>/data} (or, if {@code postgres} cannot reach {@code target/}, a {@code /tmp/netbuf-pg-*}
 * directory); the server listens on 127.0.0.1 only, on a free port, with its unix socket inside the data directory,
 * {@code fsync=off}, and trust authentication for 127.0.0.1 only (peer on the socket). Every wait is bounded
 * ({@code pg_ctl -w -t 60}, and a timeout on every subprocess).
 *
 * <p>At JVM exit a shutdown hook runs {@code pg_ctl stop -m fast} and deletes the directory. A JVM killed with
 * SIGKILL runs no hook, so a small watchdog ({@code sh}, in its own session) holds a pipe from the JVM: when the
 * JVM is gone, however it died, the pipe closes and the watchdog stops the server and deletes the directory.
 *
 * <p>If {@code NETBUF_TEST_PG_URL} is set ({@code jdbc:postgresql://host:port/db?user=...&password=...}), that
 * server is used instead, and the databases made on it are dropped at JVM exit. The user needs CREATEDB.
 */
public final class PostgresServer {

    /** A running server to use instead of a throwaway one: a JDBC URL with the user and password in it. */
    public static final String URL_ENV = "NETBUF_TEST_PG_URL";

    private static final String FIX = "apt-get install postgresql (make test installs it)";
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(90);
    private static final int PG_CTL_WAIT_SECONDS = 60;
    private static final String OS_USER = "postgres";
    /** sun_path is 108 bytes, with its NUL. */
    private static final int MAX_SOCKET_PATH = 107;

    private static final Object LOCK = new Object();
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static Server server;
    private static RuntimeException startFailure;

    private PostgresServer() {
    }

    /** A fresh, empty database with the plugin's schema migrated into it. */
    public static DataSource newDatabase() {
        DataSource ds = newEmptyDatabase();
        NetbufDatabase.migrate(ds);
        return ds;
    }

    /** A fresh, empty database, not migrated. */
    public static PGSimpleDataSource newEmptyDatabase() {
        Server s = server();
        String name = "netbuf_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
        try (Connection c = s.admin().getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create database " + name + " on " + s.describe(), e);
        }
        s.created(name);
        return s.dataSource(name);
    }

    /** What server the tests use, for messages. */
    public static String describe() {
        return server().describe();
    }

    /** Whether the tests use a throwaway cluster of their own (not one named by {@value #URL_ENV}). */
    public static boolean throwaway() {
        return server() instanceof Cluster;
    }

    private static Server server() {
        synchronized (LOCK) {
            if (server != null) {
                return server;
            }
            if (startFailure != null) {
                throw new IllegalStateException(startFailure.getMessage(), startFailure);
            }
            try {
                String url = System.getenv(URL_ENV);
                server = url == null || url.isBlank() ? Cluster.start() : External.connect(url.strip());
                return server;
            } catch (RuntimeException e) {
                startFailure = e;
                throw e;
            }
        }
    }

    private interface Server {

        /** Connects as a user that may CREATE DATABASE, to a database that is never dropped. */
        DataSource admin();

        PGSimpleDataSource dataSource(String database);

        default void created(String database) {
        }

        String describe();
    }

    // --- a server named by NETBUF_TEST_PG_URL ------------------------------------------------------------------

    private static final class External implements Server {

        private final String url;
        private final List<String> created = new CopyOnWriteArrayList<>();
        private String version = "?";

        private External(String url) {
            this.url = url;
        }

        static External connect(String url) {
            if (!url.startsWith("jdbc:postgresql:")) {
                throw new IllegalStateException(URL_ENV + " must be a jdbc:postgresql:// URL, not " + redact(url));
            }
            External e = new External(url);
            e.version = version(e.admin(), e.describe());
            Runtime.getRuntime().addShutdownHook(new Thread(e::dropAll, "netbuf-pg-drop"));
            return e;
        }

        @Override
        public DataSource admin() {
            PGSimpleDataSource ds = new PGSimpleDataSource();
            ds.setUrl(url);
            ds.setConnectTimeout(10);
            ds.setLoginTimeout(10);
            return ds;
        }

        @Override
        public PGSimpleDataSource dataSource(String database) {
            PGSimpleDataSource ds = (PGSimpleDataSource) admin();
            ds.setDatabaseName(database);
            ds.setApplicationName("netbuf-test");
            return ds;
        }

        @Override
        public void created(String database) {
            created.add(database);
        }

        private void dropAll() {
            try (Connection c = admin().getConnection(); Statement st = c.createStatement()) {
                for (String db : created) {
                    st.execute("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
                }
            } catch (SQLException e) {
                System.err.println("netbuf tests: could not drop the test databases " + created + " on "
                        + describe() + ": " + e.getMessage());
            }
        }

        @Override
        public String describe() {
            return "PostgreSQL " + version + " at " + redact(url) + " (from " + URL_ENV + ")";
        }

        private static String redact(String url) {
            return url.replaceAll("(?i)(password=)[^&]*", "$1***");
        }
    }

    // --- a throwaway cluster of our own --------------------------------------------------------------------------

    private static final class Cluster implements Server {

        private final Path bin;
        private final boolean root;
        private final Path base;
        private final Path data;
        private int port;
        private String version = "?";
        private Process watchdog;

        private Cluster(Path bin, boolean root, Path base) {
            this.bin = bin;
            this.root = root;
            this.base = base;
            this.data = base.resolve("data");
        }

        static Cluster start() {
            Path bin = binaries();
            boolean root = isRoot();
            if (root && lookup().isEmpty()) {
                throw new IllegalStateException("there is no OS user " + OS_USER + " to run the test PostgreSQL as"
                        + " (initdb refuses root): " + FIX);
            }
            Cluster c = new Cluster(bin, root, baseDirectory(root));
            try {
                c.initdb();
                c.watch();
                c.startOnFreePort();
                c.version = version(c.admin(), c.describe());
            } catch (RuntimeException e) {
                c.stop();
                throw e;
            }
            Runtime.getRuntime().addShutdownHook(new Thread(c::stop, "netbuf-pg-stop"));
            return c;
        }

        private void initdb() {
            run(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", OS_USER,
                    "--auth-local=peer", "--auth-host=trust", "--encoding=UTF8", "--no-locale", "--no-sync"));
            try {
                // loopback TCP without a password (the server listens on 127.0.0.1 only); the socket by peer
                Files.writeString(data.resolve("pg_hba.conf"), """
                        # netbuf tests: a throwaway cluster listening on 127.0.0.1 only
                        local   all   all                 peer
                        host    all   all   127.0.0.1/32  trust
                        """);
                Files.writeString(data.resolve("postgresql.conf"), """

                        # netbuf tests
                        listen_addresses = '127.0.0.1'
                        unix_socket_directories = '%s'
                        fsync = off
                        synchronous_commit = off
                        full_page_writes = off
                        max_connections = 200
                        shared_buffers = 32MB
                        """.formatted(data), java.nio.file.StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new UncheckedIOException("could not configure the test cluster in " + data, e);
            }
        }

        private void startOnFreePort() {
            String failures = "";
            for (int attempt = 1; attempt <= 3; attempt++) {
                port = freePort();
                try {
                    run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l",
                            base.resolve("server.log").toString(), "-o", "-p " + port, "-w", "-t",
                            String.valueOf(PG_CTL_WAIT_SECONDS), "start"));
                    return;
                } catch (IllegalStateException e) {
                    // another process may have taken the port between freePort() and the server's bind
                    failures += "\nattempt " + attempt + " (port " + port + "): " + e.getMessage();
                }
            }
            throw new IllegalStateException("the test PostgreSQL in " + data + " did not start:" + failures
                    + "\nserver log:\n" + tail(base.resolve("server.log")));
        }

        /**
         * A watchdog in its own session, blocked reading a pipe only this JVM holds: when the JVM ends, however it
         * ends, the read returns and the watchdog stops the server and deletes the directory. The shutdown hook
         * does the same first, then kills the watchdog.
         */
        private void watch() {
            String script = """
                    cat >/dev/null
                    if [ "$(id -u)" = 0 ]; then set -- runuser -u postgres -- "$@"; fi
                    "$@" -m fast -w -t 60 stop >/dev/null 2>&1
                    rm -rf -- "$BASE"
                    """;
            ProcessBuilder pb = new ProcessBuilder("setsid", "sh", "-c", script, "netbuf-pg-watchdog",
                    bin.resolve("pg_ctl").toString(), "-D", data.toString());
            pb.environment().put("BASE", base.toString());
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
            try {
                watchdog = pb.start();
            } catch (IOException e) {
                throw new UncheckedIOException("could not start the watchdog of the test PostgreSQL", e);
            }
        }

        /** Stops the server and deletes its directory; never throws (it runs in a shutdown hook). */
        synchronized void stop() {
            Optional<ProcessHandle> postmaster = postmaster();
            try {
                if (postmaster.isPresent()) {
                    try {
                        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w",
                                "-t", String.valueOf(PG_CTL_WAIT_SECONDS), "stop"));
                    } catch (RuntimeException fast) {
                        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate",
                                "-w", "-t", String.valueOf(PG_CTL_WAIT_SECONDS), "stop"));
                    }
                }
            } catch (RuntimeException e) {
                System.err.println("netbuf tests: could not stop the test PostgreSQL in " + data + ": "
                        + e.getMessage());
            }
            // pg_ctl returns when the pid file is gone; wait for the process itself, so none outlives the JVM
            postmaster.ifPresent(p -> awaitGone(p.pid()));
            deleteRecursively(base);
            if (watchdog != null) {
                List<ProcessHandle> children = watchdog.descendants().toList();
                watchdog.destroy();
                children.forEach(ProcessHandle::destroy);
                try {
                    watchdog.waitFor(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                children.forEach(c -> awaitGone(c.pid()));
                watchdog = null;
            }
        }

        /** The postmaster, from the first line of its pid file, if it is running. */
        private Optional<ProcessHandle> postmaster() {
            try {
                List<String> lines = Files.readAllLines(data.resolve("postmaster.pid"), StandardCharsets.US_ASCII);
                return lines.isEmpty() ? Optional.empty() : ProcessHandle.of(Long.parseLong(lines.getFirst().strip()));
            } catch (IOException | NumberFormatException e) {
                return Optional.empty();
            }
        }

        /** Waits (at most 10 s) until the process is gone, and reaped: not even a zombie left in /proc. */
        private static void awaitGone(long pid) {
            Path proc = Path.of("/proc", String.valueOf(pid));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (Files.exists(proc) && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }

        @Override
        public DataSource admin() {
            return dataSource("postgres");
        }

        @Override
        public PGSimpleDataSource dataSource(String database) {
            PGSimpleDataSource ds = new PGSimpleDataSource();
            ds.setServerNames(new String[] {"127.0.0.1"});
            ds.setPortNumbers(new int[] {port});
            ds.setUser(OS_USER);
            ds.setDatabaseName(database);
            ds.setApplicationName("netbuf-test");
            ds.setConnectTimeout(10);
            ds.setLoginTimeout(10);
            return ds;
        }

        @Override
        public String describe() {
            return "throwaway PostgreSQL " + version + " at 127.0.0.1:" + port + " (data in " + data + ")";
        }

        /** Runs a server command (as postgres when root), bounded, and returns its output; throws if it fails. */
        private String run(List<String> command) {
            List<String> full = new ArrayList<>();
            if (root) {
                full.addAll(List.of("runuser", "-u", OS_USER, "--"));
            }
            full.addAll(command);
            Path out = null;
            try {
                out = Files.createTempFile(base, "command-", ".out");
                ProcessBuilder pb = new ProcessBuilder(full).directory(base.toFile()).redirectErrorStream(true)
                        .redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null")
                                .toFile()));
                Map<String, String> env = pb.environment();
                env.keySet().removeIf(k -> k.startsWith("PG"));
                env.put("LC_ALL", "C");
                Process p = pb.start();
                if (!p.waitFor(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    throw new IllegalStateException(String.join(" ", full) + " did not finish in " + COMMAND_TIMEOUT
                            + ":\n" + Files.readString(out, StandardCharsets.UTF_8));
                }
                String output = Files.readString(out, StandardCharsets.UTF_8);
                if (p.exitValue() != 0) {
                    throw new IllegalStateException(String.join(" ", full) + " exited with " + p.exitValue() + ":\n"
                            + output.strip());
                }
                return output;
            } catch (IOException e) {
                throw new UncheckedIOException("could not run " + String.join(" ", full), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted running " + String.join(" ", full), e);
            } finally {
                if (out != null) {
                    try {
                        Files.deleteIfExists(out);
                    } catch (IOException ignored) {
                        // a temporary file; nothing to do
                    }
                }
            }
        }

        /** The binaries of PostgreSQL 15, else of the newest version installed. */
        private static Path binaries() {
            Path versions = Path.of("/usr/lib/postgresql");
            List<Path> candidates = new ArrayList<>();
            candidates.add(versions.resolve("15/bin"));
            if (Files.isDirectory(versions)) {
                try (Stream<Path> dirs = Files.list(versions)) {
                    dirs.filter(d -> d.getFileName().toString().matches("\\d+"))
                            .sorted(Comparator.comparingInt((Path d) -> Integer.parseInt(d.getFileName().toString()))
                                    .reversed())
                            .map(d -> d.resolve("bin"))
                            .forEach(candidates::add);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return candidates.stream()
                    .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl"))
                            && Files.isExecutable(b.resolve("postgres")))
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException("no PostgreSQL server binaries (initdb, pg_ctl,"
                            + " postgres) under " + versions + "/<version>/bin: " + FIX + "; or set " + URL_ENV
                            + "=jdbc:postgresql://host:port/db?user=...&password=... to use a running server"));
        }

        /**
         * {@code target/pg-<pid>}, owned by postgres when root; or a fresh {@code /tmp/netbuf-pg-*} if postgres
         * cannot reach {@code target/}, or if the socket path would be too long there.
         */
        private static Path baseDirectory(boolean root) {
            Path target = Path.of("target").toAbsolutePath().resolve("pg-" + ProcessHandle.current().pid());
            try {
                if (socketFits(target)) {
                    if (Files.exists(target)) {
                        // a JVM with our pid ran before and was killed: its watchdog will have cleaned up, but
                        // the directory may be a leftover of an older, unwatched run
                        deleteRecursively(target);
                    }
                    Files.createDirectories(target);
                    if (!root || (chown(target) && reachable(target))) {
                        return target;
                    }
                    deleteRecursively(target);
                }
                Path tmp = Files.createTempDirectory(Path.of("/tmp"), "netbuf-pg-");
                if (root) {
                    chown(tmp);
                }
                return tmp;
            } catch (IOException e) {
                throw new UncheckedIOException("could not make a directory for the test PostgreSQL", e);
            }
        }

        private static boolean socketFits(Path base) {
            return base.resolve("data").resolve(".s.PGSQL.65535.lock").toString()
                    .getBytes(StandardCharsets.UTF_8).length <= MAX_SOCKET_PATH;
        }

        private static boolean chown(Path dir) throws IOException {
            Optional<UserPrincipal> user = lookup();
            if (user.isEmpty()) {
                return false;
            }
            UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
            PosixFileAttributeView view = Files.getFileAttributeView(dir, PosixFileAttributeView.class);
            view.setOwner(user.get());
            try {
                GroupPrincipal group = users.lookupPrincipalByGroupName(OS_USER);
                view.setGroup(group);
            } catch (IOException noSuchGroup) {
                // the owner is what matters
            }
            return true;
        }

        /** Whether postgres can reach and write {@code dir} (every parent traversable). */
        private static boolean reachable(Path dir) {
            try {
                Process p = new ProcessBuilder("runuser", "-u", OS_USER, "--", "test", "-w", dir.toString(), "-a",
                        "-x", dir.toString())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    return false;
                }
                return p.exitValue() == 0;
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }

        private static Optional<UserPrincipal> lookup() {
            try {
                return Optional.of(Path.of("/").getFileSystem().getUserPrincipalLookupService()
                        .lookupPrincipalByName(OS_USER));
            } catch (IOException e) {
                return Optional.empty();
            }
        }

        private static boolean isRoot() {
            try {
                return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
            } catch (IOException | UnsupportedOperationException e) {
                return "root".equals(System.getProperty("user.name"));
            }
        }

        private static int freePort() {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
                return s.getLocalPort();
            } catch (IOException e) {
                throw new UncheckedIOException("no free port on 127.0.0.1", e);
            }
        }

        private static String tail(Path log) {
            try {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
            } catch (IOException e) {
                return "(no log: " + e.getMessage() + ")";
            }
        }
    }

    private static String version(DataSource ds, String where) {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW server_version")) {
            rs.next();
            return rs.getString(1);
        } catch (SQLException e) {
            throw new IllegalStateException("could not connect to " + where + ": " + e.getMessage(), e);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    if (e instanceof NoSuchFileException) {
                        return FileVisitResult.CONTINUE;
                    }
                    throw e;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("netbuf tests: could not delete " + dir + ": " + e);
        }
    }
}
