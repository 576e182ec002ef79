package io.remus.netbuf.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.model.Transition;
import io.remus.netbuf.model.Transitions;
import io.remus.netbuf.persistence.JournalEntry.Outcome;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * What {@link BufferStore} promises, checked against a real database: each subclass names one (H2, PostgreSQL).
 * Every test gets a fresh, migrated database.
 */
abstract class BufferStoreContract {

    private static final long LIMIT = 4L << 20;
    private static final int PROTOCOL = 3;
    private static final int PRIORITY = 10;
    private static final int PLUG_HANDLE = 0x4e420000;
    private static final long RACE_TIMEOUT_SECONDS = 120;

    /** A fresh database with the plugin's schema migrated; called once per test. */
    protected abstract DataSource dataSource();

    /** A fresh database without the schema. */
    protected abstract DataSource emptyDataSource();

    private DataSource ds;
    private BufferStore store;
    private JdbcClient sql;

    @BeforeEach
    void freshDatabase() {
        ds = dataSource();
        store = new BufferStore(ds);
        sql = JdbcClient.create(ds);
    }

    // --- schema ------------------------------------------------------------------------------------------------

    @Test
    void aDomainsProtectionRoundTripsWithItsDeadlineAndFailovers() {
        DomainStore domains = new DomainStore(ds);
        assertThat(domains.findProtection("dom1")).isEmpty();
        DomainProtection p = DomainProtection.protectedBy("dom1", DomainProtection.Driver.LOOP, null);
        domains.save(p);
        assertThat(domains.findProtection("dom1")).contains(p);
        java.time.Instant at = java.time.Instant.parse("2026-12-02T05:00:00.123Z");
        DomainProtection failed = p.withAckTimeout(java.time.Duration.ofMillis(750)).failedOver("x".repeat(2100), at);
        domains.save(failed);
        DomainProtection read = domains.findProtection("dom1").orElseThrow();
        assertThat(read.state()).isEqualTo(DomainProtection.State.UNPROTECTED);
        assertThat(read.ackTimeout()).isEqualTo(java.time.Duration.ofMillis(750));
        assertThat(read.failedOverAt()).isEqualTo(at);
        assertThat(read.failovers()).isEqualTo(1);
        assertThat(read.reason()).hasSize(2000);
        domains.save(read.resumed().withAckTimeout(null));
        domains.save(DomainProtection.protectedBy("dom0", DomainProtection.Driver.API, null));
        assertThat(domains.allProtections()).extracting(DomainProtection::domain, DomainProtection::state,
                        DomainProtection::ackTimeout, DomainProtection::failovers)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("dom0", DomainProtection.State.PROTECTED, null, 0L),
                        org.assertj.core.groups.Tuple.tuple("dom1", DomainProtection.State.PROTECTED, null, 1L));
    }

    @Test
    void buffersAreFoundTogetherInTheOrderAskedAndAMissingOneIsNamed() {
        List<BufferRecord> domain = store.createAll("dom1", List.of("vif1.0", "vif1.1", "vif1.2"), LIMIT, PROTOCOL,
                PRIORITY, PLUG_HANDLE);
        List<Long> reversed = domain.reversed().stream().map(BufferRecord::id).toList();
        assertThat(store.findAll(reversed)).extracting(BufferRecord::vif).containsExactly("vif1.2", "vif1.1", "vif1.0");
        assertThat(store.findAll(List.of())).isEmpty();
        long missing = reversed.getFirst() + 100;
        assertThatThrownBy(() -> store.findAll(List.of(reversed.getFirst(), missing)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("no buffer " + missing);
    }

    @Test
    void epochsOfSeveralDomainsAreWrittenTogetherWhetherTheirRowsExistOrNot() {
        DomainStore domains = new DomainStore(ds);
        DomainEpochs dom1 = DomainEpochs.fresh("dom1").begun();
        domains.save(dom1);
        DomainEpochs dom1Next = dom1.begun().failed("x".repeat(2100));
        DomainEpochs dom2 = DomainEpochs.fresh("dom2").begun().begun().committed();

        domains.saveAll(List.of(dom1Next, dom2));

        DomainEpochs dom1Read = domains.find("dom1").orElseThrow();
        assertThat(dom1Read.failure()).hasSize(2000);
        assertThat(dom1Read).isEqualTo(new DomainEpochs("dom1", 2, 1, 2, 0, 1, dom1Read.failure()));
        assertThat(domains.all()).containsExactly(dom1Read, dom2);
        domains.saveAll(List.of());
        assertThat(domains.all()).containsExactly(dom1Read, dom2);
        // what it keeps in memory is what the database has: a store that reads the rows afresh sees the same
        assertThat(new DomainStore(ds).all()).containsExactly(dom1Read, dom2);
    }

    @Test
    void epochsWrittenInATransactionThatRollsBackAreNotKept() {
        DomainStore domains = new DomainStore(ds);
        DomainEpochs dom1 = DomainEpochs.fresh("dom1").begun();
        domains.save(dom1);
        org.springframework.transaction.support.TransactionTemplate outer =
                new org.springframework.transaction.support.TransactionTemplate(
                        new org.springframework.jdbc.datasource.DataSourceTransactionManager(ds));

        assertThatThrownBy(() -> outer.executeWithoutResult(status -> {
            domains.save(dom1.begun());
            domains.saveAll(List.of(DomainEpochs.fresh("dom2").begun()));
            throw new IllegalStateException("rolled back");
        })).hasMessage("rolled back");

        assertThat(domains.all()).containsExactly(dom1);
        assertThat(new DomainStore(ds).all()).containsExactly(dom1);

        outer.executeWithoutResult(status -> domains.save(dom1.begun()));
        assertThat(domains.find("dom1")).contains(dom1.begun());
        assertThat(new DomainStore(ds).find("dom1")).contains(dom1.begun());
    }

    @Test
    void migrationsApplyAndASecondMigrateIsANoOp() {
        for (String table : List.of("netbuf_buffer", "netbuf_vif_claim", "netbuf_ifb_claim", "netbuf_journal",
                "netbuf_domain", "netbuf_protection")) {
            assertThat(count("SELECT COUNT(*) FROM " + table)).as(table).isZero();
        }
        assertThat(history()).containsExactly("1 SQL true", "2 SQL true", "3 SQL true", "4 SQL true", "5 SQL true");
        BufferRecord b = create("dom1", "vif1.0");

        NetbufDatabase.migrate(ds);

        assertThat(history()).containsExactly("1 SQL true", "2 SQL true", "3 SQL true", "4 SQL true", "5 SQL true");
        assertThat(flyway(ds).info().pending()).isEmpty();
        assertThat(store.all()).containsExactly(b);
        assertThat(store.holdingVif()).containsExactly(b);
    }

    @Test
    void migratesNextToTheHostApplicationsTables() throws SQLException {
        DataSource empty = emptyDataSource();
        try (Connection c = empty.getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE host_vm (id BIGINT PRIMARY KEY, name VARCHAR(64))");
            st.execute("INSERT INTO host_vm VALUES (1, 'vm1')");
        }

        NetbufDatabase.migrate(empty);
        NetbufDatabase.migrate(empty);

        JdbcClient host = JdbcClient.create(empty);
        assertThat(host.sql("SELECT name FROM host_vm").query(String.class).list()).containsExactly("vm1");
        assertThat(flyway(empty).info().current().getVersion().getVersion()).isEqualTo("5");
        assertThat(flyway(empty).info().pending()).isEmpty();
        BufferRecord b = new BufferStore(empty).create("dom1", "vif1.0", LIMIT, PROTOCOL, PRIORITY, PLUG_HANDLE);
        assertThat(b.state()).isEqualTo(BufferState.FREE);
    }

    /** A buffer interrupted under the old step names (up to V4) is read under the table's after V5. */
    @Test
    void stepsRecordedUnderTheOldNamesAreRenamedToTheTablesEvents() {
        DataSource empty = emptyDataSource();
        Flyway.configure().dataSource(empty).locations(NetbufDatabase.MIGRATIONS).table(NetbufDatabase.HISTORY_TABLE)
                .target("4").load().migrate();
        JdbcClient sql = JdbcClient.create(empty);
        java.sql.Timestamp now = java.sql.Timestamp.from(java.time.Instant.now());
        sql.sql("INSERT INTO netbuf_buffer (id, domain_name, vif, state, pending_step, ifb, ifb_created, limit_bytes,"
                + " protocol, priority, plug_handle, epoch, failed_step, created_at, updated_at)"
                + " VALUES (1, 'dom1', 'vif1.0', 'INGRESS', 'REDIRECT_ADD', 'ifb1', TRUE, 1, 3, 10, 1, 0, 'PLUG_DELETE', ?, ?)")
                .params(now, now).update();
        sql.sql("INSERT INTO netbuf_journal (buffer_id, at, step, outcome, from_state, to_state)"
                + " VALUES (1, ?, 'IFB_UP', 'DONE', 'FREE', 'IFB_UP'), (1, ?, 'VERIFY', 'ADOPTED', 'PLUGGED', 'PLUGGED')")
                .params(now, now).update();

        NetbufDatabase.migrate(empty);

        BufferRecord b = new BufferStore(empty).find(1).orElseThrow();
        assertThat(b.pendingStep()).isEqualTo(BufferEvent.ADD_REDIRECT);
        assertThat(b.failedStep()).isEqualTo(BufferEvent.REMOVE_PLUG);
        assertThat(new BufferStore(empty).journal(1)).extracting(JournalEntry::step).containsExactly("ACQUIRE_IFB", "VERIFY");
    }

    // --- a step for a domain's buffers at once -----------------------------------------------------------------

    @Test
    void intentsOfADomainsStepAreWrittenTogetherWithTheirIfbClaims() {
        List<BufferRecord> domain = store.createAll("dom1", List.of("vif1.0", "vif1.1", "vif1.2"), LIMIT, PROTOCOL,
                PRIORITY, PLUG_HANDLE);
        Transition acquire = t(BufferState.FREE, BufferEvent.ACQUIRE_IFB);
        List<BufferRecord> intended = store.intents(domain.stream().map(b -> new BufferStore.Intent(b, acquire,
                "create ifb nbifb" + b.id(), "nbifb" + b.id(), true)).toList());

        assertThat(intended).extracting(BufferRecord::id).containsExactlyElementsOf(domain.stream().map(BufferRecord::id).toList());
        assertThat(intended).allSatisfy(b -> {
            assertThat(b.pendingStep()).isEqualTo(BufferEvent.ACQUIRE_IFB);
            assertThat(b.ifb()).isEqualTo("nbifb" + b.id());
            assertThat(b.ifbCreated()).isTrue();
            assertThat(lines(b)).containsExactly("ACQUIRE_IFB INTENT FREE->IFB_UP create ifb nbifb" + b.id()
                    + " error=null");
        });
        assertThat(store.claimedIfbs()).hasSize(3);

        // one done, one failed, one done: each written as done() and stepFailed() write it
        List<BufferRecord> after = store.outcomes(List.of(
                new BufferStore.StepResult(intended.get(0), acquire, null, null),
                new BufferStore.StepResult(intended.get(1), acquire, null, "EEXIST"),
                new BufferStore.StepResult(intended.get(2), acquire, "a note", null)));
        assertThat(after).extracting(BufferRecord::state)
                .containsExactly(BufferState.IFB_UP, BufferState.FREE, BufferState.IFB_UP);
        assertThat(after).extracting(BufferRecord::pendingStep).containsOnlyNulls();
        assertThat(after.get(1).lastError()).isEqualTo("EEXIST");
        assertThat(lines(after.get(1)).getLast()).isEqualTo("ACQUIRE_IFB FAILED FREE->IFB_UP null error=EEXIST");
        assertThat(lines(after.get(2)).getLast()).isEqualTo("ACQUIRE_IFB DONE FREE->IFB_UP a note error=null");
    }

    @Test
    void aDomainsIntentsAreRefusedAsAWholeIfOneBufferIsNotInTheStepsSourceState() {
        List<BufferRecord> domain = store.createAll("dom1", List.of("vif1.0", "vif1.1"), LIMIT, PROTOCOL, PRIORITY,
                PLUG_HANDLE);
        BufferRecord ahead = advance(domain.get(1), BufferState.IFB_UP);
        Transition acquire = t(BufferState.FREE, BufferEvent.ACQUIRE_IFB);
        long journal = count("SELECT COUNT(*) FROM netbuf_journal");

        assertThatThrownBy(() -> store.intents(List.of(
                new BufferStore.Intent(domain.get(0), acquire, "create ifb x0", "x0", true),
                new BufferStore.Intent(ahead, acquire, "create ifb x1", "x1", true))))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("buffer " + ahead.id() + " is not in FREE with no step in flight");

        assertThat(store.find(domain.get(0).id()).orElseThrow().pendingStep()).isNull();
        assertThat(count("SELECT COUNT(*) FROM netbuf_journal")).isEqualTo(journal);
        assertThat(store.claimedIfbs()).doesNotContain("x0", "x1");
    }

    @Test
    void aDomainsIntentsAreRefusedAsAWholeIfAnotherBufferHoldsOneOfTheIfbs() {
        BufferRecord other = store.intentWithIfb(create("dom9", "vif9.0"), t(BufferState.FREE,
                BufferEvent.ACQUIRE_IFB), "ifb3", false);
        List<BufferRecord> domain = store.createAll("dom1", List.of("vif1.0", "vif1.1"), LIMIT, PROTOCOL, PRIORITY,
                PLUG_HANDLE);
        Transition acquire = t(BufferState.FREE, BufferEvent.ACQUIRE_IFB);

        assertThatThrownBy(() -> store.intents(List.of(
                new BufferStore.Intent(domain.get(0), acquire, "take pool ifb ifb2", "ifb2", false),
                new BufferStore.Intent(domain.get(1), acquire, "take pool ifb ifb3", "ifb3", false))))
                .isInstanceOf(ClaimRefusedException.class)
                .hasMessageContaining("already held by another buffer");

        assertThat(store.claimedIfbs()).containsExactly("ifb3");
        assertThat(domain).allSatisfy(b -> assertThat(store.find(b.id()).orElseThrow().pendingStep()).isNull());
        assertThat(other.pendingStep()).isEqualTo(BufferEvent.ACQUIRE_IFB);
    }

    // --- create ------------------------------------------------------------------------------------------------

    @Test
    void createWritesAFreeBufferAndClaimsTheVif() {
        Instant before = Instant.now();
        BufferRecord b = store.create("dom1", "vif1.0", LIMIT, PROTOCOL, PRIORITY, PLUG_HANDLE);
        Instant after = Instant.now();

        assertThat(b.id()).isPositive();
        assertThat(b.domain()).isEqualTo("dom1");
        assertThat(b.vif()).isEqualTo("vif1.0");
        assertThat(b.state()).isEqualTo(BufferState.FREE);
        assertThat(b.pendingStep()).isNull();
        assertThat(b.ifb()).isNull();
        assertThat(b.ifbCreated()).isFalse();
        assertThat(b.limitBytes()).isEqualTo(LIMIT);
        assertThat(b.protocol()).isEqualTo(PROTOCOL);
        assertThat(b.priority()).isEqualTo(PRIORITY);
        assertThat(b.plugHandle()).isEqualTo(PLUG_HANDLE);
        assertThat(b.epoch()).isZero();
        assertThat(b.failedStep()).isNull();
        assertThat(b.lastError()).isNull();
        // the instants survive the round trip through TIMESTAMP WITH TIME ZONE (microseconds on PostgreSQL)
        assertThat(b.createdAt()).isBetween(before.truncatedTo(ChronoUnit.MILLIS), after.plusMillis(1));
        assertThat(b.updatedAt()).isEqualTo(b.createdAt());
        assertThat(b.interrupted()).isFalse();

        assertThat(store.find(b.id())).contains(b);
        assertThat(store.all()).containsExactly(b);
        assertThat(store.holdingVif()).containsExactly(b);
        assertThat(vifClaims()).containsExactly(Map.entry("vif1.0", b.id()));
        assertThat(store.claimedIfbs()).isEmpty();
        assertThat(store.interrupted()).isEmpty();
        assertThat(store.journal(b.id())).isEmpty();
    }

    @Test
    void aSecondCreateOnTheSameVifIsRefusedNamingTheHolderAndWritesNothing() {
        BufferRecord first = create("dom1", "vif1.0");

        assertThatThrownBy(() -> create("dom2", "vif1.0"))
                .isInstanceOf(ClaimRefusedException.class)
                .hasMessageContaining("vif1.0")
                .hasMessageContaining("buffer " + first.id());

        assertThat(store.all()).containsExactly(first);
        assertThat(count("SELECT COUNT(*) FROM netbuf_buffer WHERE vif = 'vif1.0'")).isOne();
        assertThat(vifClaims()).containsExactly(Map.entry("vif1.0", first.id()));
        // another vif is still free to take
        BufferRecord other = create("dom2", "vif2.0");
        assertThat(store.holdingVif()).containsExactly(first, other);
    }

    @Test
    void findOfAnUnknownBufferIsEmpty() {
        assertThat(store.find(12345)).isEmpty();
        assertThat(store.all()).isEmpty();
    }

    /** What a listing watches to read the rows again: every write moves the count, a refused one too; reads do not. */
    @Test
    void everyWriteMovesTheWriteCountAndNoReadDoes() {
        long start = store.writes();
        BufferRecord b = create("dom1", "vif1.0");
        assertThat(store.writes()).isEqualTo(start + 1);
        store.all();
        store.holdingVif();
        assertThat(store.writes()).isEqualTo(start + 1);
        store.intent(b, t(BufferState.FREE, BufferEvent.ACQUIRE_IFB), "take an ifb");
        assertThat(store.writes()).isEqualTo(start + 2);
        assertThatThrownBy(() -> store.intent(b, t(BufferState.FREE, BufferEvent.ACQUIRE_IFB), "again"));
        assertThat(store.writes()).isEqualTo(start + 3);
    }

    // --- intent ------------------------------------------------------------------------------------------------

    @Test
    void intentWritesThePendingStepAndAnIntentLine() {
        BufferRecord b = create("dom1", "vif1.0");
        Transition acquire = t(BufferState.FREE, BufferEvent.ACQUIRE_IFB);

        BufferRecord pending = store.intent(b, acquire, "take pool ifb ifb3");

        assertThat(pending.state()).isEqualTo(BufferState.FREE);
        assertThat(pending.pendingStep()).isEqualTo(BufferEvent.ACQUIRE_IFB);
        assertThat(pending.interrupted()).isTrue();
        assertThat(pending.updatedAt()).isAfterOrEqualTo(b.updatedAt());
        assertThat(store.interrupted()).containsExactly(pending);
        assertThat(lines(b)).containsExactly("ACQUIRE_IFB INTENT FREE->IFB_UP take pool ifb ifb3 error=null");
    }

    @Test
    void intentIsRefusedWithNothingWrittenWhenTheStateIsNotTheTransitionsSource() {
        BufferRecord b = create("dom1", "vif1.0");
        Transition wrongSource = t(BufferState.INGRESS, BufferEvent.ADD_REDIRECT);

        assertThatThrownBy(() -> store.intent(b, wrongSource, "redirect"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("buffer " + b.id())
                .hasMessageContaining("INGRESS");

        assertThat(store.find(b.id())).contains(b);
        assertThat(store.journal(b.id())).isEmpty();
    }

    @Test
    void intentIsRefusedWithNothingWrittenWhenAStepIsAlreadyPending() {
        BufferRecord b = advance(create("dom1", "vif1.0"), BufferState.IFB_UP);
        Transition ingress = t(BufferState.IFB_UP, BufferEvent.ADD_INGRESS);
        BufferRecord pending = store.intent(b, ingress, "first");
        int lines = store.journal(b.id()).size();

        assertThatThrownBy(() -> store.intent(pending, ingress, "second"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no step in flight");
        assertThatThrownBy(() -> store.intent(pending, t(BufferState.IFB_UP, BufferEvent.RELEASE_IFB), "other"))
                .isInstanceOf(IllegalStateException.class);

        assertThat(store.find(b.id())).contains(pending);
        assertThat(store.journal(b.id())).hasSize(lines);
    }

    @Test
    void intentOfATransitionWithoutAKernelStepWritesNothing() {
        BufferRecord b = store.failed(create("dom1", "vif1.0"), t(BufferState.FREE, BufferEvent.FAIL), null, "x",
                false);
        int lines = store.journal(b.id()).size();

        // FAILED --CLEARED--> FREE has no kernel step, so there is nothing to write ahead of
        assertThatThrownBy(() -> store.intent(b, t(BufferState.FAILED, BufferEvent.CLEARED), "clear"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has no kernel call");

        assertThat(store.find(b.id())).contains(b);
        assertThat(store.journal(b.id())).hasSize(lines);
    }

    @Test
    void intentWithIfbClaimsTheIfbAtomically() {
        BufferRecord a = create("dom1", "vif1.0");
        BufferRecord b = create("dom2", "vif2.0");
        Transition acquire = t(BufferState.FREE, BufferEvent.ACQUIRE_IFB);

        BufferRecord aPending = store.intentWithIfb(a, acquire, "ifb0", true);

        assertThat(aPending.ifb()).isEqualTo("ifb0");
        assertThat(aPending.ifbCreated()).isTrue();
        assertThat(aPending.pendingStep()).isEqualTo(BufferEvent.ACQUIRE_IFB);
        assertThat(aPending.state()).isEqualTo(BufferState.FREE);
        assertThat(lines(a)).containsExactly("ACQUIRE_IFB INTENT FREE->IFB_UP create ifb ifb0 error=null");

        assertThatThrownBy(() -> store.intentWithIfb(b, acquire, "ifb0", false))
                .isInstanceOf(ClaimRefusedException.class)
                .hasMessageContaining("ifb0");

        assertThat(store.find(b.id())).contains(b);
        assertThat(store.journal(b.id())).isEmpty();
        assertThat(ifbClaims()).containsExactly(Map.entry("ifb0", a.id()));
        assertThat(store.claimedIfbs()).containsExactly("ifb0");
        assertThat(store.createdIfbs()).containsExactly("ifb0");

        BufferRecord bPending = store.intentWithIfb(b, acquire, "ifb1", false);
        assertThat(bPending.ifb()).isEqualTo("ifb1");
        assertThat(bPending.ifbCreated()).isFalse();
        assertThat(lines(b)).containsExactly("ACQUIRE_IFB INTENT FREE->IFB_UP take pool ifb ifb1 error=null");
        assertThat(store.claimedIfbs()).containsExactlyInAnyOrder("ifb0", "ifb1");
        assertThat(store.createdIfbs()).containsExactly("ifb0");
    }

    @Test
    void intentWithIfbRefusedByStateLeavesNoClaim() {
        BufferRecord b = create("dom1", "vif1.0");
        BufferRecord pending = store.intent(b, t(BufferState.FREE, BufferEvent.ACQUIRE_IFB), "in flight");
        Transition acquire = t(BufferState.FREE, BufferEvent.ACQUIRE_IFB);

        assertThatThrownBy(() -> store.intentWithIfb(pending, acquire, "ifb0", true))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> store.intentWithIfb(pending, t(BufferState.IFB_UP, BufferEvent.ADD_INGRESS), "ifb0",
                true))
                .isInstanceOf(IllegalStateException.class);

        assertThat(store.claimedIfbs()).isEmpty();
        assertThat(store.createdIfbs()).isEmpty();
        assertThat(store.find(b.id())).contains(pending);
        assertThat(store.journal(b.id())).hasSize(1);
        // the ifb is still free for another buffer
        BufferRecord other = create("dom2", "vif2.0");
        assertThat(store.intentWithIfb(other, acquire, "ifb0", true).ifb()).isEqualTo("ifb0");
    }

    // --- outcomes ----------------------------------------------------------------------------------------------

    @Test
    void doneMovesTheStateClearsThePendingStepAndReachingFreeReleasesBothClaims() {
        BufferRecord b = create("dom1", "vif1.0");
        List<Transition> path = List.of(
                t(BufferState.FREE, BufferEvent.ACQUIRE_IFB),
                t(BufferState.IFB_UP, BufferEvent.ADD_INGRESS),
                t(BufferState.INGRESS, BufferEvent.ADD_REDIRECT),
                t(BufferState.REDIRECTED, BufferEvent.ADD_PLUG),
                t(BufferState.PLUGGED, BufferEvent.RELEASE),
                t(BufferState.RELEASED, BufferEvent.REMOVE_PLUG),
                t(BufferState.REDIRECTED, BufferEvent.REMOVE_REDIRECT),
                t(BufferState.INGRESS, BufferEvent.REMOVE_INGRESS),
                t(BufferState.IFB_UP, BufferEvent.RELEASE_IFB));
        List<String> expected = new ArrayList<>();
        for (Transition step : path) {
            b = step.event() == BufferEvent.ACQUIRE_IFB
                    ? store.intentWithIfb(b, step, "ifb7", true)
                    : store.intent(b, step, "intent " + step.event());
            assertThat(b.state()).isEqualTo(step.source());
            assertThat(b.pendingStep()).isEqualTo(step.event());
            assertEachDomainAsAll();
            b = store.done(b, step, "done " + step.event());
            assertThat(b.state()).as("after " + step).isEqualTo(step.target());
            assertThat(b.pendingStep()).isNull();
            assertEachDomainAsAll();
            if (step.target() != BufferState.FREE) {
                assertThat(store.holdingVif()).containsExactly(b);
                assertThat(store.claimedIfbs()).containsExactly("ifb7");
                assertThat(b.interrupted()).isEqualTo(!step.target().isResting());
            }
            String s = step.event().name();
            String edge = step.source() + "->" + step.target();
            expected.add(s + " INTENT " + edge + " "
                    + (step.event() == BufferEvent.ACQUIRE_IFB ? "create ifb ifb7" : "intent " + step.event())
                    + " error=null");
            expected.add(s + " DONE " + edge + " done " + step.event() + " error=null");
        }

        assertThat(b.state()).isEqualTo(BufferState.FREE);
        assertThat(store.holdingVif()).isEmpty();
        assertThat(vifClaims()).isEmpty();
        assertThat(store.claimedIfbs()).isEmpty();
        assertThat(store.interrupted()).isEmpty();
        // the record keeps the ifb it used: recovery still knows the plugin created it
        assertThat(b.ifb()).isEqualTo("ifb7");
        assertThat(store.createdIfbs()).containsExactly("ifb7");
        assertThat(lines(b)).containsExactlyElementsOf(expected);

        // both names are free again: a new buffer takes the vif and the ifb
        BufferRecord again = create("dom2", "vif1.0");
        again = store.intentWithIfb(again, path.getFirst(), "ifb7", false);
        assertThat(store.holdingVif()).containsExactly(again);
        assertThat(ifbClaims()).containsExactly(Map.entry("ifb7", again.id()));
    }

    @Test
    void stepFailedKeepsTheStateAndRecordsTheError() {
        BufferRecord b = advance(create("dom1", "vif1.0"), BufferState.IFB_UP);
        Transition ingress = t(BufferState.IFB_UP, BufferEvent.ADD_INGRESS);
        b = store.intent(b, ingress, "add ingress");

        b = store.stepFailed(b, ingress, "RTNETLINK: Operation not permitted");

        assertThat(b.state()).isEqualTo(BufferState.IFB_UP);
        assertThat(b.pendingStep()).isNull();
        assertThat(b.lastError()).isEqualTo("RTNETLINK: Operation not permitted");
        assertThat(b.failedStep()).isNull();
        assertThat(lines(b)).last().isEqualTo("ADD_INGRESS FAILED IFB_UP->INGRESS null"
                + " error=RTNETLINK: Operation not permitted");
        assertThat(store.holdingVif()).containsExactly(b);
        assertThat(store.claimedIfbs()).containsExactly("ifb-dom1");
        // the step may be tried again
        assertThat(store.intent(b, ingress, "retry").pendingStep()).isEqualTo(BufferEvent.ADD_INGRESS);
    }

    @Test
    void longErrorsAndDetailsAreCutToTheirColumns() {
        BufferRecord b = create("dom1", "vif1.0");
        Transition acquire = t(BufferState.FREE, BufferEvent.ACQUIRE_IFB);
        b = store.intent(b, acquire, "d".repeat(600));
        b = store.stepFailed(b, acquire, "e".repeat(3000));

        assertThat(b.lastError()).hasSize(2000);
        List<JournalEntry> journal = store.journal(b.id());
        assertThat(journal.get(0).detail()).hasSize(500);
        assertThat(journal.get(1).error()).hasSize(2000);
    }

    @Test
    void failedWithReleasedEndsFailedAndReleasesBothClaims() {
        BufferRecord b = advance(create("dom1", "vif1.0"), BufferState.REDIRECTED);
        Transition fail = t(BufferState.REDIRECTED, BufferEvent.FAIL);

        b = store.failed(b, fail, BufferEvent.ADD_PLUG, "sch_plug missing", true);

        assertThat(b.state()).isEqualTo(BufferState.FAILED);
        assertThat(b.failedStep()).isEqualTo(BufferEvent.ADD_PLUG);
        assertThat(b.lastError()).isEqualTo("sch_plug missing");
        assertThat(b.pendingStep()).isNull();
        assertThat(b.interrupted()).isFalse();
        assertThat(store.interrupted()).isEmpty();
        assertThat(store.holdingVif()).isEmpty();
        assertThat(store.claimedIfbs()).isEmpty();
        assertThat(lines(b)).last().isEqualTo("ADD_PLUG FAILED REDIRECTED->FAILED every kernel object undone"
                + " error=sch_plug missing");
        // the vif and the ifb may be taken by another buffer
        BufferRecord other = create("dom2", "vif1.0");
        assertThat(store.intentWithIfb(other, t(BufferState.FREE, BufferEvent.ACQUIRE_IFB), "ifb-dom1", false).ifb())
                .isEqualTo("ifb-dom1");
    }

    @Test
    void failedWithoutReleasedEndsFailedAndKeepsBothClaims() {
        BufferRecord b = advance(create("dom1", "vif1.0"), BufferState.PLUGGED);
        b = store.intent(b, t(BufferState.PLUGGED, BufferEvent.RELEASE), "release");
        Transition fail = t(BufferState.PLUGGED, BufferEvent.FAIL);

        b = store.failed(b, fail, BufferEvent.RELEASE, "netlink timeout", false);

        assertThat(b.state()).isEqualTo(BufferState.FAILED);
        assertThat(b.failedStep()).isEqualTo(BufferEvent.RELEASE);
        assertThat(b.pendingStep()).isNull();
        assertThat(store.holdingVif()).containsExactly(b);
        assertThat(store.claimedIfbs()).containsExactly("ifb-dom1");
        assertThat(lines(b)).last().isEqualTo("RELEASE FAILED PLUGGED->FAILED"
                + " kernel objects may remain error=netlink timeout");
        BufferRecord failed = b;
        assertThatThrownBy(() -> create("dom2", "vif1.0"))
                .isInstanceOf(ClaimRefusedException.class)
                .hasMessageContaining("buffer " + failed.id());
        BufferRecord other = create("dom3", "vif3.0");
        assertThatThrownBy(() -> store.intentWithIfb(other, t(BufferState.FREE, BufferEvent.ACQUIRE_IFB), "ifb-dom1",
                false))
                .isInstanceOf(ClaimRefusedException.class);

        // recovery undoes what was left, and only then are the names free
        b = store.settle(b, BufferState.FREE, Outcome.UNDONE, "CLEARED", "removed the leftovers");
        assertThat(b.state()).isEqualTo(BufferState.FREE);
        assertThat(store.holdingVif()).containsExactly(other);
        assertThat(store.claimedIfbs()).isEmpty();
    }

    @Test
    void failedWithoutAStepJournalsFail() {
        BufferRecord b = create("dom1", "vif1.0");
        b = store.failed(b, t(BufferState.FREE, BufferEvent.FAIL), null, "no ifb left", true);

        assertThat(b.state()).isEqualTo(BufferState.FAILED);
        assertThat(b.failedStep()).isNull();
        assertThat(b.lastError()).isEqualTo("no ifb left");
        assertThat(lines(b)).containsExactly("FAIL FAILED FREE->FAILED every kernel object undone error=no ifb left");
        assertThat(store.holdingVif()).isEmpty();
    }

    // --- recovery ----------------------------------------------------------------------------------------------

    @Test
    void settleMovesTheStateWithoutAStepAndReleasesClaimsOnlyAtFree() {
        BufferRecord b = advance(create("dom1", "vif1.0"), BufferState.INGRESS);
        b = store.intent(b, t(BufferState.INGRESS, BufferEvent.ADD_REDIRECT), "redirect");
        assertThat(store.interrupted()).containsExactly(b);

        b = store.settle(b, BufferState.REDIRECTED, Outcome.INTERRUPTED, "ADD_REDIRECT", "taken as done");

        assertThat(b.state()).isEqualTo(BufferState.REDIRECTED);
        assertThat(b.pendingStep()).isNull();
        assertThat(store.holdingVif()).containsExactly(b);
        assertThat(store.claimedIfbs()).containsExactly("ifb-dom1");
        assertThat(lines(b)).last().isEqualTo("ADD_REDIRECT INTERRUPTED INGRESS->REDIRECTED taken as done error=null");

        b = store.settle(b, BufferState.FREE, Outcome.UNDONE, "UNDO", "everything removed");

        assertThat(b.state()).isEqualTo(BufferState.FREE);
        assertThat(store.holdingVif()).isEmpty();
        assertThat(store.claimedIfbs()).isEmpty();
        assertThat(store.interrupted()).isEmpty();
        assertThat(lines(b)).last().isEqualTo("UNDO UNDONE REDIRECTED->FREE everything removed error=null");
    }

    @Test
    void noteWritesALineOfItsOwnAndChangesNothingElse() {
        BufferRecord b = advance(create("dom1", "vif1.0"), BufferState.PLUGGED);
        int before = store.journal(b.id()).size();

        store.note(b.id(), JournalEntry.Topic.VERIFY, Outcome.ADOPTED, BufferState.PLUGGED, "found whole", null);
        store.note(b.id(), JournalEntry.Topic.ORPHAN, Outcome.REMOVED, null, null, "ifb9 was ours");

        assertThat(store.find(b.id())).contains(b);
        List<JournalEntry> journal = store.journal(b.id());
        assertThat(journal).hasSize(before + 2);
        assertThat(lines(b).subList(before, before + 2)).containsExactly(
                "VERIFY ADOPTED PLUGGED->PLUGGED found whole error=null",
                "ORPHAN REMOVED null->null null error=ifb9 was ours");
    }

    @Test
    void setEpochStoresTheEpoch() {
        BufferRecord b = create("dom1", "vif1.0");
        store.setEpoch(b, 1234567890123L);
        assertThat(store.find(b.id()).orElseThrow().epoch()).isEqualTo(1234567890123L);
    }

    @Test
    void queriesForRecovery() {
        BufferRecord free = create("dom1", "vif1.0");
        BufferRecord freePending = store.intent(create("dom2", "vif2.0"), t(BufferState.FREE, BufferEvent.ACQUIRE_IFB),
                "x");
        BufferRecord ifbUp = advance(create("dom3", "vif3.0"), BufferState.IFB_UP);
        BufferRecord plugged = advance(create("dom4", "vif4.0"), BufferState.PLUGGED);
        BufferRecord releasedPending = store.intent(advance(create("dom5", "vif5.0"), BufferState.RELEASED),
                t(BufferState.RELEASED, BufferEvent.REMOVE_PLUG), "x");
        BufferRecord failedKept = store.failed(advance(create("dom6", "vif6.0"), BufferState.INGRESS),
                t(BufferState.INGRESS, BufferEvent.FAIL), BufferEvent.ADD_REDIRECT, "x", false);
        BufferRecord failedReleased = store.failed(advance(create("dom7", "vif7.0"), BufferState.INGRESS),
                t(BufferState.INGRESS, BufferEvent.FAIL), BufferEvent.ADD_REDIRECT, "x", true);
        BufferRecord backToFree = advance(advance(create("dom8", "vif8.0"), BufferState.IFB_UP), BufferState.FREE);
        BufferRecord pooled = store.intentWithIfb(create("dom9", "vif9.0"), t(BufferState.FREE, BufferEvent.ACQUIRE_IFB),
                "ifb0", false);

        assertThat(store.interrupted()).containsExactly(freePending, ifbUp, releasedPending, pooled);
        assertThat(store.holdingVif()).containsExactly(free, freePending, ifbUp, plugged, releasedPending, failedKept,
                pooled);
        assertThat(store.claimedIfbs()).containsExactlyInAnyOrder("ifb-dom3", "ifb-dom4", "ifb-dom5", "ifb-dom6",
                "ifb0");
        // every ifb the plugin created, held or not; never a pool ifb
        assertThat(store.createdIfbs()).containsExactlyInAnyOrder("ifb-dom3", "ifb-dom4", "ifb-dom5", "ifb-dom6",
                "ifb-dom7", "ifb-dom8");
        assertThat(store.all()).extracting(BufferRecord::id).containsExactly(free.id(), freePending.id(), ifbUp.id(),
                plugged.id(), releasedPending.id(), failedKept.id(), failedReleased.id(), backToFree.id(), pooled.id());
    }

    @Test
    void theJournalKeepsInsertionOrder() {
        BufferRecord a = create("dom1", "vif1.0");
        BufferRecord b = create("dom2", "vif2.0");
        List<String> expectedA = new ArrayList<>();
        List<String> expectedB = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            // interleaved, and the lines' names out of any natural order
            BufferEvent stepA = BufferEvent.values()[(39 - i) % BufferEvent.values().length];
            store.note(a.id(), stepA, Outcome.ADOPTED, BufferState.FREE, "a" + i, null);
            expectedA.add(stepA + " a" + i);
            if (i % 3 == 0) {
                JournalEntry.Topic topic = JournalEntry.Topic.values()[i % JournalEntry.Topic.values().length];
                store.note(b.id(), topic, Outcome.REPAIRED, BufferState.FREE, "b" + i, null);
                expectedB.add(topic + " b" + i);
            }
        }

        List<JournalEntry> ja = store.journal(a.id());
        assertThat(ja).extracting(e -> e.step() + " " + e.detail()).containsExactlyElementsOf(expectedA);
        assertThat(store.journal(b.id())).extracting(e -> e.step() + " " + e.detail())
                .containsExactlyElementsOf(expectedB);
        assertThat(ja).extracting(JournalEntry::id).isSorted();
        assertThat(ja).allSatisfy(e -> assertThat(e.bufferId()).isEqualTo(a.id()));
        assertThat(ja.getLast().at()).isCloseTo(Instant.now(), within(1, ChronoUnit.MINUTES));
    }

    // --- concurrency -------------------------------------------------------------------------------------------

    @Test
    void racingForIfbsInTheSameOrderEveryIfbIsClaimedExactlyOnce() throws Exception {
        raceForIfbs(false);
    }

    @Test
    void racingForIfbsInShuffledOrdersEveryIfbIsClaimedExactlyOnce() throws Exception {
        raceForIfbs(true);
    }

    private void raceForIfbs(boolean shuffled) throws Exception {
        int threads = 64;
        List<String> candidates = IntStream.range(0, 48).mapToObj(i -> "ifb" + i).toList();
        List<BufferRecord> buffers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            buffers.add(create("dom" + i, "vif" + i + ".0"));
        }
        Transition acquire = t(BufferState.FREE, BufferEvent.ACQUIRE_IFB);
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<String>> results = new ArrayList<>();
        try {
            for (int i = 0; i < threads; i++) {
                BufferRecord buffer = buffers.get(i);
                List<String> order = new ArrayList<>(candidates);
                if (shuffled) {
                    Collections.shuffle(order, new Random(i));
                }
                results.add(pool.submit(() -> {
                    go.await();
                    for (String ifb : order) {
                        try {
                            BufferRecord got = store.intentWithIfb(buffer, acquire, ifb, false);
                            assertThat(got.ifb()).isEqualTo(ifb);
                            return ifb;
                        } catch (ClaimRefusedException taken) {
                            // the next candidate
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            List<String> won = new ArrayList<>();
            List<Throwable> errors = new ArrayList<>();
            for (Future<String> f : results) {
                try {
                    won.add(f.get(RACE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
                } catch (java.util.concurrent.ExecutionException e) {
                    errors.add(e.getCause());
                }
            }
            assertThat(errors).as("only ClaimRefusedException may stop a claim").isEmpty();

            List<String> claimed = won.stream().filter(java.util.Objects::nonNull).toList();
            assertThat(claimed).hasSize(48).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(candidates);
            assertThat(won.stream().filter(java.util.Objects::isNull).count()).isEqualTo(16);
            Map<String, Long> claims = ifbClaims();
            assertThat(claims).hasSize(48);
            assertThat(new HashSet<>(claims.values())).hasSize(48);
            for (int i = 0; i < threads; i++) {
                BufferRecord now = store.find(buffers.get(i).id()).orElseThrow();
                String ifb = won.get(i);
                if (ifb == null) {
                    assertThat(now).as("a buffer that got no ifb is untouched").isEqualTo(buffers.get(i));
                    assertThat(store.journal(now.id())).isEmpty();
                } else {
                    assertThat(now.ifb()).isEqualTo(ifb);
                    assertThat(now.pendingStep()).isEqualTo(BufferEvent.ACQUIRE_IFB);
                    assertThat(claims.get(ifb)).isEqualTo(now.id());
                    assertThat(store.journal(now.id())).hasSize(1);
                }
            }
            assertThat(store.claimedIfbs()).containsExactlyInAnyOrderElementsOf(candidates);
        } finally {
            pool.shutdownNow();
            assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void racingCreatesOnTheSameVifExactlyOneWins() throws Exception {
        int threads = 16;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<BufferRecord>> results = new ArrayList<>();
        try {
            for (int i = 0; i < threads; i++) {
                String domain = "dom" + i;
                results.add(pool.submit(() -> {
                    go.await();
                    try {
                        return create(domain, "vif1.0");
                    } catch (ClaimRefusedException refused) {
                        return null;
                    }
                }));
            }
            go.countDown();
            List<BufferRecord> winners = new ArrayList<>();
            List<Throwable> errors = new ArrayList<>();
            for (Future<BufferRecord> f : results) {
                try {
                    BufferRecord b = f.get(RACE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                    if (b != null) {
                        winners.add(b);
                    }
                } catch (java.util.concurrent.ExecutionException e) {
                    errors.add(e.getCause());
                }
            }
            assertThat(errors).as("the losers get ClaimRefusedException, nothing else").isEmpty();
            assertThat(winners).hasSize(1);
            BufferRecord winner = winners.getFirst();
            assertThat(store.all()).containsExactly(winner);
            assertThat(vifClaims()).containsExactly(Map.entry("vif1.0", winner.id()));
        } finally {
            pool.shutdownNow();
            assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void aDomainsBuffersAreReadAfreshAfterEachWriteOfThem() {
        BufferRecord a = create("dom1", "vif1.0");
        BufferRecord other = create("dom2", "vif2.0");
        assertThat(store.holdingVif("dom1")).containsExactly(a);
        assertThat(store.holdingVif("dom2")).containsExactly(other);

        // a write of one domain's rows: that domain reads afresh, the other keeps its rows
        BufferRecord intended = store.intentWithIfb(a, t(BufferState.FREE, BufferEvent.ACQUIRE_IFB), "ifb1", true);
        assertThat(store.holdingVif("dom1")).containsExactly(intended);
        assertThat(store.holdingVif("dom2")).containsExactly(other);

        // in a transaction that rolls back: read inside it (its own write), then the database's rows after it
        org.springframework.transaction.support.TransactionTemplate outer =
                new org.springframework.transaction.support.TransactionTemplate(
                        new org.springframework.jdbc.datasource.DataSourceTransactionManager(ds));
        assertThatThrownBy(() -> outer.executeWithoutResult(status -> {
            BufferRecord done = store.done(intended, t(BufferState.FREE, BufferEvent.ACQUIRE_IFB), "made");
            assertThat(store.holdingVif("dom1")).containsExactly(done);
            throw new IllegalStateException("rolled back");
        })).hasMessage("rolled back");
        assertThat(store.holdingVif("dom1")).containsExactly(intended);

        // committed: the rows as committed
        BufferRecord[] done = new BufferRecord[1];
        outer.executeWithoutResult(status -> {
            done[0] = store.done(intended, t(BufferState.FREE, BufferEvent.ACQUIRE_IFB), "made");
            store.holdingVif("dom1"); // read before the commit
        });
        assertThat(done[0].state()).isEqualTo(BufferState.IFB_UP);
        assertThat(store.holdingVif("dom1")).containsExactly(done[0]);
        assertEachDomainAsAll();

        // a FAILED buffer that released its claims holds no vif any more
        store.failed(done[0], t(BufferState.IFB_UP, BufferEvent.FAIL), BufferEvent.FAIL, "gone", true);
        assertThat(store.holdingVif("dom1")).isEmpty();
        assertThat(store.holdingVif("dom2")).containsExactly(other);
    }

    // --- helpers -----------------------------------------------------------------------------------------------

    /** Each domain's {@link BufferStore#holdingVif(String)} is what the whole listing says of it. */
    private void assertEachDomainAsAll() {
        List<BufferRecord> all = store.holdingVif();
        for (String domain : store.all().stream().map(BufferRecord::domain).distinct().toList()) {
            assertThat(store.holdingVif(domain)).as(domain)
                    .containsExactlyElementsOf(all.stream().filter(b -> b.domain().equals(domain)).toList());
        }
    }

    private BufferRecord create(String domain, String vif) {
        return store.create(domain, vif, LIMIT, PROTOCOL, PRIORITY, PLUG_HANDLE);
    }

    private static Transition t(BufferState source, BufferEvent event) {
        return Transitions.find(source, event).orElseThrow(() -> new AssertionError(event + " from " + source));
    }

    /** Intent and done along the install path (or, to FREE, the teardown path); ifb {@code ifb-<domain>}. */
    private BufferRecord advance(BufferRecord b, BufferState target) {
        List<BufferEvent> install = List.of(BufferEvent.ACQUIRE_IFB, BufferEvent.ADD_INGRESS, BufferEvent.ADD_REDIRECT,
                BufferEvent.ADD_PLUG, BufferEvent.RELEASE);
        List<BufferEvent> teardown = List.of(BufferEvent.REMOVE_PLUG, BufferEvent.REMOVE_REDIRECT,
                BufferEvent.REMOVE_INGRESS, BufferEvent.RELEASE_IFB);
        List<BufferEvent> events = target == BufferState.FREE ? teardown : install;
        for (BufferEvent event : events) {
            if (b.state() == target) {
                return b;
            }
            var found = Transitions.find(b.state(), event);
            if (found.isEmpty()) {
                continue;
            }
            Transition step = found.get();
            b = event == BufferEvent.ACQUIRE_IFB
                    ? store.intentWithIfb(b, step, "ifb-" + b.domain(), true)
                    : store.intent(b, step, null);
            b = store.done(b, step, null);
        }
        assertThat(b.state()).isEqualTo(target);
        return b;
    }

    private List<String> lines(BufferRecord b) {
        return store.journal(b.id()).stream()
                .map(e -> e.step() + " " + e.outcome() + " " + e.fromState() + "->" + e.toState() + " " + e.detail()
                        + " error=" + e.error())
                .toList();
    }

    private long count(String query) {
        return sql.sql(query).query(Long.class).single();
    }

    private Map<String, Long> vifClaims() {
        return sql.sql("SELECT vif, buffer_id FROM netbuf_vif_claim").query((rs, n) -> Map.entry(rs.getString(1),
                rs.getLong(2))).list().stream().collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    }

    private Map<String, Long> ifbClaims() {
        return sql.sql("SELECT ifb, buffer_id FROM netbuf_ifb_claim").query((rs, n) -> Map.entry(rs.getString(1),
                rs.getLong(2))).list().stream().collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    }

    /** The schema history's versioned rows: version, type and success of each, in order. */
    private List<String> history() {
        return sql.sql("SELECT \"version\", \"type\", \"success\" FROM \"" + NetbufDatabase.HISTORY_TABLE
                        + "\" WHERE \"version\" IS NOT NULL ORDER BY \"installed_rank\"")
                .query((rs, n) -> rs.getString(1) + " " + rs.getString(2) + " " + rs.getBoolean(3)).list();
    }

    private static Flyway flyway(DataSource ds) {
        return Flyway.configure().dataSource(ds).locations(NetbufDatabase.MIGRATIONS)
                .table(NetbufDatabase.HISTORY_TABLE).load();
    }
}
