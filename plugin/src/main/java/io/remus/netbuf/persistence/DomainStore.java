package io.remus.netbuf.persistence;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The per-domain rows: epochs of the checkpoint API, and each domain's protection (driver, deadline, failovers).
 *
 * <p>The epochs rows are read from the database once and then kept in memory as this store commits them: the
 * checkpoint tick reads every domain's epochs many times a second, and the plugin is the only writer of its tables
 * (the service already keeps its own copy of the protections the same way).
 */
public class DomainStore {

    private static final String COLUMNS = "domain_name, open_epoch, awaiting_epoch, epochs_begun, epochs_committed,"
            + " epochs_failed, failure";

    private final JdbcClient jdbc;
    /** Every epochs row by domain, as committed; null until first read. */
    private volatile Map<String, DomainEpochs> epochs;

    public DomainStore(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
    }

    public Optional<DomainEpochs> find(String domain) {
        return Optional.ofNullable(epochs().get(domain));
    }

    /** Every row, by domain name. */
    public List<DomainEpochs> all() {
        return epochs().values().stream().sorted(Comparator.comparing(DomainEpochs::domain)).toList();
    }

    private Map<String, DomainEpochs> epochs() {
        Map<String, DomainEpochs> read = epochs;
        if (read == null) {
            synchronized (this) {
                if (epochs == null) {
                    Map<String, DomainEpochs> rows = new ConcurrentHashMap<>();
                    jdbc.sql("SELECT " + COLUMNS + " FROM netbuf_domain")
                            .query((rs, n) -> new DomainEpochs(rs.getString(1), rs.getLong(2), rs.getLong(3),
                                    rs.getLong(4), rs.getLong(5), rs.getLong(6), rs.getString(7)))
                            .list().forEach(e -> rows.put(e.domain(), e));
                    epochs = rows;
                }
                read = epochs;
            }
        }
        return read;
    }

    /**
     * The rows as written, kept once committed: at once, or when the caller's transaction commits (if it rolls
     * back, the rows in memory stay what the database has).
     */
    private void written(List<DomainEpochs> rows) {
        Map<String, DomainEpochs> kept = epochs();
        AfterTransaction.commit(() -> rows.forEach(e -> kept.put(e.domain(), e)));
    }

    /** The row as the database keeps it: a failure cut to its column's 2,000 characters. */
    private static DomainEpochs stored(DomainEpochs e) {
        return e.failure() == null || e.failure().length() <= 2000 ? e
                : new DomainEpochs(e.domain(), e.openEpoch(), e.awaitingEpoch(), e.epochsBegun(), e.epochsCommitted(),
                        e.epochsFailed(), e.failure().substring(0, 2000));
    }

    /** Writes the row (the caller serialises per domain). */
    public void save(DomainEpochs e) {
        List<DomainEpochs> row = List.of(stored(e));
        try {
            merge(row);
        } catch (DataAccessException failed) {
            throw NetbufDatabaseException.writing("the epochs of domain " + e.domain(), failed);
        }
        written(row);
    }

    /**
     * Writes the rows in one transaction: all of them, or (refused) none. The checkpoint loop's write of every
     * domain's epochs, each tick.
     */
    public void saveAll(List<DomainEpochs> epochs) {
        if (epochs.isEmpty()) {
            return;
        }
        List<DomainEpochs> rows = epochs.stream().map(DomainStore::stored).toList();
        try {
            merge(rows);
        } catch (DataAccessException failed) {
            throw NetbufDatabaseException.writing("the epochs of " + epochs.size() + " domains", failed);
        }
        written(rows);
    }

    /**
     * Every row of {@code epochs} (as {@link #stored}) updated, or inserted where it has none, in one statement of fixed text whatever
     * their number (each column's values one array parameter): H2 runs a batch as one statement per row, and
     * reads the clock twice for each (a system call in user-mode-linux). Standard SQL that H2 and PostgreSQL 15
     * and later both run.
     */
    private void merge(List<DomainEpochs> epochs) {
        int n = epochs.size();
        String[] names = new String[n];
        Long[] open = new Long[n];
        Long[] awaiting = new Long[n];
        Long[] begun = new Long[n];
        Long[] committed = new Long[n];
        Long[] failed = new Long[n];
        String[] failures = new String[n];
        for (int i = 0; i < n; i++) {
            DomainEpochs e = epochs.get(i);
            names[i] = e.domain();
            open[i] = e.openEpoch();
            awaiting[i] = e.awaitingEpoch();
            begun[i] = e.epochsBegun();
            committed[i] = e.epochsCommitted();
            failed[i] = e.epochsFailed();
            failures[i] = e.failure();
        }
        Timestamp now = Timestamp.from(Instant.now());
        jdbc.sql(MERGE_EPOCHS).params(names, open, awaiting, begun, committed, failed, failures, now, now).update();
    }

