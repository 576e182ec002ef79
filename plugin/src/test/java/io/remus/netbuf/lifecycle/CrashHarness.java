package io.remus.netbuf.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.model.KernelStep;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.KernelFixture;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.Sh;
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
 * installs a buffer (and, in one mode, tears it down) in a test namespace and stops at a fault-injection point
 * ({@link FaultInjection}); it is killed there with SIGKILL; then this process, as the "new process" on the same
 * H2 file, runs recovery, and the kernel (seen through ip/tc, never the code under test) and the database are
 * checked for leftovers.
 */
final class CrashHarness {

    static final String VIF = "vif7.0";
    static final String INSTALL = CrashChildMain.INSTALL;
    static final String INSTALL_THEN_TEARDOWN = CrashChildMain.INSTALL_THEN_TEARDOWN;
    static final String DONE_MARKER = CrashChildMain.DONE_MARKER;
    static final String FAILED_MARKER = CrashChildMain.FAILED_MARKER;

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Where and how to run. {@code pluggable}: whether the kernel has sch_plug (UML), which decides how far a new
     * install gets after recovery.
     */
    record Options(Path dbDir, List<String> childJvmOptions, Duration markerTimeout, boolean pluggable) {
    }

    /** A crash point of the matrix: the child's mode and the {@code netbuf.test.crash-at} value. */
    record CrashPoint(String mode, String point) {

        static CrashPoint parse(String spec) {
            // "install-then-teardown/after-kernel:PLUG_DELETE" or just "after-intent:IFB_UP" (mode install)
            int slash = spec.indexOf('/');
            return slash < 0 ? new CrashPoint(INSTALL, spec) : new CrashPoint(spec.substring(0, slash),
                    spec.substring(slash + 1));
        }

        boolean afterKernel() {
            return point.startsWith("after-kernel:");
        }

        KernelStep step() {
            return KernelStep.valueOf(point.substring(point.indexOf(':') + 1));
        }

        @Override
        public String toString() {
            return mode + " " + point;
        }
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
        final CountDownLatch marker = new CountDownLatch(1);
        volatile String markerLine;

