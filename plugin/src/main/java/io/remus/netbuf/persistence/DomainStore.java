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
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

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
    private final JdbcTemplate batch;
    private final TransactionTemplate tx;

    public DomainStore(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
        this.batch = new JdbcTemplate(dataSource);
        this.tx = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    }

    /** Every epochs row by domain, as committed; null until first read. */
    private volatile Map<String, DomainEpochs> epochs;

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
        List<DomainEpochs> stored = rows.stream().map(e -> e.failure() == null || e.failure().length() <= 2000 ? e
                : new DomainEpochs(e.domain(), e.openEpoch(), e.awaitingEpoch(), e.epochsBegun(), e.epochsCommitted(),
                        e.epochsFailed(), failure(e))).toList();
        Runnable keep = () -> stored.forEach(e -> kept.put(e.domain(), e));
        if (TransactionSynchronizationManager.isSynchronizationActive()) {
            TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
                @Override
                public void afterCommit() {
                    keep.run();
                }
            });
        } else {
            keep.run();
        }
    }

    /** Writes the row (the caller serialises per domain). */
    public void save(DomainEpochs e) {
        try {
            upsert(e);
        } catch (DataAccessException failed) {
            throw NetbufDatabaseException.writing("the epochs of domain " + e.domain(), failed);
        }
        written(List.of(e));
    }

    /**
     * Writes the rows in one transaction: all of them, or (refused) none. The checkpoint loop's write of every
     * domain's epochs, each tick: one batched statement for the rows that exist, one for those that do not.
     */
    public void saveAll(List<DomainEpochs> epochs) {
        if (epochs.isEmpty()) {
            return;
        }
        try {
            tx.executeWithoutResult(status -> {
                Timestamp now = Timestamp.from(Instant.now());
                int[] updated = batch.batchUpdate(UPDATE_EPOCHS,
                        epochs.stream().map(e -> updateParams(e, now)).toList());
                List<Object[]> missing = new java.util.ArrayList<>();
                for (int i = 0; i < updated.length; i++) {
                    if (updated[i] == 0) {
                        missing.add(insertParams(epochs.get(i), now));
                    }
                }
                if (!missing.isEmpty()) {
                    batch.batchUpdate(INSERT_EPOCHS, missing);
                }
            });
        } catch (DataAccessException | TransactionException failed) {
            throw NetbufDatabaseException.writing("the epochs of " + epochs.size() + " domains", failed);
        }
        written(epochs);
    }

    private static final String UPDATE_EPOCHS = "UPDATE netbuf_domain SET open_epoch = ?, awaiting_epoch = ?,"
            + " epochs_begun = ?, epochs_committed = ?, epochs_failed = ?, failure = ?, updated_at = ?"
            + " WHERE domain_name = ?";
    private static final String INSERT_EPOCHS = "INSERT INTO netbuf_domain (domain_name, open_epoch, awaiting_epoch,"
            + " epochs_begun, epochs_committed, epochs_failed, failure, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

    private static Object[] updateParams(DomainEpochs e, Timestamp now) {
        return new Object[] {e.openEpoch(), e.awaitingEpoch(), e.epochsBegun(), e.epochsCommitted(), e.epochsFailed(),
                failure(e), now, e.domain()};
    }

    private static Object[] insertParams(DomainEpochs e, Timestamp now) {
        return new Object[] {e.domain(), e.openEpoch(), e.awaitingEpoch(), e.epochsBegun(), e.epochsCommitted(),
                e.epochsFailed(), failure(e), now};
    }

    private static String failure(DomainEpochs e) {
        return e.failure() == null || e.failure().length() <= 2000 ? e.failure() : e.failure().substring(0, 2000);
    }

    private void upsert(DomainEpochs e) {
        Timestamp now = Timestamp.from(Instant.now());
        if (jdbc.sql(UPDATE_EPOCHS).params(updateParams(e, now)).update() == 0) {
            jdbc.sql(INSERT_EPOCHS).params(insertParams(e, now)).update();
        }
    }

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
