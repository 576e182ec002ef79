package io.remus.netbuf.server.xen;

import io.remus.netbuf.server.ConditionalOnHypervisor;
import io.remus.netbuf.server.HypervisorProperties.Hypervisor;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Set;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/** The server_remus_mark table: the names of the Xen domains to buffer. */
@Repository
@ConditionalOnHypervisor(Hypervisor.XEN)
public class RemusMarks {

    private final JdbcTemplate jdbc;

    public RemusMarks(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public Set<String> names() {
        return new LinkedHashSet<>(jdbc.queryForList("SELECT name FROM server_remus_mark ORDER BY name", String.class));
    }

    /** Marks {@code name}; false if it was marked already. */
    public boolean mark(String name) {
        return jdbc.update("INSERT INTO server_remus_mark (name, marked_at) SELECT ?, ? WHERE NOT EXISTS"
                + " (SELECT 1 FROM server_remus_mark WHERE name = ?)", name, Timestamp.from(Instant.now()), name) == 1;
    }

    /** Unmarks {@code name}; false if it was not marked. */
    public boolean unmark(String name) {
        return jdbc.update("DELETE FROM server_remus_mark WHERE name = ?", name) == 1;
    }
}
