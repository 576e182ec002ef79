package io.remus.netbuf.persistence;

import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.model.Transition;
import io.remus.netbuf.persistence.JournalEntry.Outcome;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.springframework.dao.DataAccessException;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.support.GeneratedKeyHolder;
import org.springframework.jdbc.support.KeyHolder;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionCallback;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The buffers, their claims and their journal, over plain JDBC. Every method is one transaction, committed when it
 * returns: the lifecycle writes a step's intent here before the kernel step, so the kernel is never ahead of the
 * database.
 */
public class BufferStore {

    /** The columns of a {@link BufferRecord}, in the order {@link #record} reads them. */
    private static final String COLUMNS = "id, domain_name, vif, state, pending_step, ifb, ifb_created, limit_bytes,"
            + " protocol, priority, plug_handle, epoch, failed_step, last_error, created_at, updated_at";

    private final JdbcClient jdbc;
    private final org.springframework.jdbc.core.JdbcTemplate batch;
    private final TransactionTemplate tx;
    private final AtomicLong writes = new AtomicLong();
    /** Per domain, how many writes of its rows have completed (committed or rolled back). */
    private final ConcurrentMap<String, AtomicLong> domainWrites = new ConcurrentHashMap<>();
    /** {@link #holdingVif(String)} as last read, by domain, with the domain's write count before that read. */
    private final ConcurrentMap<String, HeldRows> holding = new ConcurrentHashMap<>();

    public BufferStore(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
        this.batch = new org.springframework.jdbc.core.JdbcTemplate(dataSource);
        this.tx = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    }

    /**
     * Runs {@code body} as one transaction: the writes it makes through this store join it and are committed
     * together when it returns, or not at all.
     */
    public <T> T transaction(String what, java.util.function.Supplier<T> body) {
        return write(what, List.of(), status -> body.get()); // the writes in it name their domains
    }

    /**
     * A new FREE buffer for each of {@code vifs}, in one transaction: all of them, or none if another buffer holds
     * one of the vifs.
     */
    public List<BufferRecord> createAll(String domain, List<String> vifs, long limitBytes, int protocol, int priority,
                                        int plugHandle) {
        try {
            return write((vifs.size() == 1 ? "a new buffer on vif " + vifs.getFirst() : "new buffers on vifs " + vifs)
                    + " of domain " + domain, List.of(domain), status -> {
                List<BufferRecord> created = new java.util.ArrayList<>(vifs.size());
                for (String vif : vifs) {
                    created.add(insert(domain, vif, limitBytes, protocol, priority, plugHandle));
                }
                return created;
            });
        } catch (DuplicateKeyException e) {
            // rolled back by now; PostgreSQL refuses any statement in a transaction after a failed one, so the
            // holder is looked up only here, outside it
            for (String vif : vifs) {
                java.util.Optional<Long> holder = jdbc.sql("SELECT buffer_id FROM netbuf_vif_claim WHERE vif = ?")
                        .param(vif).query(Long.class).optional();
                if (holder.isPresent()) {
                    throw new ClaimRefusedException("vif " + vif + " is already buffered by buffer " + holder.get());
                }
            }
            throw new ClaimRefusedException("one of the vifs " + vifs + " was claimed by another buffer meanwhile");
        }
    }

    private BufferRecord insert(String domain, String vif, long limitBytes, int protocol, int priority,
                                int plugHandle) {
        Timestamp now = now();
        KeyHolder key = new GeneratedKeyHolder();
        jdbc.sql("INSERT INTO netbuf_buffer (domain_name, vif, state, ifb_created, limit_bytes, protocol,"
                        + " priority, plug_handle, epoch, created_at, updated_at)"
                        + " VALUES (?, ?, ?, FALSE, ?, ?, ?, ?, 0, ?, ?)")
                .params(domain, vif, BufferState.FREE.name(), limitBytes, protocol, priority, plugHandle, now, now)
                .update(key, "id");
        long id = key.getKeyAs(Number.class).longValue();
        jdbc.sql("INSERT INTO netbuf_vif_claim (vif, buffer_id) VALUES (?, ?)").params(vif, id).update();
        return find(id).orElseThrow();
    }

    /** A new FREE buffer holding {@code vif}; refused if another buffer holds it. */
    public BufferRecord create(String domain, String vif, long limitBytes, int protocol, int priority, int plugHandle) {
        return createAll(domain, List.of(vif), limitBytes, protocol, priority, plugHandle).getFirst();
    }

