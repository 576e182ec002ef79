package io.remus.netbuf.netlink;

import io.remus.netbuf.lifecycle.BufferLifecycle;
import io.remus.netbuf.lifecycle.BufferRecovery;
import io.remus.netbuf.lifecycle.FaultInjection;
import io.remus.netbuf.lifecycle.NetbufSettings;
import io.remus.netbuf.lifecycle.TestDatabase;
import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;

/**
 * The production path for the kernel tests: a {@link BufferLifecycle} over a {@link Netlink}, its journal in an
 * in-memory H2 database (migrated), and what a test needs of a buffer it installed (its plug qdisc, its journal).
 *
 * <p>{@link BetweenSteps} is where a test acts between two steps of a buffer (looks at the kernel, removes a
 * device): the lifecycle commits a step's intent before its kernel call, so after each commit that leaves a buffer
 * with a step in flight the hook hears that step, once, before the lifecycle makes its kernel call.
 */
public final class TestLifecycle {

    /** Called between a step's committed intent and its kernel call. */
    @FunctionalInterface
    public interface BetweenSteps {
        void before(BufferEvent step, BufferRecord buffer) throws Exception;
    }

    private static final AtomicLong DATABASES = new AtomicLong();

    private final Netlink netlink;
    private final DataSource db;
    private final BufferStore store;
    private final BufferLifecycle lifecycle;
    private List<Throwable> hookFailures = List.of();

    private TestLifecycle(Netlink netlink, DataSource db, NetbufSettings settings, FaultInjection faults) {
        this.netlink = netlink;
        this.db = db;
        this.store = new BufferStore(db);
        this.lifecycle = new BufferLifecycle(store, new BufferInstaller(netlink), settings, faults);
    }

    /** CREATE mode, no faults, a fresh database. */
    public static TestLifecycle on(Netlink netlink) {
        return on(netlink, NetbufSettings.defaults());
    }

    public static TestLifecycle on(Netlink netlink, NetbufSettings settings) {
        return new TestLifecycle(netlink, freshDatabase(), settings, FaultInjection.none());
    }

    /**
     * A fresh database whose commits call {@code hook} as {@link BetweenSteps} says. What the hook throws is kept,
     * not thrown into the lifecycle's commit: {@link #hookFailures} has it.
     */
    public static TestLifecycle on(Netlink netlink, NetbufSettings settings, BetweenSteps hook) {
        return hooked(netlink, freshDatabase(), settings, hook);
    }

    /** Another lifecycle on this one's database, whose commits call {@code hook} (for every buffer in it). */
    public TestLifecycle sameDatabase(NetbufSettings settings, BetweenSteps hook) {
        return hooked(netlink, db, settings, hook);
    }

    private static TestLifecycle hooked(Netlink netlink, DataSource db, NetbufSettings settings, BetweenSteps hook) {
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        TestLifecycle t = new TestLifecycle(netlink, betweenSteps(db, hook, failures), settings, FaultInjection.none());
        t.hookFailures = failures;
        return t;
    }

    /** What the {@link BetweenSteps} hook threw, if anything. */
    public List<Throwable> hookFailures() {
        return hookFailures;
    }

    /** Another lifecycle on this one's database (another process after a restart, say), with these faults. */
    public TestLifecycle sameDatabase(NetbufSettings settings, FaultInjection faults) {
        return new TestLifecycle(netlink, db, settings, faults);
    }

    public BufferLifecycle lifecycle() {
        return lifecycle;
    }

    public BufferStore store() {
        return store;
    }

    /** What the plugin does at its start: {@link BufferRecovery} on this database. */
    public BufferRecovery.Report recover() {
        return new BufferRecovery(lifecycle, new BufferInstaller(netlink)).recover();
    }

    /** The buffer's plug qdisc, as its row names it. */
    public PlugQdisc plugOf(BufferRecord b) {
        return new PlugQdisc(netlink.link(InterfaceName.of(b.ifb())), new TcHandle(b.plugHandle()), b.limitBytes());
    }

    /** The buffer's journal as {@code "STEP OUTCOME"} lines. */
    public List<String> journal(BufferRecord b) {
        return store.journal(b.id()).stream().map(e -> e.step() + " " + e.outcome()).toList();
    }

    /** The notes and errors of the buffer's journal. */
    public List<String> journalDetails(BufferRecord b) {
        return store.journal(b.id()).stream().map(e -> e.step() + " " + e.outcome() + ": " + e.detail()
                + (e.error() == null ? "" : " / " + e.error())).toList();
    }

    /** The row as it is now. */
    public BufferRecord current(BufferRecord b) {
        return store.find(b.id()).orElseThrow();
    }

    private static DataSource freshDatabase() {
        return TestDatabase.h2("jdbc:h2:mem:netbuf-test-" + DATABASES.incrementAndGet() + "-" + System.nanoTime()
                + ";DB_CLOSE_DELAY=-1");
    }

    /**
     * {@code db}, whose connections call {@code hook} after each commit for every step in flight it has not heard
     * yet (read through {@code db} itself, outside the committed transaction); what the hook throws goes to
     * {@code failures}.
     */
    public static DataSource betweenSteps(DataSource db, BetweenSteps hook, List<Throwable> failures) {
        BufferStore observer = new BufferStore(db);
        Set<String> heard = new HashSet<>();
        Runnable afterCommit = () -> {
            for (BufferRecord b : observer.all()) {
                if (b.pendingStep() != null && heard.add(b.id() + " " + b.pendingStep())) {
                    try {
                        hook.before(b.pendingStep(), b);
                    } catch (Exception | AssertionError e) {
                        failures.add(e);
                    }
                }
            }
        };
        InvocationHandler source = (proxy, method, args) -> {
            Object result = invoke(db, method, args);
            if (result instanceof Connection c) {
                return Proxy.newProxyInstance(TestLifecycle.class.getClassLoader(), new Class<?>[] {Connection.class},
                        (p, m, a) -> {
                            Object r = invoke(c, m, a);
                            if (m.getName().equals("commit")) {
                                afterCommit.run();
                            }
                            return r;
                        });
            }
            return result;
        };
        return (DataSource) Proxy.newProxyInstance(TestLifecycle.class.getClassLoader(),
                new Class<?>[] {DataSource.class}, source);
    }

    private static Object invoke(Object target, java.lang.reflect.Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
