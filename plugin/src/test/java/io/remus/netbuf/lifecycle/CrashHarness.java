package io.remus.netbuf.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.fail;

import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.IngressQdisc;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.KernelFixture;
import io.remus.netbuf.netlink.KernelSnapshot;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.TestNamespace;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.NetbufDatabase;
import io.remus.netbuf.persistence.JournalEntry;
import io.remus.netbuf.persistence.JournalEntry.Outcome;
import io.remus.netbuf.uml.UserModeLinux;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.sql.DataSource;

/**
 * The crash matrix, shared by the host-kernel and the user-mode-linux test: a child JVM ({@link CrashChildMain})
 * installs buffers on {@link Options#buffers} vifs at once (and, in one mode, tears them down) in a test namespace,
 * and every one of them stops at the same fault-injection point ({@link FaultInjection}); the child is killed
 * there with SIGKILL; then this process, as the "new process" on the same H2 file, runs recovery, and the kernel
 * (seen through ip/tc, never the code under test) and the database are checked for leftovers.
 *
 * <p>Sizes: {@code -Dnetbuf.crash.buffers=N} buffers per child (default {@value #DEFAULT_BUFFERS}), and
 * {@code -Dnetbuf.crash.repeats=N} children killed at each point (default 1; the long form is 20).
 */
final class CrashHarness {

    static final int DEFAULT_BUFFERS = 20;
    static final int BUFFERS = Integer.getInteger("netbuf.crash.buffers", DEFAULT_BUFFERS);
    static final int REPEATS = Integer.getInteger("netbuf.crash.repeats", 1);
    static final String INSTALL = CrashChildMain.INSTALL;
    static final String INSTALL_THEN_TEARDOWN = CrashChildMain.INSTALL_THEN_TEARDOWN;
    static final String RECOVER = CrashChildMain.RECOVER;
    static final String DONE_MARKER = CrashChildMain.DONE_MARKER;
    static final String FAILED_MARKER = CrashChildMain.FAILED_MARKER;

    /**
     * Where and how to run. {@code pluggable}: whether the kernel has sch_plug (UML), which decides how far a new
     * install gets after recovery.
     */
    record Options(Path dbDir, List<String> childJvmOptions, Duration markerTimeout, boolean pluggable, int buffers) {
    }

    /** A crash point of the matrix: the child's mode and the {@code netbuf.test.crash-at} value. */
    record CrashPoint(String mode, String point) {

        static CrashPoint parse(String spec) {
            // "install-then-teardown/after-kernel:REMOVE_PLUG" or just "after-intent:ACQUIRE_IFB" (mode install)
            int slash = spec.indexOf('/');
            return slash < 0 ? new CrashPoint(INSTALL, spec) : new CrashPoint(spec.substring(0, slash),
                    spec.substring(slash + 1));
        }

        boolean afterKernel() {
            return point.startsWith("after-kernel:");
        }

        BufferEvent step() {
            return BufferEvent.valueOf(point.substring(point.indexOf(':') + 1));
        }

        @Override
        public String toString() {
            return mode + " " + point;
        }
    }

    /** The crash points of an install, from the table: each install step's, in order. */
    static List<String> installPoints() {
        return io.remus.netbuf.model.BufferEvent.install().stream().flatMap(e -> e.crashPoints().stream()).toList();
    }

    /**
     * The crash points of a teardown from PLUGGED, from the table: the release that lets the held frames out, then
     * each removal back to FREE, each with mode {@code install-then-teardown}.
     */
    static List<String> teardownPoints() {
        List<String> points = new ArrayList<>(io.remus.netbuf.model.BufferEvent.RELEASE.crashPoints());
        for (BufferState s = BufferState.RELEASED; s != BufferState.FREE; ) {
            io.remus.netbuf.model.BufferEvent back = io.remus.netbuf.model.BufferEvent.backward(s);
            points.addAll(back.crashPoints());
            s = back.target();
        }
        return points.stream().map(p -> INSTALL_THEN_TEARDOWN + "/" + p).toList();
    }

    /** Each point of {@code points}, {@link #REPEATS} times: the arguments of a matrix test. */
    static Stream<org.junit.jupiter.params.provider.Arguments> matrix(String... points) {
        return Stream.of(points).flatMap(p -> java.util.stream.IntStream.rangeClosed(1, REPEATS)
                .mapToObj(r -> org.junit.jupiter.params.provider.Arguments.of(p, r)));
    }

    private CrashHarness() {
    }

    // ---------------------------------------------------------------- database