        private Child(Process process) {
            this.process = process;
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
                    if (markerLine == null && (line.startsWith(FaultInjection.MARKER) || line.startsWith(DONE_MARKER)
                            || line.startsWith(FAILED_MARKER))) {
                        markerLine = line;
                        marker.countDown();
                    }
                }
            } catch (IOException e) {
                output.append("[reading the child's output failed: ").append(e).append("]\n");
            } finally {
                marker.countDown();
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

    static Child startChild(String url, Path namespaceFile, String vif, CrashPoint crash, Options options) {
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
        cmd.add(vif);
        cmd.add(crash.mode());
        try {
            return new Child(new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start());
        } catch (IOException e) {
            throw new AssertionError("cannot start the child JVM: " + cmd, e);
        }
    }

    /** Waits (bounded) for the child to reach the crash point, then kills it with SIGKILL and checks it died of it. */
    static void awaitCrashPointAndKill(Child child, CrashPoint crash, Duration timeout) throws InterruptedException {
        boolean seen = child.marker.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        String line = child.markerLine;
        if (!seen || line == null || !line.equals(FaultInjection.MARKER + crash.point())) {
            if (seen) {
                child.process.waitFor(10, TimeUnit.SECONDS); // it finished or failed: let it say all it has to say
            }
            child.close();
            fail("the child never reached " + crash.point() + (seen ? "" : " within " + timeout.toSeconds() + " s")
                    + (line == null ? "" : "; it said: " + line) + "\n--- child output ---\n" + child.output);
        }
        // Process.destroyForcibly is SIGKILL on Linux: no shutdown hook, no finally block, no H2 close runs
        child.process.destroyForcibly();
        assertThat(child.process.waitFor(30, TimeUnit.SECONDS)).as("the child died of SIGKILL").isTrue();
        assertThat(child.process.exitValue()).as("exit status of a JVM killed by SIGKILL (128 + 9)").isEqualTo(137);
    }

    // ---------------------------------------------------------------- one point of the matrix

    /**
     * The whole scenario for one crash point, in a namespace of its own: install (and tear down) in a child JVM
     * killed at the point, recover in this one, check for leftovers, then check that the vif takes a new buffer.
     */
    static void run(CrashPoint crash, Options options) throws Exception {
        String url = h2Url(options.dbDir(), "crash-" + crash.point().replace(':', '-'));
        long t0 = System.nanoTime();
        long[] marks = new long[4];
        Connection held = null;
        try (KernelFixture kernel = KernelFixture.withVifs(VIF)) {
            TestNamespace ns = kernel.ns();
            dataSource(url); // created and migrated here; closed again when its last connection closes

            marks[0] = System.nanoTime();
            try (Child child = startChild(url, ns.file(), VIF, crash, options)) {
                awaitCrashPointAndKill(child, crash, options.markerTimeout());
            }
            marks[1] = System.nanoTime();

            // the "new process": a fresh store on the same file (held open, as a pool would), a fresh netlink
            // socket in the namespace
            DataSource db = dataSource(url);
            held = db.getConnection();
            BufferStore store = new BufferStore(db);
            List<BufferRecord> rows = store.all();
            assertThat(rows).as("the child's buffer row survived SIGKILL").hasSize(1);
            BufferRecord before = rows.getFirst();
            assertThat(before.pendingStep()).as("the intent of %s was committed before the crash", crash.step())
                    .isEqualTo(crash.step());
            assertKernelAtCrash(ns, before, crash);
            int journalBefore = store.journal(before.id()).size();

            BufferRecovery.Report report;
            try (Netlink netlink = Netlink.openInNamespace(ns.file())) {
                BufferLifecycle lifecycle = new BufferLifecycle(store, new BufferInstaller(netlink),
                        NetbufSettings.defaults(), FaultInjection.none());
                report = new BufferRecovery(lifecycle, new BufferInstaller(netlink)).recover();
            }
            marks[2] = System.nanoTime();
            String context = crash + ": recovery said " + report.lines() + "; journal "
                    + describe(store.journal(before.id()));

            assertNoLeftovers(ns, VIF, context);
            BufferRecord after = store.find(before.id()).orElseThrow();
            assertResting(after, context);
            assertThat(after.state()).as("%s", context).isIn(BufferState.FREE, BufferState.FAILED);
            if (after.state() == BufferState.FAILED) {
                // recovery could not undo a step: allowed, if it says why (its claims are then gone too, below)
                assertThat(after.lastError()).as("a FAILED buffer says why: %s", context).isNotBlank();
                assertThat(report.failed()).as("%s", context).isEqualTo(1);
            } else {
                assertThat(report.rolledBack()).as("the interrupted buffer was rolled back: %s", context).isEqualTo(1);
                assertThat(report.failed()).as("recovery failures: %s", context).isZero();
            }
            assertThat(store.claimedIfbs()).as("ifb claims: %s", context).isEmpty();
            assertThat(store.holdingVif()).as("vif claims: %s", context).isEmpty();
            List<JournalEntry> recovered = store.journal(before.id());
            List<JournalEntry> byRecovery = recovered.subList(journalBefore, recovered.size());
            assertThat(byRecovery).as("journal lines written by recovery: %s", context)
                    .anySatisfy(e -> assertThat(e.outcome()).isIn(Outcome.INTERRUPTED, Outcome.UNDONE));
            assertThat(byRecovery).as("the step in flight is journaled as interrupted: %s", context)
                    .anySatisfy(e -> {
                        assertThat(e.outcome()).isEqualTo(Outcome.INTERRUPTED);
                        assertThat(e.step()).isEqualTo(crash.step().name());
                    });

            // the vif is free for a new buffer, as far as this kernel allows
            reinstall(kernel, store, options.pluggable(), crash);
            marks[3] = System.nanoTime();
            System.out.printf("crash matrix %s: recovered to %s; setup %d ms, child to the point and killed %d ms,"
                            + " reopen + recovery %d ms, checks + new install %d ms%n", crash, after.state(),
                    (marks[0] - t0) / 1_000_000, (marks[1] - marks[0]) / 1_000_000, (marks[2] - marks[1]) / 1_000_000,
                    (marks[3] - marks[2]) / 1_000_000);
        } finally {
            if (held != null) {
                held.close();
            }
            deleteDatabase(url);
        }
    }

    /** What the kernel had at the crash point, as ip/tc see it: the child stopped where it said it did. */
    private static void assertKernelAtCrash(TestNamespace ns, BufferRecord b, CrashPoint crash) {
        Set<KernelStep> present = EnumSet.noneOf(KernelStep.class);
        List<KernelStep> install = List.of(KernelStep.IFB_UP, KernelStep.INGRESS_ADD, KernelStep.REDIRECT_ADD,
                KernelStep.PLUG_ADD);
        if (crash.mode().equals(INSTALL)) {
            for (KernelStep s : install) {
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
            for (KernelStep s : List.of(KernelStep.PLUG_RELEASE_INDEFINITE, KernelStep.PLUG_DELETE,
                    KernelStep.REDIRECT_DELETE, KernelStep.INGRESS_DELETE, KernelStep.IFB_RELEASE)) {
                if (s != crash.step() || crash.afterKernel()) {
                    present.remove(madeBy(s));
                }
                if (s == crash.step()) {
                    break;
                }
            }
        }
        String at = crash + " (buffer " + b + ")";
        String ifb = b.ifb();
        assertThat(ifb).as("the ifb is named in the database before it exists: %s", at).isNotNull();
        assertThat(ns.link(ifb).isPresent()).as("ifb %s at %s", ifb, at).isEqualTo(present.contains(KernelStep.IFB_UP));
        assertThat(ns.qdisc(VIF, "ingress").isPresent()).as("ingress at %s", at)
                .isEqualTo(present.contains(KernelStep.INGRESS_ADD));
        assertThat(ns.ingressFilters(VIF).size()).as("redirect filters at %s", at)
                .isEqualTo(present.contains(KernelStep.REDIRECT_ADD) ? 1 : 0);
        assertThat(qdiscsOfKind(ns, "plug").size()).as("plug qdiscs at %s", at)
                .isEqualTo(present.contains(KernelStep.PLUG_ADD) ? 1 : 0);
    }

    /** The install step whose object a removal step takes away (release_indefinite takes away none). */
    private static KernelStep madeBy(KernelStep removal) {
        return switch (removal) {
            case PLUG_DELETE -> KernelStep.PLUG_ADD;
            case REDIRECT_DELETE -> KernelStep.REDIRECT_ADD;
            case INGRESS_DELETE -> KernelStep.INGRESS_ADD;
            case IFB_RELEASE -> KernelStep.IFB_UP;
            default -> null;
        };
    }

    /**
     * After a new install (and, with sch_plug, its teardown) the vif is as clean as before; without sch_plug the
     * install fails cleanly at the plug step.
     */
    private static void reinstall(KernelFixture kernel, BufferStore store, boolean pluggable, CrashPoint crash) {
        TestNamespace ns = kernel.ns();
        BufferLifecycle lifecycle = new BufferLifecycle(store, new BufferInstaller(kernel.netlink()),
                NetbufSettings.defaults(), FaultInjection.none());
        String context = "new install after " + crash;
        if (pluggable) {
            BufferRecord again = lifecycle.install("dom7", InterfaceName.of(VIF));
            assertThat(again.state()).as(context).isEqualTo(BufferState.PLUGGED);
            assertThat(ns.qdisc(again.ifb(), "plug")).as(context).isPresent();
            assertThat(ns.ingressFilters(VIF)).as(context).singleElement().satisfies(f -> assertThat(
                    f.get("options").get("actions").get(0).get("to_dev").asText()).isEqualTo(again.ifb()));
            BufferRecord torn = lifecycle.teardown(again.id());
            assertThat(torn.state()).as(context).isEqualTo(BufferState.FREE);
        } else {
            assertThatThrownBy(() -> lifecycle.install("dom7", InterfaceName.of(VIF)))
                    .as(context)
                    .isInstanceOf(NetbufException.class)
                    .hasMessageContaining("failed at PLUG_ADD")
                    .hasMessageContaining("rolled back")
                    .hasMessageContaining("modprobe sch_plug");
            BufferRecord failed = store.all().getLast();
            assertThat(failed.state()).as(context).isEqualTo(BufferState.FAILED);
            assertThat(failed.failedStep()).as(context).isEqualTo(KernelStep.PLUG_ADD);
        }
        assertNoLeftovers(ns, VIF, context);
        for (BufferRecord b : store.all()) {
            assertResting(b, context);
        }
        assertThat(store.claimedIfbs()).as(context).isEmpty();
        assertThat(store.holdingVif()).as(context).isEmpty();
    }

    // ---------------------------------------------------------------- observers (ip / tc, not the code under test)

    /** No ifb in the namespace, no ingress qdisc or filter on the vif, no plug or ingress qdisc on any device. */
    static void assertNoLeftovers(TestNamespace ns, String vif, String context) {
        assertThat(ns.linksOfType("ifb")).as("ifbs left: %s", context).isEmpty();
        assertThat(ns.link(vif)).as("the vif is still there: %s", context).isPresent();
        assertThat(ns.qdisc(vif, "ingress")).as("ingress qdisc left on %s: %s", vif, context).isEmpty();
        assertThat(ns.ingressFilters(vif)).as("filters left on %s: %s", vif, context).isEmpty();
        assertThat(qdiscsOfKind(ns, "plug")).as("plug qdiscs left: %s", context).isEmpty();
        assertThat(qdiscsOfKind(ns, "ingress")).as("ingress qdiscs left: %s", context).isEmpty();
    }

    /** {@code tc -j qdisc show} over every device of the namespace, filtered by kind. */
    static List<JsonNode> qdiscsOfKind(TestNamespace ns, String kind) {
        String out = Sh.run("tc", "-n", ns.name, "-j", "qdisc", "show");
        List<JsonNode> found = new ArrayList<>();
        try {
            for (JsonNode q : JSON.readTree(out.isBlank() ? "[]" : out)) {
                if (kind.equals(q.path("kind").asText())) {
                    found.add(q);
                }
            }
        } catch (IOException e) {
            throw new AssertionError("unparseable JSON from tc: " + out, e);
        }
        return found;
    }

    static void assertResting(BufferRecord b, String context) {
        assertThat(b.state().isResting()).as("buffer %s rests: %s", b, context).isTrue();
        assertThat(b.pendingStep()).as("buffer %s has no step in flight: %s", b, context).isNull();
    }

    static String describe(List<JournalEntry> journal) {
        return journal.stream().map(e -> e.step() + " " + e.outcome()).toList().toString();
    }
}