    /**
     * Writes the intent of {@code t}'s kernel step: the buffer's pending step, and a journal line. Refused (with
     * nothing written) if the buffer is not in {@code t}'s source state or already has a step in flight.
     */
    public BufferRecord intent(BufferRecord buffer, Transition t, String detail) {
        return intents(List.of(new Intent(buffer, t, detail, null, false))).getFirst();
    }

    /**
     * The intent of acquiring {@code ifb}, with the claim on it, in one transaction: if another buffer holds the
     * ifb, the unique key refuses the claim and nothing is written.
     */
    public BufferRecord intentWithIfb(BufferRecord buffer, Transition t, String ifb, boolean created) {
        return intents(List.of(new Intent(buffer, t, (created ? "create " : "take pool ") + "ifb " + ifb, ifb,
                created))).getFirst();
    }

    /** One buffer's intent in {@link #intents}: its step, the journal's detail, and for ACQUIRE_IFB the ifb claimed. */
    public record Intent(BufferRecord buffer, Transition t, String detail, String ifb, boolean ifbCreated) {
    }

    /** One buffer's outcome in {@link #outcomes}: done (with the journal's note, if any), or failed with the error. */
    public record StepResult(BufferRecord intended, Transition t, String note, String error) {
        public boolean done() {
            return error == null;
        }
    }

    /**
     * The intents of one step for several buffers, as {@link #intent} and {@link #intentWithIfb} write them one by
     * one, in a few batched statements: in the caller's {@link #transaction} if there is one. Refused as a whole,
     * with nothing written, if a buffer is not in its step's source state or has a step in flight, or (a
     * {@link ClaimRefusedException}) if another buffer holds one of the ifbs.
     *
     * @return the buffers as written, in order
     */
    public List<BufferRecord> intents(List<Intent> intents) {
        if (intents.isEmpty()) {
            return List.of();
        }
        intents.forEach(i -> requireKernelStep(i.t()));
        return write(what("intent", intents.getFirst().t(), intents.stream().map(Intent::buffer).toList()),
                domains(intents.stream().map(Intent::buffer)), status -> {
            Timestamp now = now();
            List<Intent> claiming = intents.stream().filter(i -> i.ifb() != null).toList();
            if (!claiming.isEmpty()) {
                try {
                    batch.batchUpdate("INSERT INTO netbuf_ifb_claim (ifb, buffer_id) VALUES (?, ?)",
                            claiming.stream().map(i -> new Object[] {i.ifb(), i.buffer().id()}).toList());
                } catch (DuplicateKeyException e) {
                    status.setRollbackOnly();
                    throw new ClaimRefusedException((claiming.size() == 1 ? "ifb " + claiming.getFirst().ifb()
                            : "one of the ifbs " + claiming.stream().map(Intent::ifb).toList())
                            + " is already held by another buffer");
                }
                batch.batchUpdate("UPDATE netbuf_buffer SET ifb = ?, ifb_created = ? WHERE id = ?",
                        claiming.stream().map(i -> new Object[] {i.ifb(), i.ifbCreated(), i.buffer().id()}).toList());
            }
            // one statement per step and source state, whatever the number of buffers: inside user-mode-linux
            // each statement costs H2 two clock reads, each a system call there
            Map<Transition, List<Long>> groups = new LinkedHashMap<>();
            intents.forEach(i -> groups.computeIfAbsent(i.t(), t -> new ArrayList<>()).add(i.buffer().id()));
            groups.forEach((t, ids) -> {
                List<Object> params = new ArrayList<>(List.of(step(t), now, t.source().name()));
                params.addAll(ids);
                int rows = jdbc.sql("UPDATE netbuf_buffer SET pending_step = ?, updated_at = ? WHERE state = ? AND"
                        + " pending_step IS NULL AND id IN " + placeholders(ids.size())).params(params).update();
                if (rows != ids.size()) {
                    // read in this transaction: the rows this statement updated carry its time
                    for (long id : ids) {
                        BufferRecord b = find(id).orElse(null);
                        if (b == null || !b.updatedAt().equals(now.toInstant())) {
                            throw new IllegalStateException("buffer " + id + " is not in " + t.source()
                                    + " with no step in flight: " + (b == null ? "gone" : b.toString()));
                        }
                    }
                    throw new IllegalStateException("the intents of " + t + " updated " + rows + " of " + ids);
                }
            });
            journalAll(intents.stream().map(i -> new Object[] {i.buffer().id(), now, step(i.t()),
                    JournalEntry.Outcome.INTENT.name(), i.t().source().name(), i.t().target().name(),
                    truncate(i.detail(), 500), null}).toList());
            return findAll(intents.stream().map(i -> i.buffer().id()).toList());
        });
    }

