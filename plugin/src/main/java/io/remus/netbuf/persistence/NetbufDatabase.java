package io.remus.netbuf.persistence;

import javax.sql.DataSource;
import org.flywaydb.core.Flyway;

/** Applies the plugin's schema (the top-level migrations/, packaged at {@code db/netbuf}) with Flyway. */
public final class NetbufDatabase {

    public static final String MIGRATIONS = "classpath:db/netbuf";
    /** Its own history table, so the plugin's schema versions never mix with the host application's. */
    public static final String HISTORY_TABLE = "netbuf_schema_history";

    private NetbufDatabase() {
    }

    /**
     * The embedded default: an H2 file database. {@code WRITE_DELAY=0} writes each commit to the file when it
     * commits; H2's default (500 ms, written in the background) loses committed intents to a SIGKILL, and with
     * them the record of kernel objects the plugin made (found by the crash matrix). A power loss can still lose
     * the last commits: H2 does not fsync each one; use PostgreSQL where that matters. {@code DB_CLOSE_ON_EXIT=FALSE}
     * leaves closing to the application: H2's own shutdown hook would otherwise close the database while the
     * application's shutdown still uses it (a server stopping its domains at SIGTERM). {@code LOCK_TIMEOUT=10000}:
     * a claim waits for a competing transaction to commit, and H2's 2 s default ran out with 64 installs racing on
     * a busy 2-core machine (a timeout there is not a refusal, and failed the install).
     */
    public static String h2FileUrl(java.nio.file.Path file) {
        return "jdbc:h2:file:" + file.toAbsolutePath() + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=10000";
    }

    public static void migrate(DataSource dataSource) {
        Flyway.configure().dataSource(dataSource).locations(MIGRATIONS).table(HISTORY_TABLE)
                .baselineOnMigrate(true).baselineVersion("0").load().migrate();
    }
}
