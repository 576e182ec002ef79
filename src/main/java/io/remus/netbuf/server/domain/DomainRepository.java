package io.remus.netbuf.server.domain;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/** The server_domain table. */
@Repository
public class DomainRepository {

    private final JdbcTemplate jdbc;

    public DomainRepository(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public List<Domain> all() {
        return jdbc.query("SELECT * FROM server_domain ORDER BY domid", DomainRepository::row);
    }

    public Optional<Domain> find(String name) {
        return jdbc.query("SELECT * FROM server_domain WHERE name = ?", DomainRepository::row, name).stream().findFirst();
    }

    /** The smallest domid from 1 up that no domain has. */
    public int freeDomid() {
        List<Integer> used = jdbc.queryForList("SELECT domid FROM server_domain ORDER BY domid", Integer.class);
        int id = 1;
        for (int u : used) {
            if (u == id) {
                id++;
            } else if (u > id) {
                break;
            }
        }
        return id;
    }

    public void insert(Domain d) {
        jdbc.update("INSERT INTO server_domain (name, domid, remus, checkpoint, vif_count, state, created_at)"
                        + " VALUES (?, ?, ?, ?, ?, ?, ?)", d.name(), d.domid(), d.remus(), d.checkpoint(), d.vifCount(),
                d.state().name(), Timestamp.from(Instant.now()));
    }

    public void setState(String name, DomainState state) {
        jdbc.update("UPDATE server_domain SET state = ? WHERE name = ?", state.name(), name);
    }

    public void delete(String name) {
        jdbc.update("DELETE FROM server_domain WHERE name = ?", name);
    }

    private static Domain row(ResultSet rs, int n) throws SQLException {
        return new Domain(rs.getString("name"), rs.getInt("domid"), rs.getBoolean("remus"),
                rs.getBoolean("checkpoint"), rs.getInt("vif_count"), DomainState.valueOf(rs.getString("state")));
    }
}