    /**
     * The outcomes of one step for several buffers, as {@link #done} and {@link #stepFailed} write them one by one,
     * in a few batched statements: in the caller's {@link #transaction} if there is one.
     *
     * @return the buffers as written, in order
     */
    public List<BufferRecord> outcomes(List<StepResult> outcomes) {
        if (outcomes.isEmpty()) {
            return List.of();
        }
        return write(what("outcome", outcomes.getFirst().t(), outcomes.stream().map(StepResult::intended).toList()),
                domains(outcomes.stream().map(StepResult::intended)), status -> {
            Timestamp now = now();
            List<StepResult> done = outcomes.stream().filter(StepResult::done).toList();
            List<StepResult> failed = outcomes.stream().filter(o -> !o.done()).toList();
            Map<Transition, List<Long>> groups = new LinkedHashMap<>();
            done.forEach(o -> groups.computeIfAbsent(o.t(), t -> new ArrayList<>()).add(o.intended().id()));
            groups.forEach((t, ids) -> {
                List<Object> params = new ArrayList<>(List.of(t.target().name(), now, t.source().name(), step(t)));
                params.addAll(ids);
                int rows = jdbc.sql("UPDATE netbuf_buffer SET state = ?, pending_step = NULL, updated_at = ? WHERE"
                        + " state = ? AND pending_step = ? AND id IN " + placeholders(ids.size())).params(params)
                        .update();
                if (rows != ids.size()) {
                    // read in this transaction: the rows this statement updated carry its time
                    for (long id : ids) {
                        BufferRecord b = find(id).orElse(null);
                        if (b == null || !b.updatedAt().equals(now.toInstant())) {
                            throw new IllegalStateException("buffer " + id + " has no " + step(t) + " in flight from "
                                    + t.source() + ": " + (b == null ? "gone" : b.toString()));
                        }
                    }
                    throw new IllegalStateException("the outcomes of " + t + " updated " + rows + " of " + ids);
                }
            });
            if (!failed.isEmpty()) {
                int[] failedRows = batch.batchUpdate("UPDATE netbuf_buffer SET pending_step = NULL, last_error = ?,"
                                + " updated_at = ? WHERE id = ? AND state = ? AND pending_step = ?",
                        failed.stream().map(o -> new Object[] {truncate(o.error(), 2000), now, o.intended().id(),
                                o.t().source().name(), step(o.t())}).toList());
                for (int k = 0; k < failedRows.length; k++) {
                    requireOne(failedRows[k], failed.get(k).intended(), failed.get(k).t());
                }
            }
            journalAll(outcomes.stream().map(o -> new Object[] {o.intended().id(), now, step(o.t()),
                    (o.done() ? JournalEntry.Outcome.DONE : JournalEntry.Outcome.FAILED).name(),
                    o.t().source().name(), o.t().target().name(), o.done() ? truncate(o.note(), 500) : null,
                    truncate(o.error(), 2000)}).toList());
            List<Object> freed = done.stream().filter(o -> o.t().target() == BufferState.FREE)
                    .map(o -> (Object) o.intended().id()).toList();
            if (!freed.isEmpty()) {
                jdbc.sql("DELETE FROM netbuf_ifb_claim WHERE buffer_id IN " + placeholders(freed.size())).params(freed)
                        .update();
                jdbc.sql("DELETE FROM netbuf_vif_claim WHERE buffer_id IN " + placeholders(freed.size())).params(freed)
                        .update();
            }
            return findAll(outcomes.stream().map(o -> o.intended().id()).toList());
        });
    }

    /** Journal lines in one statement (a row of values each). */
    private void journalAll(List<Object[]> rows) {
        List<Object> params = new ArrayList<>(rows.size() * 8);
        rows.forEach(r -> params.addAll(Arrays.asList(r)));
        jdbc.sql("INSERT INTO netbuf_journal (buffer_id, at, step, outcome, from_state, to_state, detail, error)"
                + " VALUES " + String.join(", ", Collections.nCopies(rows.size(), "(?, ?, ?, ?, ?, ?, ?, ?)")))
                .params(params).update();
    }

