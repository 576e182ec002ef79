package io.remus.netbuf.lifecycle;

import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.NetbufDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;

/**
 * The process the crash matrix kills: installs a buffer on each of its vifs in a test namespace (and, in mode
 * {@code install-then-teardown}, tears them down), the vifs as one domain, as {@code NetbufService.protect} and
 * {@code stop} run them: each step for every vif in one batch. With the fault-injection point of
 * {@code -Dnetbuf.test.crash-at=...} it prints {@code NETBUF_CRASH_POINT <point>} there and waits for SIGKILL, so
 * the kill stops every buffer at the same point, all of them in flight. In mode {@code recover} it runs the
 * plugin's start-up recovery instead, on one thread, which stops at the point in the first buffer it undoes. If all
 * get through, it prints {@code NETBUF_CHILD_DONE <states>}; if one fails, {@code NETBUF_CHILD_FAILED <message>}
 * (exit 1).
 *
 * <p>Arguments: H2 JDBC URL, namespace file ({@code /run/netns/NAME}), vifs (comma-separated), mode
 * ({@code install}, {@code install-then-teardown} or {@code recover}).
 */
public final class CrashChildMain {

    public static final String INSTALL = "install";
    public static final String INSTALL_THEN_TEARDOWN = "install-then-teardown";
    /** Recovery of what an earlier child left, as the plugin runs it at start (the vifs argument is not used). */
    public static final String RECOVER = "recover";
    /** What the child prints when it got through its mode without meeting the crash point. */
    public static final String DONE_MARKER = "NETBUF_CHILD_DONE ";
    /** What the child prints when its mode failed. */
    public static final String FAILED_MARKER = "NETBUF_CHILD_FAILED ";

    private CrashChildMain() {
    }

    /** A data source on {@code url}, migrated (a no-op when the schema is there already), as the plugin starts. */
    static DataSource dataSource(String url) {
        DataSource ds = unmigrated(url);
        NetbufDatabase.migrate(ds);
        return ds;
    }

    static DataSource unmigrated(String url) {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL(url);
        ds.setUser("sa");
        return ds;
    }

    public static void main(String[] args) {
        if (args.length != 4) {
            System.err.println("usage: CrashChildMain JDBC_URL NETNS_FILE VIF[,VIF...]"
                    + " install|install-then-teardown|recover");
            System.exit(2);
        }
        String url = args[0];
        Path namespace = Path.of(args[1]);
        List<InterfaceName> vifs = Stream.of(args[2].split(",")).map(InterfaceName::of).toList();
        String mode = args[3];
        if (!mode.equals(INSTALL) && !mode.equals(INSTALL_THEN_TEARDOWN) && !mode.equals(RECOVER)) {
            System.err.println("unknown mode " + mode);
            System.exit(2);
        }
        try (Netlink netlink = Netlink.openInNamespace(namespace)) {
            // the test migrated the database before starting this process: Flyway's no-op check would cost seconds
            // of each child's start inside UML, and the crash points are in the lifecycle, not in the migration
            DataSource ds = unmigrated(url);
            // held until the process dies, as a connection pool holds its connections: the database stays open, so
            // what a commit wrote must reach the file by itself, not when the database closes
            Connection held = ds.getConnection();
            BufferStore store = new BufferStore(ds);
            BufferLifecycle lifecycle = new BufferLifecycle(store, new BufferInstaller(netlink),
                    NetbufSettings.defaults(), FaultInjection.fromSystemProperty());
            if (mode.equals(RECOVER)) {
                BufferRecovery.Report report = new BufferRecovery(lifecycle, new BufferInstaller(netlink)).recover();
                System.out.println(DONE_MARKER + report.lines());
                System.out.flush();
                held.close();
                System.exit(0);
            }
            // one domain of every vif, as NetbufService.protect and stop run it: each step for all vifs at once
            List<BufferRecord> buffers = lifecycle.install("dom1", vifs);
            if (mode.equals(INSTALL_THEN_TEARDOWN)) {
                buffers = lifecycle.teardown(buffers, false);
            }
            System.out.println(DONE_MARKER + buffers.stream().map(b -> b.state().name()).toList());
            System.out.flush();
            held.close();
        } catch (RuntimeException | SQLException e) {
            System.out.println(FAILED_MARKER + e);
            e.printStackTrace(System.out);
            System.out.flush();
            System.exit(1);
        }
        System.exit(0);
    }
}