    /**
     * The JDBC URL of a new H2 file database under {@code dir}, which both processes open, one after the other
     * (embedded H2 lets one process at a time have a file open).
     *
     * <p>The URL is the plugin's own ({@link NetbufDatabase#h2FileUrl}), whose {@code WRITE_DELAY=0} writes each
     * commit to the file when it commits. H2's default (500 ms) leaves a commit in memory for up to that long while
     * the database stays open (as it does under a connection pool, and as it does in {@link CrashChildMain}), so a
     * SIGKILL right after a step's intent loses the intent, and the buffer row with it, while the kernel step goes
     * ahead. {@code -Dnetbuf.crash.h2-write-delay=500} puts the default back and shows it: every point fails.
     */
    static String h2Url(Path dir, String name) {
        try {
            Path d = Files.createDirectories(dir).toAbsolutePath();
            String url = NetbufDatabase.h2FileUrl(d.resolve(name + "-" + System.nanoTime()));
            String delay = System.getProperty("netbuf.crash.h2-write-delay");
            return delay == null ? url : url.replace(";WRITE_DELAY=0", ";WRITE_DELAY=" + Integer.parseInt(delay));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A data source on {@code url}, migrated (a no-op when the schema is there already), as the plugin starts. */
    static DataSource dataSource(String url) {
        return CrashChildMain.dataSource(url);
    }

    /** Deletes the database's files ({@code NAME.mv.db}, {@code NAME.trace.db}, lock files). */
    static void deleteDatabase(String url) {
        String file = url.substring("jdbc:h2:file:".length(), url.indexOf(';'));
        Path path = Path.of(file);
        try (Stream<Path> files = Files.list(path.getParent())) {
            for (Path p : files.filter(f -> f.getFileName().toString().startsWith(path.getFileName() + ".")).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // leftovers under target/ or a tmpfs; not worth failing a test for
        }
    }

    // ---------------------------------------------------------------- the child

    /** A child JVM running {@link CrashChildMain}, its output collected line by line. */
    static final class Child implements AutoCloseable {
        final Process process;
        final StringBuffer output = new StringBuffer();
        final List<String> markers = java.util.Collections.synchronizedList(new ArrayList<>());
        /** Counted down at each crash-point marker; at a done or failed line, or at the end, down to 0. */
        final CountDownLatch arrived;

        private Child(Process process, int buffers) {
            this.process = process;
            this.arrived = new CountDownLatch(buffers);
            Thread reader = new Thread(this::read, "crash-child-stdout-" + process.pid());
            reader.setDaemon(true);
            reader.start();
        }

        private void read() {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    output.append(line).append('\n');
                    if (line.startsWith(FaultInjection.MARKER)) {
                        markers.add(line);
                        arrived.countDown();
                    } else if (line.startsWith(DONE_MARKER) || line.startsWith(FAILED_MARKER)) {
                        markers.add(line);
                        release();
                    }
                }
            } catch (IOException e) {
                output.append("[reading the child's output failed: ").append(e).append("]\n");
            } finally {
                release();
            }
        }

        private void release() {
            while (arrived.getCount() > 0) {
                arrived.countDown();
            }
        }

        @Override
        public void close() {
            if (process.isAlive()) {
                process.destroyForcibly();
                try {
                    process.waitFor(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    static Child startChild(String url, Path namespaceFile, List<String> vifs, CrashPoint crash, Options options) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(options.childJvmOptions());
        cmd.add("-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
        cmd.add("-XX:-UsePerfData");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-D" + FaultInjection.PROPERTY + "=" + crash.point());
        cmd.add("-cp");
        cmd.add(UserModeLinux.testClassPath());
        cmd.add(CrashChildMain.class.getName());
        cmd.add(url);
        cmd.add(namespaceFile.toString());
        cmd.add(String.join(",", vifs));
        cmd.add(crash.mode());
        try {
            return new Child(new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start(),
                    1); // one domain's step for every vif at once, or recovery's undo of one buffer
        } catch (IOException e) {
            throw new AssertionError("cannot start the child JVM: " + cmd, e);
        }
    }

    /**
     * Waits (bounded) until the child has reached the crash point (once: its buffers are one domain, each step one
     * batch for all of them), then kills it with SIGKILL and checks it died of it.
     */
    static void awaitCrashPointAndKill(Child child, CrashPoint crash, Duration timeout)
            throws InterruptedException {
        boolean seen = child.arrived.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        List<String> said = List.copyOf(child.markers);
        String expected = FaultInjection.MARKER + crash.point();
        if (!seen || said.size() != 1 || !said.stream().allMatch(expected::equals)) {
            if (seen) {
                child.process.waitFor(10, TimeUnit.SECONDS); // it finished or failed: let it say all it has to say
            }
            child.close();
            fail("the child never reached " + crash.point()
                    + (seen ? "" : " within " + timeout.toSeconds() + " s") + "; it said: " + said
                    + "\n--- child output ---\n" + child.output);
        }
        // Process.destroyForcibly is SIGKILL on Linux: no shutdown hook, no finally block, no H2 close runs
        child.process.destroyForcibly();
        assertThat(child.process.waitFor(30, TimeUnit.SECONDS)).as("the child died of SIGKILL").isTrue();
        assertThat(child.process.exitValue()).as("exit status of a JVM killed by SIGKILL (128 + 9)").isEqualTo(137);
    }

    // ---------------------------------------------------------------- one point of the matrix

    /**
     * The whole scenario for one crash point, in a namespace of its own: install (and tear down) buffers on
     * {@link Options#buffers} vifs in a child JVM killed with all of them at the point, recover in this one, check
     * for leftovers, then check that every vif takes a new buffer.
     */
    static void run(CrashPoint crash, int repetition, Options options) throws Exception {
        run(crash, null, repetition, options);
    }

    /**
     * As {@link #run(CrashPoint, int, Options)}, and then, when {@code recoveryPoint} is set
     * ({@code after-kernel:REMOVE_REDIRECT}), a first recovery in another child JVM is killed at that point of its
     * first undo before this process recovers: a crash during recovery is rolled back by the next one.
     */
    static void run(CrashPoint crash, String recoveryPoint, int repetition, Options options) throws Exception {
        String url = h2Url(options.dbDir(), "crash-" + crash.point().replace(':', '-'));
        List<String> vifs = java.util.stream.IntStream.range(0, options.buffers()).mapToObj(i -> "vif7." + i).toList();
        long t0 = System.nanoTime();
        long[] marks = new long[4];
        Connection held = null;
        try (KernelFixture kernel = KernelFixture.withVifs()) {
            TestNamespace ns = kernel.ns();
            ns.addVifs(vifs, "eth");
            dataSource(url); // created and migrated here; closed again when its last connection closes

            marks[0] = System.nanoTime();
            try (Child child = startChild(url, ns.file(), vifs, crash, options)) {
                awaitCrashPointAndKill(child, crash, options.markerTimeout());
            }
            marks[1] = System.nanoTime();

            // the "new process": a fresh store on the same file (held open, as a pool would), a fresh netlink
            // socket in the namespace
            DataSource db = dataSource(url);
            held = db.getConnection();
            BufferStore store = new BufferStore(db);
            List<BufferRecord> before = store.all();
            assertThat(before).as("the child's buffer rows survived SIGKILL").hasSize(vifs.size());
            assertThat(before).extracting(BufferRecord::vif).containsExactlyInAnyOrderElementsOf(vifs);
            KernelSnapshot atCrash = ns.snapshot(vifs);
            for (BufferRecord b : before) {
                assertThat(b.pendingStep()).as("the intent of %s was committed before the crash: %s", crash.step(), b)
                        .isEqualTo(crash.step());
                assertKernelAtCrash(atCrash, b, crash);
            }
            assertThat(atCrash.ifbs()).as("ifbs at %s", crash)
                    .hasSize(present(crash).contains(BufferEvent.ACQUIRE_IFB) ? vifs.size() : 0);
            assertThat(atCrash.devsWithQdisc(PlugQdisc.KIND)).as("plug qdiscs at %s", crash)
                    .hasSize(present(crash).contains(BufferEvent.ADD_PLUG) ? vifs.size() : 0);
            java.util.Map<Long, Integer> journalBefore = new java.util.HashMap<>();
            before.forEach(b -> journalBefore.put(b.id(), store.journal(b.id()).size()));

            CrashPoint inRecovery = recoveryPoint == null ? null : new CrashPoint(RECOVER, recoveryPoint);
            Long hitInRecovery = null;
            if (inRecovery != null) {
                held.close(); // the child opens the file now: embedded H2 is one process at a time
                held = null;
                try (Child child = startChild(url, ns.file(), vifs, inRecovery, options)) {
                    awaitCrashPointAndKill(child, inRecovery, options.markerTimeout());
                }
                held = db.getConnection();
                List<BufferRecord> stopped = store.all().stream()
                        .filter(b -> b.pendingStep() == inRecovery.step()).toList();
                assertThat(stopped).as("the recovery killed at %s left that step's intent on one buffer", inRecovery)
                        .hasSize(1);
                hitInRecovery = stopped.getFirst().id();
            }

            BufferRecovery.Report report;
            try (Netlink netlink = Netlink.openInNamespace(ns.file())) {
                BufferLifecycle lifecycle = new BufferLifecycle(store, new BufferInstaller(netlink),
                        NetbufSettings.defaults(), FaultInjection.none());
                report = new BufferRecovery(lifecycle, new BufferInstaller(netlink)).recover();
            }
            marks[2] = System.nanoTime();
            String context = crash + (inRecovery == null ? "" : ", then " + inRecovery) + " #" + repetition
                    + ": recovery said " + report.lines();

            ns.snapshot(vifs).assertNoBufferObjects(vifs, context);
            assertThat(ns.linksOfType("veth")).as("the vifs are still there: %s", context).containsAll(vifs);
            List<BufferRecord> after = store.all();
            int failed = 0;
            for (BufferRecord b : after) {
                String about = context + "; journal " + describe(store.journal(b.id()));
                assertResting(b, about);
                assertThat(b.state()).as("%s", about).isIn(BufferState.FREE, BufferState.FAILED);
                if (b.state() == BufferState.FAILED) {
                    // recovery could not undo a step: allowed, if it says why (its claims are then gone too, below)
                    assertThat(b.lastError()).as("a FAILED buffer says why: %s", about).isNotBlank();
                    failed++;
                }
                List<JournalEntry> journal = store.journal(b.id());
                List<JournalEntry> byRecovery = journal.subList(journalBefore.get(b.id()), journal.size());
                assertThat(byRecovery).as("the step in flight is journaled as interrupted: %s", about)
                        .anySatisfy(e -> {
                            assertThat(e.outcome()).isEqualTo(Outcome.INTERRUPTED);
                            assertThat(e.step()).isEqualTo(crash.step().name());
                        });
                if (Long.valueOf(b.id()).equals(hitInRecovery)) {
                    assertThat(byRecovery).as("the step the first recovery was killed in, journaled as interrupted"
                                    + " by the second: %s", about)
                            .anySatisfy(e -> {
                                assertThat(e.outcome()).isEqualTo(Outcome.INTERRUPTED);
                                assertThat(e.step()).isEqualTo(inRecovery.step().name());
                            });
                }
            }
            assertThat(report.failed()).as("recovery failures: %s", context).isEqualTo(failed);
            assertThat(report.rolledBack()).as("interrupted buffers rolled back: %s", context)
                    .isEqualTo(vifs.size() - failed);
            assertThat(store.claimedIfbs()).as("ifb claims: %s", context).isEmpty();
            assertThat(store.holdingVif()).as("vif claims: %s", context).isEmpty();

            // every vif is free for a new buffer, as far as this kernel allows
            reinstall(kernel, store, vifs, options.pluggable(), context);
            marks[3] = System.nanoTime();
            System.out.printf("crash matrix %s #%d, %d buffers: recovered to %s; setup %d ms, child to the point and"
                            + " killed %d ms, reopen + recovery %d ms, checks + new installs %d ms%n",
                    inRecovery == null ? crash : crash + ", then " + inRecovery,
                    repetition, vifs.size(), after.stream().map(BufferRecord::state).distinct().toList(),
                    (marks[0] - t0) / 1_000_000, (marks[1] - marks[0]) / 1_000_000, (marks[2] - marks[1]) / 1_000_000,
                    (marks[3] - marks[2]) / 1_000_000);
        } finally {
            if (held != null) {
                held.close();
            }
            deleteDatabase(url);
        }
    }

    /** The install steps whose objects exist at the crash point. */
    private static Set<BufferEvent> present(CrashPoint crash) {
        Set<BufferEvent> present = EnumSet.noneOf(BufferEvent.class);
        List<BufferEvent> install = List.of(BufferEvent.ACQUIRE_IFB, BufferEvent.ADD_INGRESS, BufferEvent.ADD_REDIRECT,
                BufferEvent.ADD_PLUG);
        if (crash.mode().equals(INSTALL)) {
            for (BufferEvent s : install) {
                if (s == crash.step()) {
                    if (crash.afterKernel()) {
                        present.add(s);
                    }
                    break;
                }
                present.add(s);
            }
        } else {
            present.addAll(install);
            // the removals in teardown order, each taking away the object its install step made
            for (BufferEvent s : List.of(BufferEvent.RELEASE, BufferEvent.REMOVE_PLUG,
                    BufferEvent.REMOVE_REDIRECT, BufferEvent.REMOVE_INGRESS, BufferEvent.RELEASE_IFB)) {
                if (s != crash.step() || crash.afterKernel()) {
                    present.remove(madeBy(s));
                }
                if (s == crash.step()) {
                    break;
                }
            }
        }
        return present;
    }

    /** What the kernel had of buffer {@code b} at the crash point, as ip/tc see it: it stopped where it said. */
    private static void assertKernelAtCrash(KernelSnapshot k, BufferRecord b, CrashPoint crash) {
        Set<BufferEvent> present = present(crash);
        String at = crash + " (buffer " + b + ")";
        String ifb = b.ifb();
        assertThat(ifb).as("the ifb is named in the database before it exists: %s", at).isNotNull();
        assertThat(k.hasLink(ifb)).as("ifb %s at %s", ifb, at).isEqualTo(present.contains(BufferEvent.ACQUIRE_IFB));
        assertThat(k.qdisc(b.vif(), IngressQdisc.KIND).isPresent()).as("ingress at %s", at)
                .isEqualTo(present.contains(BufferEvent.ADD_INGRESS));
        assertThat(k.redirects(b.vif()).size()).as("redirect filters at %s", at)
                .isEqualTo(present.contains(BufferEvent.ADD_REDIRECT) ? 1 : 0);
        if (present.contains(BufferEvent.ADD_REDIRECT)) {
            assertThat(k.redirectTarget(b.vif())).as("the filter redirects to the buffer's own ifb: %s", at)
                    .isEqualTo(ifb);
        }
        assertThat(k.qdisc(ifb, PlugQdisc.KIND).isPresent()).as("plug qdisc at %s", at)
                .isEqualTo(present.contains(BufferEvent.ADD_PLUG));
    }

    /** The install step whose object a removal step takes away (release_indefinite takes away none). */
    private static BufferEvent madeBy(BufferEvent removal) {
        return switch (removal) {
            case REMOVE_PLUG, DROP_HELD -> BufferEvent.ADD_PLUG;
            case REMOVE_REDIRECT -> BufferEvent.ADD_REDIRECT;
            case REMOVE_INGRESS -> BufferEvent.ADD_INGRESS;
            case RELEASE_IFB -> BufferEvent.ACQUIRE_IFB;
            default -> null;
        };
    }

    /**
     * After new installs on every vif (and, with sch_plug, their teardown) the vifs are as clean as before;
     * without sch_plug each install fails cleanly at the plug step.
     */
    private static void reinstall(KernelFixture kernel, BufferStore store, List<String> vifs, boolean pluggable,
                                  String crash) {
        TestNamespace ns = kernel.ns();
        BufferLifecycle lifecycle = new BufferLifecycle(store, new BufferInstaller(kernel.netlink()),
                NetbufSettings.defaults(), FaultInjection.none());
        String context = "new installs after " + crash;
        if (pluggable) {
            List<BufferRecord> again = new ArrayList<>();
            for (String vif : vifs) {
                again.add(lifecycle.install("dom7", InterfaceName.of(vif)));
            }
            KernelSnapshot k = ns.snapshot(vifs);
            for (BufferRecord b : again) {
                assertThat(b.state()).as(context).isEqualTo(BufferState.PLUGGED);
                assertThat(k.qdisc(b.ifb(), PlugQdisc.KIND)).as(context).isPresent();
                assertThat(k.redirectTarget(b.vif())).as(context).isEqualTo(b.ifb());
            }
            for (BufferRecord b : again) {
                assertThat(lifecycle.teardown(b.id()).state()).as(context).isEqualTo(BufferState.FREE);
            }
        } else {
            for (String vif : vifs) {
                assertThatThrownBy(() -> lifecycle.install("dom7", InterfaceName.of(vif)))
                        .as(context)
                        .isInstanceOf(NetbufException.class)
                        .hasMessageContaining("failed at ADD_PLUG")
                        .hasMessageContaining("rolled back")
                        .hasMessageContaining("modprobe sch_plug");
                BufferRecord failed = store.all().getLast();
                assertThat(failed.state()).as(context).isEqualTo(BufferState.FAILED);
                assertThat(failed.failedStep()).as(context).isEqualTo(BufferEvent.ADD_PLUG);
            }
        }
        ns.snapshot(vifs).assertNoBufferObjects(vifs, context);
        for (BufferRecord b : store.all()) {
            assertResting(b, context);
        }
        assertThat(store.claimedIfbs()).as(context).isEmpty();
        assertThat(store.holdingVif()).as(context).isEmpty();
    }

    static void assertResting(BufferRecord b, String context) {
        assertThat(b.state().isResting()).as("buffer %s rests: %s", b, context).isTrue();
        assertThat(b.pendingStep()).as("buffer %s has no step in flight: %s", b, context).isNull();
    }

    static String describe(List<JournalEntry> journal) {
        return journal.stream().map(e -> e.step() + " " + e.outcome()).toList().toString();
    }
}