    /** {@code (?, ?, ...)} with {@code n} placeholders. */
    private static String placeholders(int n) {
        return "(" + String.join(", ", Collections.nCopies(n, "?")) + ")";
    }

    /**
     * The buffers with these ids, in the order given, in one statement.
     *
     * @throws IllegalArgumentException naming the first id that has no buffer
     */
    public List<BufferRecord> findAll(List<Long> ids) {
        if (ids.isEmpty()) {
            return List.of();
        }
        Map<Long, BufferRecord> byId = new java.util.HashMap<>();
        jdbc.sql("SELECT " + COLUMNS + " FROM netbuf_buffer WHERE id IN " + placeholders(ids.size()))
                .params(new ArrayList<Object>(ids)).query(BufferStore::record).list()
                .forEach(b -> byId.put(b.id(), b));
        return ids.stream().map(id -> {
            BufferRecord b = byId.get(id);
            if (b == null) {
                throw new IllegalArgumentException("no buffer " + id);
            }
            return b;
        }).toList();
    }

    /** e.g. {@code the intent of ADD_INGRESS for buffer 7}, or {@code the intents of ... for buffers [7, 8]}. */
    private static String what(String kind, Transition t, List<BufferRecord> buffers) {
        return buffers.size() == 1 ? "the " + kind + " of " + step(t) + " for buffer " + buffers.getFirst().id()
                : "the " + kind + "s of " + step(t) + " for buffers "
                + buffers.stream().map(b -> String.valueOf(b.id())).collect(Collectors.joining(", ", "[", "]"));
    }

    /** The kernel step of {@code t} succeeded: the buffer is in {@code t}'s target. Reaching FREE frees its claims. */
    public BufferRecord done(BufferRecord buffer, Transition t, String detail) {
        return outcomes(List.of(new StepResult(buffer, t, detail, null))).getFirst();
    }

    /** The kernel step of {@code t} failed: the buffer stays in {@code t}'s source, with the error. */
    public BufferRecord stepFailed(BufferRecord buffer, Transition t, String error) {
        return outcomes(List.of(new StepResult(buffer, t, null, error))).getFirst();
    }

    /**
     * The buffer is FAILED at {@code step} with {@code reason}. Its claims go only if {@code released}: a buffer
     * that could not remove its kernel objects keeps them, so no other buffer takes its ifb.
     */
    public BufferRecord failed(BufferRecord buffer, Transition t, BufferEvent step, String reason, boolean released) {
        return write("buffer " + buffer.id() + " as FAILED", List.of(buffer.domain()), status -> {
            jdbc.sql("UPDATE netbuf_buffer SET state = ?, pending_step = NULL, failed_step = ?, last_error = ?,"
                            + " updated_at = ? WHERE id = ?")
                    .params(t.target().name(), step == null ? null : step.name(), truncate(reason, 2000), now(),
                            buffer.id()).update();
            journal(buffer.id(), (step == null ? BufferEvent.FAIL : step).name(), Outcome.FAILED, t.source(), t.target(),
                    released ? "every kernel object undone" : "kernel objects may remain", reason);
            if (released) {
                releaseClaims(buffer.id());
            }
            return find(buffer.id()).orElseThrow();
        });
    }

    /**
     * Recovery moves a buffer's recorded state without a kernel step of its own (a step in flight at the crash is
     * taken as done, to be undone like the others), writing why in the journal.
     */
    public BufferRecord settle(BufferRecord buffer, BufferState state, Outcome outcome, String step, String detail) {
        return write("buffer " + buffer.id() + " as " + state, List.of(buffer.domain()), status -> {
            jdbc.sql("UPDATE netbuf_buffer SET state = ?, pending_step = NULL, updated_at = ? WHERE id = ?")
                    .params(state.name(), now(), buffer.id()).update();
            journal(buffer.id(), step, outcome, buffer.state(), state, detail, null);
            if (state == BufferState.FREE) {
                releaseClaims(buffer.id());
            }
            return find(buffer.id()).orElseThrow();
        });
    }