    private static final String MERGE_EPOCHS = "MERGE INTO netbuf_domain d USING (SELECT * FROM UNNEST("
            + "CAST(? AS VARCHAR(64) ARRAY), CAST(? AS BIGINT ARRAY), CAST(? AS BIGINT ARRAY), CAST(? AS BIGINT ARRAY),"
            + " CAST(? AS BIGINT ARRAY), CAST(? AS BIGINT ARRAY), CAST(? AS VARCHAR(2000) ARRAY)))"
            + " AS v (domain_name, open_epoch, awaiting_epoch, epochs_begun, epochs_committed, epochs_failed, failure)"
            + " ON d.domain_name = v.domain_name"
            + " WHEN MATCHED THEN UPDATE SET open_epoch = v.open_epoch, awaiting_epoch = v.awaiting_epoch,"
            + " epochs_begun = v.epochs_begun, epochs_committed = v.epochs_committed, epochs_failed = v.epochs_failed,"
            + " failure = v.failure, updated_at = ?"
            + " WHEN NOT MATCHED THEN INSERT (domain_name, open_epoch, awaiting_epoch, epochs_begun, epochs_committed,"
            + " epochs_failed, failure, updated_at) VALUES (v.domain_name, v.open_epoch, v.awaiting_epoch,"
            + " v.epochs_begun, v.epochs_committed, v.epochs_failed, v.failure, ?)";

    private static final String PROTECTION_COLUMNS = "domain_name, driver, ack_timeout_ms, state, reason,"
            + " failed_over_at, failovers";

    public Optional<DomainProtection> findProtection(String domain) {
        return jdbc.sql("SELECT " + PROTECTION_COLUMNS + " FROM netbuf_protection WHERE domain_name = ?")
                .param(domain).query((rs, n) -> protection(rs)).optional();
    }

    public List<DomainProtection> allProtections() {
        return jdbc.sql("SELECT " + PROTECTION_COLUMNS + " FROM netbuf_protection ORDER BY domain_name")
                .query((rs, n) -> protection(rs)).list();
    }

    /** Writes the row (the caller serialises per domain). */
    public void save(DomainProtection p) {
        try {
            Timestamp now = Timestamp.from(Instant.now());
            Long timeout = p.ackTimeout() == null ? null : p.ackTimeout().toMillis();
            String reason = p.reason() == null || p.reason().length() <= 2000 ? p.reason() : p.reason().substring(0, 2000);
            Timestamp at = p.failedOverAt() == null ? null : Timestamp.from(p.failedOverAt());
            int rows = jdbc.sql("UPDATE netbuf_protection SET driver = ?, ack_timeout_ms = ?, state = ?, reason = ?,"
                            + " failed_over_at = ?, failovers = ?, updated_at = ? WHERE domain_name = ?")
                    .params(p.driver().name(), timeout, p.state().name(), reason, at, p.failovers(), now, p.domain())
                    .update();
            if (rows == 0) {
                jdbc.sql("INSERT INTO netbuf_protection (domain_name, driver, ack_timeout_ms, state, reason,"
                                + " failed_over_at, failovers, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                        .params(p.domain(), p.driver().name(), timeout, p.state().name(), reason, at, p.failovers(), now)
                        .update();
            }
        } catch (DataAccessException failed) {
            throw NetbufDatabaseException.writing("the protection of domain " + p.domain(), failed);
        }
    }

    private static DomainProtection protection(ResultSet rs) throws SQLException {
        long timeout = rs.getLong(3);
        Duration ackTimeout = rs.wasNull() ? null : Duration.ofMillis(timeout);
        Timestamp at = rs.getTimestamp(6);
        return new DomainProtection(rs.getString(1), DomainProtection.Driver.valueOf(rs.getString(2)), ackTimeout,
                DomainProtection.State.valueOf(rs.getString(4)), rs.getString(5), at == null ? null : at.toInstant(),
                rs.getLong(7));
    }
}
