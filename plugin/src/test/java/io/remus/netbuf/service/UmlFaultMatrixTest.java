package io.remus.netbuf.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.remus.netbuf.autoconfigure.NetbufAutoConfiguration;
import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.events.RemusDomainStopping;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.KernelFixture;
import io.remus.netbuf.netlink.KernelSnapshot;
import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.netlink.Wire;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.JournalEntry;
import io.remus.netbuf.persistence.JournalEntry.Outcome;
import io.remus.netbuf.persistence.NetbufDatabase;
import io.remus.netbuf.persistence.NetbufDatabaseException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The fault matrix, on a kernel with sch_plug (user-mode-linux), through the plugin as a server gets it
 * (auto-configured, driven by domain events): a vif removed while plugged, the database made read-only, the ifb
 * deleted from under a plugged buffer, and 64 domains started at once. Each ends with every buffer row resting, no
 * claim left, a journal that says what happened, and nothing of any buffer in the kernel (no ifb, ingress qdisc,
 * filter or plug), as {@code ip -j} and {@code tc -j} see it.
 */
@Tag("uml-guest")
class UmlFaultMatrixTest {

    static final long WAIT_MILLIS = 10_000;

    KernelFixture kernel;
    List<String> vifs;
    /** The H2 URL {@link #db} made last: a restart opens it again. */
    String lastDb;
    /** The tmpfs the read-only test keeps its database on. */
    String dbMount;

    @AfterEach
    void tearDown() {
        if (kernel != null) {
            kernel.close();
        }
        if (dbMount != null) {
            Sh.tryRun("umount", dbMount);
        }
    }

    // ---------------------------------------------------------------- a vif removed while plugged

