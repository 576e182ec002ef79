package io.remus.netbuf.persistence;

import io.remus.netbuf.lifecycle.TestDatabase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterEach;

/**
 * {@link BufferStore} on an H2 file database under target/h2, the plugin's embedded default.
 *
 * <p>Each database is kept open by one idle connection for the length of its test (else H2 opens and closes the
 * file for every transaction, since the store's data source does not pool), then shut down and its files deleted.
 */
class H2BufferStoreTest extends BufferStoreContract {

    private final List<Connection> anchors = new ArrayList<>();
    private final List<String> files = new ArrayList<>();

    @Override
    protected DataSource dataSource() {
        return anchored((JdbcDataSource) TestDatabase.h2File("buffer-store"));
    }

    @Override
    protected DataSource emptyDataSource() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:file:" + Path.of("target", "h2").toAbsolutePath()
                .resolve("buffer-store-empty-" + System.nanoTime()) + ";DB_CLOSE_ON_EXIT=FALSE");
        ds.setUser("sa");
        return anchored(ds);
    }

    private DataSource anchored(JdbcDataSource ds) {
        try {
            anchors.add(ds.getConnection());
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
        String url = ds.getURL();
        files.add(url.substring("jdbc:h2:file:".length(), url.indexOf(';')));
        return ds;
    }

    @AfterEach
    void dropDatabases() throws SQLException, IOException {
        for (Connection c : anchors) {
            try (c; Statement st = c.createStatement()) {
                st.execute("SHUTDOWN");
            }
        }
        anchors.clear();
        for (String file : files) {
            for (String suffix : List.of(".mv.db", ".trace.db")) {
                Files.deleteIfExists(Path.of(file + suffix));
            }
        }
        files.clear();
    }
}
