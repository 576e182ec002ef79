package io.remus.netbuf.lifecycle;

import io.remus.netbuf.persistence.PostgresServer;
import javax.sql.DataSource;

/** The same lifecycle tests against a real PostgreSQL server: the plugin's database is chosen by its URL alone. */
class PostgresHostLifecycleTest extends HostLifecycleTest {

    @Override
    DataSource dataSource() {
        return PostgresServer.newDatabase();
    }
}