    @Test
    void aVifRemovedWhilePluggedIsTornDownOrRecoveredAndNothingIsLeft() {
        kernel(List.of("vif7.0", "vif7.1", "vif8.0"));
        runner(db("vif-removed")).run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            context.publishEvent(new RemusDomainStarted("dom8", List.of("vif8.0")));
            NetbufService service = context.getBean(NetbufService.class);
            BufferStore store = context.getBean(BufferStore.class);
            service.beginEpoch("dom7");
            service.beginEpoch("dom8");

            // the hypervisor removes the vifs under the plugged buffers (deleting a vif takes its ingress qdisc and
            // filter with it); the plug sits on the ifb, which stays
            kernel.ns().deleteLink("vif7.1");
            kernel.ns().deleteLink("vif8.0");
            KernelSnapshot k = snapshot();
            BufferRecord gone = buffer(store, "vif7.1");
            assertThat(k.qdisc(gone.ifb(), "plug")).as("the plug outlives the vif").isPresent();
            // epochs go on: the domain's other vif stays protected
            assertThat(service.beginEpoch("dom7")).isEqualTo(2);
            service.commitEpoch("dom7", 1);

            // dom7 is stopped: teardown removes what is left, and its journal says the vif was gone
            service.stop("dom7");
            BufferRecord after = store.find(gone.id()).orElseThrow();
            assertThat(after.state()).isEqualTo(BufferState.FREE);
            assertThat(journal(store, gone)).as("teardown journal of the buffer whose vif was removed")
                    .anySatisfy(e -> {
                        assertThat(e.step()).isEqualTo("REMOVE_INGRESS");
                        assertThat(e.outcome()).isEqualTo(Outcome.DONE);
                        assertThat(e.detail()).contains("vif7.1 is gone");
                    });
            assertThat(snapshot().hasLink(gone.ifb())).isFalse();
        });
        // dom8 is not stopped: the plugin restarts, and recovery rolls its buffer back
        runner(lastDb).run(context -> {
            BufferStore store = context.getBean(BufferStore.class);
            BufferRecord b = buffer(store, "vif8.0");
            assertThat(b.state()).isEqualTo(BufferState.FREE);
            assertThat(journal(store, b)).anySatisfy(e -> {
                assertThat(e.step()).isEqualTo("VERIFY");
                assertThat(e.detail()).contains("vif vif8.0 is gone");
            });
            assertNothingLeft(store, "after a vif was removed while plugged");
        });
    }

    // ---------------------------------------------------------------- the database made read-only

    @Test
    void aReadOnlyDatabaseFailsClearlyAndTheKernelIsNeverAheadOfIt() throws Exception {
        kernel(List.of("vif7.0", "vif8.0"));
        dbMount = Path.of(System.getProperty("java.io.tmpdir"), "nbro-" + System.nanoTime()).toString();
        Files.createDirectories(Path.of(dbMount));
        Sh.run("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", dbMount);
        String db = NetbufDatabase.h2FileUrl(Path.of(dbMount, "netbuf"));
        ApplicationContextRunner runner = runner(db, "spring.datasource.hikari.minimum-idle=0");
        try (Wire wire = new Wire(kernel.ns(), "vif7.0", "eth0")) {
            runner.run(context -> {
                context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0")));
                NetbufService service = context.getBean(NetbufService.class);
                BufferStore store = context.getBean(BufferStore.class);
                long e1 = service.beginEpoch("dom7");
                wire.send((int) e1, 0, 5, 300);
                awaitHeld(store, "vif7.0", 5);

                readOnly(context, true);
                // a checkpoint that cannot be recorded is not made: epoch 1 stays open in the kernel too
                assertThatThrownBy(() -> service.beginEpoch("dom7"))
                        .isInstanceOf(NetbufDatabaseException.class)
                        .hasMessageContaining("read only")
                        .hasMessageContaining("begin epoch 2")
                        .hasMessageContaining("the kernel was not changed")
                        .satisfies(e -> show("begin epoch, database read-only", e));
                // nor is a new buffer, nor the teardown of one
                assertThatThrownBy(() -> context.publishEvent(new RemusDomainStarted("dom8", List.of("vif8.0"))))
                        .isInstanceOf(NetbufDatabaseException.class).hasMessageContaining("read only")
                        .hasMessageContaining("the kernel was not changed")
                        .satisfies(e -> show("domain start, database read-only", e));
                assertThatThrownBy(() -> service.stop("dom7"))
                        .isInstanceOf(NetbufDatabaseException.class).hasMessageContaining("read only")
                        .hasMessageContaining("the kernel was not changed")
                        .satisfies(e -> show("domain stop, database read-only", e));
                KernelSnapshot k = snapshot();
                assertThat(k.redirects("vif8.0")).as("nothing made for dom8").isEmpty();
                assertThat(k.qdisc("vif8.0", "ingress")).isEmpty();
                assertThat(k.ifbs()).as("dom7's buffer is whole, as the database says").hasSize(1);
                wire.send((int) e1, 5, 8, 300); // still epoch 1: its checkpoint was refused
                awaitHeld(store, "vif7.0", 13);
                assertThat(wire.drain()).as("nothing released").isEmpty();

                readOnly(context, false);
                long e2 = service.beginEpoch("dom7");
                assertThat(e2).isEqualTo(2);
                wire.send((int) e2, 13, 3, 300);
                service.commitEpoch("dom7", e1);
                assertThat(wire.await(13, WAIT_MILLIS)).as("all of epoch 1, and only it")
                        .extracting(Wire.Frame::seq).containsExactlyElementsOf(IntStream.range(0, 13).boxed().toList());
                awaitHeld(store, "vif7.0", 3);

                // a commit done in the kernel but not recorded: the database still says epoch 2 awaits its ack, so
                // no new epoch begins until it is committed again, which releases nothing more
                service.beginEpoch("dom7");
                wire.send(3, 16, 4, 300);
                readOnly(context, true);
                assertThatThrownBy(() -> service.commitEpoch("dom7", e2))
                        .isInstanceOf(NetbufDatabaseException.class)
                        .hasMessageContaining("read only")
                        .hasMessageContaining("commit epoch 2")
                        .satisfies(e -> show("commit epoch, database read-only", e));
                assertThat(wire.await(3, WAIT_MILLIS)).extracting(Wire.Frame::seq).containsExactly(13, 14, 15);
                readOnly(context, false);
                assertThatThrownBy(() -> service.beginEpoch("dom7")).isInstanceOf(EpochRefusedException.class)
                        .hasMessageContaining("epoch 2 is still waiting");
                service.commitEpoch("dom7", e2);
                awaitHeld(store, "vif7.0", 4);
                assertThat(wire.drain()).as("epoch 3 is not acknowledged").isEmpty();

                readOnly(context, true);
            });
            // a restart on a read-only database fails, saying why, and touches nothing
            runner.run(context -> {
                assertThat(context).hasFailed();
                assertThat(context.getStartupFailure()).hasRootCauseInstanceOf(java.sql.SQLException.class)
                        .rootCause().hasMessageContaining("read only");
                Throwable ours = context.getStartupFailure();
                while (!(ours instanceof NetbufDatabaseException) && ours.getCause() != null) {
                    ours = ours.getCause();
                }
                assertThat(ours).isInstanceOf(NetbufDatabaseException.class)
                        .hasMessageContaining("the netbuf database refused to record")
                        .hasMessageContaining("make the database writable");
                show("plugin start, database read-only", ours);
            });
            assertThat(snapshot().ifbs()).hasSize(1);
            remount(false);
            runner.run(context -> {
                NetbufService service = context.getBean(NetbufService.class);
                BufferStore store = context.getBean(BufferStore.class);
                assertThat(journal(store, buffer(store, "vif7.0")).getLast().outcome()).isEqualTo(Outcome.ADOPTED);
                assertThat(service.beginEpoch("dom7")).isEqualTo(4);
                service.commitEpoch("dom7", 3);
                assertThat(wire.await(4, WAIT_MILLIS)).extracting(Wire.Frame::seq).containsExactly(16, 17, 18, 19);
                context.publishEvent(new RemusDomainStopping("dom7"));
                assertNothingLeft(store, "after the database was read-only");
            });
        }
    }

    /** Makes the database file read-only (or writable again) under the running plugin. */
    private void readOnly(ConfigurableApplicationContext context, boolean readOnly) throws Exception {
        // H2 closes the file when its last connection closes, and opens it read-only if it may not write it
        HikariDataSource pool = context.getBean(HikariDataSource.class);
        pool.getHikariPoolMXBean().softEvictConnections();
        long deadline = System.nanoTime() + WAIT_MILLIS * 1_000_000;
        while (pool.getHikariPoolMXBean().getTotalConnections() > 0) {
            assertThat(System.nanoTime()).as("the pool closed its connections").isLessThan(deadline);
            Thread.sleep(10);
        }
        remount(readOnly);
    }

    private void remount(boolean readOnly) {
        Sh.run("mount", "-o", "remount," + (readOnly ? "ro" : "rw"), dbMount);
    }

    // ---------------------------------------------------------------- the ifb deleted from under a plugged buffer

    @Test
    void anIfbDeletedUnderAPluggedBufferFailsItsEpochsClearlyAndNothingIsLeft() {
        kernel(List.of("vif7.0", "vif7.1", "vif8.0"));
        runner(db("ifb-deleted")).run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            context.publishEvent(new RemusDomainStarted("dom8", List.of("vif8.0")));
            NetbufService service = context.getBean(NetbufService.class);
            BufferStore store = context.getBean(BufferStore.class);
            service.beginEpoch("dom7");
            service.beginEpoch("dom7"); // epoch 1 awaits its ack
            service.beginEpoch("dom8");
            BufferRecord victim = buffer(store, "vif7.1");
            kernel.ns().deleteLink(victim.ifb());
            kernel.ns().deleteLink(buffer(store, "vif8.0").ifb());

            assertThatThrownBy(() -> service.commitEpoch("dom7", 1))
                    .isInstanceOf(EpochFailedException.class)
                    .hasMessageContaining("commit epoch 1 failed on vif vif7.1")
                    .hasMessageContaining(victim.ifb())
                    .hasMessageContaining("done on [vif7.0], not on [vif7.1]")
                    .satisfies(e -> show("commit epoch, ifb deleted", e));
            assertThat(journal(store, victim)).as("the failed epoch is in the buffer's journal").anySatisfy(e -> {
                assertThat(e.step()).isEqualTo("EPOCH_COMMIT");
                assertThat(e.outcome()).isEqualTo(Outcome.FAILED);
                assertThat(e.error()).contains(victim.ifb());
            });
            assertThatThrownBy(() -> service.beginEpoch("dom8"))
                    .isInstanceOf(EpochFailedException.class).hasMessageContaining("begin epoch 2 failed on vif vif8.0");
            assertThat(journal(store, buffer(store, "vif8.0"))).anySatisfy(e -> {
                assertThat(e.step()).isEqualTo("EPOCH_BEGIN");
                assertThat(e.outcome()).isEqualTo(Outcome.FAILED);
            });
            assertThatThrownBy(() -> service.beginEpoch("dom7")).isInstanceOf(EpochRefusedException.class)
                    .hasMessageContaining("had a failed epoch");

            // dom7 is stopped: the release fails (journaled), the rest is removed
            service.stop("dom7");
            assertThat(store.find(victim.id()).orElseThrow().state()).isEqualTo(BufferState.FREE);
            assertThat(journal(store, victim)).anySatisfy(e -> {
                assertThat(e.step()).isEqualTo("RELEASE");
                assertThat(e.outcome()).isEqualTo(Outcome.FAILED);
            });
        });
        // dom8 is not stopped: the plugin restarts and recovery rolls it back
        runner(lastDb).run(context -> {
            BufferStore store = context.getBean(BufferStore.class);
            BufferRecord b = buffer(store, "vif8.0");
            assertThat(b.state()).isEqualTo(BufferState.FREE);
            assertThat(journal(store, b)).anySatisfy(e -> assertThat(e.detail()).contains("ifb " + b.ifb() + " is gone"));
            assertNothingLeft(store, "after an ifb was deleted under a plugged buffer");
        });
    }

    // ---------------------------------------------------------------- 64 domains started at once

    @Test
    void sixtyFourDomainsStartedAtOnceArePluggedOrCleanlyFailedAndShareNoIfb() throws Exception {
        int domains = 64;
        List<String> all = new ArrayList<>();
        for (int d = 0; d < domains; d++) {
            all.add("vif" + (100 + d) + ".0");
            all.add("vif" + (100 + d) + ".1");
        }
        kernel(List.of());
        kernel.ns().addVifs(all, "eth");
        vifs = all;
        // two vifs per domain and 100 pool ifbs for 128 vifs: at most 50 domains can have all their buffers
        List<String> pool = IntStream.range(0, 100).mapToObj(i -> "ifb" + i).toList();
        kernel.ns().addIfbs(pool);
        runner(db("concurrent-starts"), "netbuf.ifb-mode=pool").run(context -> {
            long t0 = System.nanoTime();
            ExecutorService threads = Executors.newFixedThreadPool(domains);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Exception>> starts = new ArrayList<>();
            for (int d = 0; d < domains; d++) {
                int n = 100 + d;
                starts.add(threads.submit(() -> {
                    go.await();
                    try {
                        context.publishEvent(new RemusDomainStarted("dom" + n, List.of("vif" + n + ".0", "vif" + n + ".1")));
                        return null;
                    } catch (RuntimeException e) {
                        return e;
                    }
                }));
            }
            go.countDown();
            List<String> plugged = new ArrayList<>();
            List<String> failed = new ArrayList<>();
            for (int d = 0; d < domains; d++) {
                Exception e = starts.get(d).get();
                if (e == null) {
                    plugged.add("dom" + (100 + d));
                } else {
                    assertThat(e).as("dom%d failed cleanly", 100 + d).hasMessageContaining("no free ifb");
                    failed.add("dom" + (100 + d));
                }
            }
            threads.shutdown();
            BufferStore store = context.getBean(BufferStore.class);
            KernelSnapshot k = snapshot();
            System.out.printf("64 concurrent domain starts: %d PLUGGED, %d failed cleanly, in %d ms%n", plugged.size(),
                    failed.size(), (System.nanoTime() - t0) / 1_000_000);
            assertThat(plugged.size()).isBetween(1, 50);
            Map<String, String> ifbOwner = new HashMap<>();
            for (BufferRecord b : store.holdingVif()) {
                assertThat(plugged).as("only started domains hold buffers: %s", b).contains(b.domain());
                assertThat(b.state()).isEqualTo(BufferState.PLUGGED);
                assertThat(ifbOwner.put(b.ifb(), b.vif())).as("ifb %s shared", b.ifb()).isNull();
                assertThat(k.redirectTarget(b.vif())).isEqualTo(b.ifb());
                assertThat(k.qdisc(b.ifb(), "plug")).isPresent();
            }
            assertThat(ifbOwner).hasSize(2 * plugged.size());
            for (String d : failed) {
                for (String vif : List.of(d.replace("dom", "vif") + ".0", d.replace("dom", "vif") + ".1")) {
                    assertThat(k.redirects(vif)).as("nothing left on %s", vif).isEmpty();
                    assertThat(k.qdisc(vif, "ingress")).as("nothing left on %s", vif).isEmpty();
                }
            }
            assertThat(k.devsWithQdisc("plug")).hasSize(2 * plugged.size());
            for (BufferRecord b : store.all()) {
                if (b.state() == BufferState.FAILED) {
                    assertThat(journal(store, b)).anySatisfy(e -> assertThat(e.outcome()).isEqualTo(Outcome.FAILED));
                }
            }

            // every started domain checkpoints once, then all stop at once
            NetbufService service = context.getBean(NetbufService.class);
            for (String d : plugged) {
                service.beginEpoch(d);
                service.beginEpoch(d);
                service.commitEpoch(d, 1);
            }
            System.out.printf("64 concurrent domain starts: checks and epochs done at %d ms%n",
                    (System.nanoTime() - t0) / 1_000_000);
            ExecutorService stops = Executors.newFixedThreadPool(16);
            List<Future<?>> stopped = new ArrayList<>();
            for (String d : plugged) {
                stopped.add(stops.submit(() -> context.publishEvent(new RemusDomainStopping(d))));
            }
            for (Future<?> f : stopped) {
                f.get();
            }
            stops.shutdown();
            System.out.printf("64 concurrent domain starts: stopped at %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            KernelSnapshot after = snapshot();
            assertThat(after.ifbs()).as("the pool stays").hasSize(100);
            assertThat(after.devsWithQdisc("plug")).isEmpty();
            assertThat(after.devsWithQdisc("ingress")).isEmpty();
            vifs.forEach(v -> assertThat(after.redirects(v)).isEmpty());
            assertResting(store, "after 64 concurrent starts");
        });
    }

    // ---------------------------------------------------------------- helpers

    private void kernel(List<String> names) {
        kernel = KernelFixture.withVifs(names.toArray(String[]::new));
        vifs = names;
    }

    private String db(String name) {
        lastDb = NetbufDatabase.h2FileUrl(Path.of("target", "h2", "uml-fault-" + name + "-" + System.nanoTime()));
        return lastDb;
    }

    private ApplicationContextRunner runner(String db, String... properties) {
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, NetbufAutoConfiguration.class))
                .withPropertyValues("spring.datasource.url=" + db, "netbuf.enabled=true",
                        // epochs stay held here for seconds on purpose; the deadline is UmlDeadlineTest's
                        "netbuf.checkpoint.ack-timeout=1h",
                        // 64 domains starting at once share the pool's 10 connections: on a loaded 2-core machine
                        // one waited 43 s for a connection, past Hikari's 30 s default, and failed its start
                        "spring.datasource.hikari.connection-timeout=180000",
                        "netbuf.namespace=" + kernel.ns().file())
                .withPropertyValues(properties);
    }

    private KernelSnapshot snapshot() {
        return kernel.ns().snapshot(vifs);
    }

    private static BufferRecord buffer(BufferStore store, String vif) {
        return store.all().stream().filter(b -> b.vif().equals(vif)).reduce((a, b) -> b).orElseThrow();
    }

    private static List<JournalEntry> journal(BufferStore store, BufferRecord b) {
        return store.journal(b.id());
    }

    /** Waits until the plug of {@code vif}'s buffer holds {@code packets} frames (seen through tc). */
    private void awaitHeld(BufferStore store, String vif, long packets) throws InterruptedException {
        String ifb = buffer(store, vif).ifb();
        long deadline = System.nanoTime() + WAIT_MILLIS * 1_000_000;
        while (true) {
            long qlen = kernel.ns().qdisc(ifb, "plug").orElseThrow().path("qlen").asLong();
            if (qlen == packets) {
                return;
            }
            assertThat(System.nanoTime()).as("%d frames held on %s; now %d", packets, ifb, qlen).isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    private void assertNothingLeft(BufferStore store, String context) {
        snapshot().assertNoBufferObjects(vifs, context);
        assertResting(store, context);
    }

    /** What an error said, in the guest's output (README quotes it). */
    private static void show(String what, Throwable e) {
        System.out.println("fault matrix: " + what + ": " + e.getMessage());
    }

    private static void assertResting(BufferStore store, String context) {
        for (BufferRecord b : store.all()) {
            assertThat(b.state().isResting()).as("buffer %s rests: %s", b, context).isTrue();
            assertThat(b.pendingStep()).as("buffer %s has no step in flight: %s", b, context).isNull();
        }
        assertThat(store.claimedIfbs()).as("ifb claims: %s", context).isEmpty();
        assertThat(store.holdingVif()).as("vif claims: %s", context).isEmpty();
    }
}