    /** A journal line of its own (recovery's verdicts). */
    public void note(long bufferId, BufferEvent step, Outcome outcome, BufferState state, String detail, String error) {
        line(bufferId, step.name(), outcome, state, detail, error);
    }

    /** A journal line about something other than a step: recovery's checks, an epoch's failure. */
    public void note(long bufferId, JournalEntry.Topic topic, Outcome outcome, BufferState state, String detail,
                     String error) {
        line(bufferId, topic.name(), outcome, state, detail, error);
    }

    private void line(long bufferId, String about, Outcome outcome, BufferState state, String detail, String error) {
        write("a journal line (" + about + " " + outcome + ") of buffer " + bufferId, List.of(), status -> {
            journal(bufferId, about, outcome, state, state, detail, error);
            return null;
        });
    }

    public void setEpoch(BufferRecord buffer, long epoch) {
        write("epoch " + epoch + " of buffer " + buffer.id(), List.of(buffer.domain()), status -> jdbc.sql(
                "UPDATE netbuf_buffer SET epoch = ?, updated_at = ? WHERE id = ?").params(epoch, now(), buffer.id())
                .update());
    }

    /**
     * How many writes this store has made so far, committed or not (a journal line counts too): rows read before
     * it moved may be out of date.
     */
    public long writes() {
        return writes.get();
    }

