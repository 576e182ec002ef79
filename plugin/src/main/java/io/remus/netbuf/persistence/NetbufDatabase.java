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

    public static void migrate(DataSource dataSource) {
        Flyway.configure().dataSource(dataSource).locations(MIGRATIONS).table(HISTORY_TABLE)
                .baselineOnMigrate(true).baselineVersion("0").load().migrate();
    }
}
