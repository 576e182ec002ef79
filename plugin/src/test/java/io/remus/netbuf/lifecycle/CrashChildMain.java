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
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;

/**
 * The process the crash matrix kills: installs a buffer (and, in mode {@code install-then-teardown}, tears it down)
 * on a vif in a test namespace, with the fault-injection point of {@code -Dnetbuf.test.crash-at=...}, where it
 * prints {@code NETBUF_CRASH_POINT <point>} and waits for SIGKILL. If it gets through, it prints
 * {@code NETBUF_CHILD_DONE <state>}; if its mode fails, {@code NETBUF_CHILD_FAILED <message>} (exit 1).
 *
 * <p>Arguments: H2 JDBC URL, namespace file ({@code /run/netns/NAME}), vif, mode ({@code install} or
 * {@code install-then-teardown}).
 */
public final class CrashChildMain {

    public static final String INSTALL = "install";
    public static final String INSTALL_THEN_TEARDOWN = "install-then-teardown";
    /** What the child prints when it got through its mode without meeting the crash point. */
    public static final String DONE_MARKER = "NETBUF_CHILD_DONE ";
    /** What the child prints when its mode failed. */
    public static final String FAILED_MARKER = "NETBUF_CHILD_FAILED ";

    private CrashChildMain() {
    }

    /** A data source on {@code url}, migrated (a no-op when the schema is there already), as the plugin starts. */
    static DataSource dataSource(String url) {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL(url);
        ds.setUser("sa");
        NetbufDatabase.migrate(ds);
        return ds;
    }

    public static void main(String[] args) {
        if (args.length != 4) {
            System.err.println("usage: CrashChildMain JDBC_URL NETNS_FILE VIF install|install-then-teardown");
            System.exit(2);
        }
        String url = args[0];
        Path namespace = Path.of(args[1]);
        InterfaceName vif = InterfaceName.of(args[2]);
        String mode = args[3];
        if (!mode.equals(INSTALL) && !mode.equals(INSTALL_THEN_TEARDOWN)) {
            System.err.println("unknown mode " + mode);
            System.exit(2);
        }
        try (Netlink netlink = Netlink.openInNamespace(namespace)) {
            DataSource ds = dataSource(url);
            // held until the process dies, as a connection pool holds its connections: the database stays open, so
            // what a commit wrote must reach the file by itself, not when the database closes
            Connection held = ds.getConnection();
            BufferStore store = new BufferStore(ds);
            BufferLifecycle lifecycle = new BufferLifecycle(store, new BufferInstaller(netlink),
                    NetbufSettings.defaults(), FaultInjection.fromSystemProperty());
            BufferRecord buffer = lifecycle.install("dom7", vif);
            if (mode.equals(INSTALL_THEN_TEARDOWN)) {
                buffer = lifecycle.teardown(buffer.id());
            }
            System.out.println(DONE_MARKER + buffer.state());
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