    public Optional<BufferRecord> find(long id) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM netbuf_buffer WHERE id = ?").param(id).query(BufferStore::record)
                .optional();
    }

    public List<BufferRecord> all() {
        return jdbc.sql("SELECT " + COLUMNS + " FROM netbuf_buffer ORDER BY id").query(BufferStore::record).list();
    }

    /** Buffers a crash interrupted: a step in flight, or a state that is not a resting one. */
    public List<BufferRecord> interrupted() {
        return all().stream().filter(BufferRecord::interrupted).toList();
    }

    /** Buffers that hold their vif: every one not yet back to FREE (and FAILED ones that kept their claims). */
    public List<BufferRecord> holdingVif() {
        return jdbc.sql("SELECT " + prefixed("b") + " FROM netbuf_buffer b JOIN netbuf_vif_claim c ON c.buffer_id = b.id"
                + " ORDER BY b.id").query(BufferStore::record).list();
    }

    /**
     * {@link #holdingVif()} of one domain. Kept from one call to the next until this store writes one of the
     * domain's rows: the checkpoint reads each of its domains' buffers many times a second, and they change only
     * when the domain is protected, failed over, resumed or stopped.
     */
    public List<BufferRecord> holdingVif(String domain) {
        if (TransactionSynchronizationManager.isActualTransactionActive()) {
            return readHoldingVif(domain); // it sees the transaction's own writes, not yet counted
        }
        long version = domainWrites(domain).get(); // before the read: a write that completes during it is seen next time
        HeldRows kept = holding.get(domain);
        if (kept != null && kept.version() == version) {
            return kept.rows();
        }
        List<BufferRecord> rows = readHoldingVif(domain);
        if (rows.isEmpty()) {
            holding.remove(domain);
        } else {
            holding.put(domain, new HeldRows(version, rows));
        }
        return rows;
    }

    private List<BufferRecord> readHoldingVif(String domain) {
        // unmodifiable: holdingVif hands the same list to every caller until the domain's rows are written
        return List.copyOf(jdbc.sql("SELECT " + prefixed("b") + " FROM netbuf_buffer b JOIN netbuf_vif_claim c"
                + " ON c.buffer_id = b.id WHERE b.domain_name = ? ORDER BY b.id").param(domain)
                .query(BufferStore::record).list());
    }

    private record HeldRows(long version, List<BufferRecord> rows) {
    }

    private AtomicLong domainWrites(String domain) {
        return domainWrites.computeIfAbsent(domain, d -> new AtomicLong());
    }

    private static List<String> domains(Stream<BufferRecord> buffers) {
        return buffers.map(BufferRecord::domain).distinct().toList();
    }

    /**
     * Counts a write of these domains' rows once it has completed: at once, or when the caller's transaction it
     * joined commits or rolls back (counted earlier, a read in between could keep rows the commit then changes).
     */
    private void countWrites(List<String> domains) {
        if (domains.isEmpty()) {
            return;
        }
        AfterTransaction.completion(() -> domains.forEach(d -> domainWrites(d).incrementAndGet()));
    }

    public Set<String> claimedIfbs() {
        return Set.copyOf(jdbc.sql("SELECT ifb FROM netbuf_ifb_claim").query(String.class).list());
    }

    /** Every ifb name this plugin recorded as created by it, whether or not a buffer still holds it. */
    public Set<String> createdIfbs() {
        return jdbc.sql("SELECT DISTINCT ifb FROM netbuf_buffer WHERE ifb_created = TRUE AND ifb IS NOT NULL")
                .query(String.class).list().stream().collect(Collectors.toUnmodifiableSet());
    }

    public List<JournalEntry> journal(long bufferId) {
        return jdbc.sql("SELECT id, buffer_id, at, step, outcome, from_state, to_state, detail, error"
                        + " FROM netbuf_journal WHERE buffer_id = ? ORDER BY id")
                .param(bufferId)
                .query((rs, n) -> new JournalEntry(rs.getLong(1), rs.getLong(2), rs.getTimestamp(3).toInstant(),
                        rs.getString(4), Outcome.valueOf(rs.getString(5)), rs.getString(6), rs.getString(7),
                        rs.getString(8), rs.getString(9)))
                .list();
    }

    /**
     * One transaction. A database that refuses it (read-only, full, gone) is a {@link NetbufDatabaseException}
     * naming what was being recorded; a duplicate key is left to the caller (a refused claim).
     */
    private <T> T write(String what, List<String> domains, TransactionCallback<T> work) {
        try {
            return tx.execute(work);
        } catch (DuplicateKeyException e) {
            throw e;
        } catch (DataAccessException | TransactionException e) {
            throw NetbufDatabaseException.writing(what, e);
        } finally {
            writes.incrementAndGet(); // after the commit, the outer one too when transactions nest
            countWrites(domains);
        }
    }

    private static void requireKernelStep(Transition t) {
        if (!t.event().hasKernelCall()) {
            throw new IllegalArgumentException(t + " has no kernel call to intend");
        }
    }

    /** An outcome belongs to the intent written before it: same state, same step in flight. */
    private void requireOne(int rows, BufferRecord buffer, Transition t) {
        if (rows != 1) {
            throw new IllegalStateException("buffer " + buffer.id() + " has no " + step(t) + " in flight from "
                    + t.source() + ": " + find(buffer.id()).map(BufferRecord::toString).orElse("gone"));
        }
    }

    private void releaseClaims(long bufferId) {
        jdbc.sql("DELETE FROM netbuf_ifb_claim WHERE buffer_id = ?").param(bufferId).update();
        jdbc.sql("DELETE FROM netbuf_vif_claim WHERE buffer_id = ?").param(bufferId).update();
    }

    private void journal(long bufferId, String step, Outcome outcome, BufferState from, BufferState to, String detail,
                         String error) {
        jdbc.sql("INSERT INTO netbuf_journal (buffer_id, at, step, outcome, from_state, to_state, detail, error)"
                        + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                .params(bufferId, now(), step, outcome.name(), from == null ? null : from.name(),
                        to == null ? null : to.name(), truncate(detail, 500), truncate(error, 2000))
                .update();
    }

    private static String step(Transition t) {
        return t.event().name();
    }

    private static String prefixed(String alias) {
        return java.util.Arrays.stream(COLUMNS.split(",\\s*")).map(c -> alias + "." + c)
                .collect(Collectors.joining(", "));
    }

    private static String truncate(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max);
    }

    /** Now, to the microsecond the database keeps: a row written with it reads back equal. */
    private static Timestamp now() {
        return Timestamp.from(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS));
    }

    /** A row of {@link #COLUMNS}, read by position (the lookups by name were 6% of the checkpoint thread). */
    private static BufferRecord record(ResultSet rs, int row) throws SQLException {
        String pending = rs.getString(5);
        String failed = rs.getString(13);
        return new BufferRecord(rs.getLong(1), rs.getString(2), rs.getString(3), BufferState.valueOf(rs.getString(4)),
                pending == null ? null : BufferEvent.valueOf(pending), rs.getString(6), rs.getBoolean(7),
                rs.getLong(8), rs.getInt(9), rs.getInt(10), rs.getInt(11), rs.getLong(12),
                failed == null ? null : BufferEvent.valueOf(failed), rs.getString(14),
                rs.getTimestamp(15).toInstant(), rs.getTimestamp(16).toInstant());
    }
}
