package io.remus.netbuf.lifecycle;

import io.remus.netbuf.persistence.NetbufDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;

/** A fresh H2 file database under target/, migrated: the embedded default, as the plugin uses it. */
public final class TestDatabase {

    private TestDatabase() {
    }

    public static DataSource h2File(String name) {
        try {
            Path dir = Files.createDirectories(Path.of("target", "h2"));
            String url = NetbufDatabase.h2FileUrl(dir.resolve(name + "-" + System.nanoTime()));
            return h2(url);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    public static DataSource h2(String url) {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL(url);
        ds.setUser("sa");
        NetbufDatabase.migrate(ds);
        return ds;
    }
}
