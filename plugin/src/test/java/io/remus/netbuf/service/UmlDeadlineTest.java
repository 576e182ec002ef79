package io.remus.netbuf.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.remus.netbuf.autoconfigure.NetbufAutoConfiguration;
import io.remus.netbuf.autoconfigure.NetbufHealthIndicator;
import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.KernelFixture;
import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.netlink.Wire;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.DomainProtection;
import io.remus.netbuf.persistence.JournalEntry;
import io.remus.netbuf.persistence.NetbufDatabase;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Output is never held forever, with real frames (the Wire topology: the vif on a bridge, a sniffer on the wire):
 * for each way a domain's driver can stop, 0 frames of the held epochs reach the wire before the deadline, and they
 * flow within the deadline + 1 s; the domain is failed over saying why, and a resume holds output again.
 */
@Tag("uml-guest")
class UmlDeadlineTest {

    static final long DEADLINE_MS = 800;

    KernelFixture kernel;
    String db;
    ApplicationContextRunner runner;

    @BeforeEach
    void setUp() {
        kernel = KernelFixture.withVifs("vif7.0", "vif7.1");
        db = NetbufDatabase.h2FileUrl(Path.of("target", "h2", "uml-deadline-" + System.nanoTime()));
        runner = new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, NetbufAutoConfiguration.class))
                .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                .withPropertyValues("spring.datasource.url=" + db, "netbuf.enabled=true",
                        "netbuf.namespace=" + kernel.ns().file(),
                        "netbuf.checkpoint.ack-timeout=" + DEADLINE_MS + "ms");
    }

    @AfterEach
    void tearDown() {
        kernel.close();
    }

    @Test
    void anApiDriverGoneAfterABeginIsFailedOverAtItsDeadlineAndAResumeHoldsOutputAgain() {
        runner.run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            NetbufService service = context.getBean(NetbufService.class);
            BufferStore store = context.getBean(BufferStore.class);
            try (Wire wire = new Wire(kernel.ns(), "vif7.0", "eth0")) {
                long begun = System.nanoTime();
                assertThat(service.beginEpoch("dom7")).isEqualTo(1);
                wire.send(1, 0, 10, 200); // the engine dies here: nobody closes epoch 1 or acknowledges it
                assertHeldThenReleasedAtTheDeadline(wire, begun, 10, 1);
                awaitReleased(store, "dom7");

                DomainStatus s = service.status("dom7");
                assertThat(s.protection().state()).isEqualTo(DomainProtection.State.UNPROTECTED);
                assertThat(s.protection().reason()).startsWith("backup ack overdue: output held ")
                        .endsWith("deadline 800 ms (no checkpoint since epoch 1 began)");
                assertThat(s.heldFor()).isNull();
                assertThat(store.holdingVif("dom7")).extracting(BufferRecord::state).containsOnly(BufferState.RELEASED);
                for (BufferRecord b : store.holdingVif("dom7")) {
                    assertThat(store.journal(b.id())).filteredOn(j -> j.step().equals("RELEASE"))
                            .extracting(JournalEntry::outcome).containsExactly(JournalEntry.Outcome.INTENT,
                                    JournalEntry.Outcome.DONE);
                    assertThat(store.journal(b.id())).anySatisfy(j ->
                            assertThat(j.detail()).contains("failover: backup ack overdue"));
                }
                assertThat(context.getBean(MeterRegistry.class).counter("netbuf.failovers", "reason", "ack_overdue")
                        .count()).isEqualTo(1);
                assertThatThrownBy(() -> service.beginEpoch("dom7")).isInstanceOf(DomainUnprotectedException.class)
                        .hasMessageContaining("UNPROTECTED (failed over: backup ack overdue");
                assertThatThrownBy(() -> service.resume("nodom")).isInstanceOf(DomainNotBufferedException.class);

                // resume: RELEASED -> PLUGGED, a new epoch sequence, and output held again until its ack
                assertThat(service.resume("dom7")).extracting(BufferRecord::state).containsOnly(BufferState.PLUGGED);
                assertThatThrownBy(() -> service.resume("dom7")).isInstanceOf(EpochRefusedException.class)
                        .hasMessageContaining("is not failed over");
                for (BufferRecord b : store.holdingVif("dom7")) {
                    assertThat(store.journal(b.id())).filteredOn(j -> j.step().equals("RESUME"))
                            .extracting(JournalEntry::outcome, JournalEntry::toState)
                            .containsExactly(org.assertj.core.groups.Tuple.tuple(JournalEntry.Outcome.INTENT, "PLUGGED"),
                                    org.assertj.core.groups.Tuple.tuple(JournalEntry.Outcome.DONE, "PLUGGED"));
                }
                assertThat(service.beginEpoch("dom7")).as("a new epoch sequence").isEqualTo(1);
                wire.send(1, 100, 5, 300);
                assertThat(wire.await(1, DEADLINE_MS / 2)).as("epoch 1 after the resume: held").isEmpty();
                assertThat(service.beginEpoch("dom7")).isEqualTo(2);
                service.commitEpoch("dom7", 1);
                assertThat(wire.await(5, 5_000)).extracting(Wire.Frame::seq).containsExactly(100, 101, 102, 103, 104);
                assertThat(service.status("dom7").protection().failovers()).isEqualTo(1);
                service.stop("dom7");
                assertThat(wire.snifferDrops()).isZero();
            }
            kernel.assertNoBufferObjects("vif7.0", "vif7.1");
        });
    }

    @Test
    void anApiDriverGoneAfterACommitIsFailedOverAtTheOpenEpochsDeadline() {
        runner.run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            NetbufService service = context.getBean(NetbufService.class);
            try (Wire wire = new Wire(kernel.ns(), "vif7.0", "eth0")) {
                service.beginEpoch("dom7");
                wire.send(1, 0, 4, 200);
                long begun = System.nanoTime();
                service.beginEpoch("dom7");
                service.commitEpoch("dom7", 1);
                assertThat(wire.await(4, 5_000)).extracting(Wire.Frame::epoch).containsOnly(1);
                wire.send(2, 4, 6, 200); // the engine dies after its commit: epoch 2 stays open
                assertHeldThenReleasedAtTheDeadline(wire, begun, 6, 2);
                awaitReleased(context.getBean(BufferStore.class), "dom7");
                assertThat(service.status("dom7").protection().reason()).endsWith("(no checkpoint since epoch 2 began)");
                service.stop("dom7");
            }
        });
    }

    @Test
    void aClosedEpochNeverAcknowledgedIsFailedOverAtItsDeadline() {
        runner.run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            NetbufService service = context.getBean(NetbufService.class);
            try (Wire wire = new Wire(kernel.ns(), "vif7.0", "eth0")) {
                long begun = System.nanoTime();
                service.beginEpoch("dom7");
                wire.send(1, 0, 3, 200);
                service.beginEpoch("dom7"); // epoch 1 closed; its ack never comes
                assertHeldThenReleasedAtTheDeadline(wire, begun, 3, 1);
                awaitReleased(context.getBean(BufferStore.class), "dom7");
                assertThat(service.status("dom7").protection().reason()).endsWith("(epoch 1 not acknowledged)");
                service.stop("dom7");
            }
        });
    }

    /** A loop whose checkpoint throws an Error for dom7 once armed; dom8 rides in the same batches. */
    @Configuration(proxyBeanMethods = false)
    static class FailingLoop {
        static final AtomicBoolean armed = new AtomicBoolean();

        @Bean(destroyMethod = "close")
        CheckpointLoop netbufCheckpointLoop(NetbufService service) {
            return new CheckpointLoop(service, domains -> {
                if (armed.get() && domains.contains("dom7")) {
                    throw new StackOverflowError("injected for dom7");
                }
                return service.checkpoint(domains);
            }, Duration.ofMillis(50), Duration.ofMillis(300));
        }
    }

    @Test
    void aLoopFailureFailsThatDomainOverAtOnceAndTheOthersCheckpointOn() {
        kernel.ns().addVif("vif8.0", "eth2");
        FailingLoop.armed.set(false);
        runner.withUserConfiguration(FailingLoop.class).withPropertyValues("netbuf.checkpoint.ack-timeout=30s")
                .run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1"), true));
            context.publishEvent(new RemusDomainStarted("dom8", List.of("vif8.0"), true));
            NetbufService service = context.getBean(NetbufService.class);
            CheckpointLoop loop = context.getBean(CheckpointLoop.class);
            try (Wire wire = new Wire(kernel.ns(), "vif7.0", "eth0")) {
                awaitCommits(service, "dom7", 2);
                assertThatThrownBy(() -> service.beginEpoch("dom7")).isInstanceOf(DriverConflictException.class)
                        .hasMessageContaining("driven by the built-in checkpoint loop (LOOP)");
                long dom8Before = service.epochs("dom8").epochsCommitted();
                long armedAt = System.nanoTime();
                FailingLoop.armed.set(true);
                wire.send(1, 0, 8, 200); // held by dom7's open epoch; its loop is about to fail
                assertThat(wire.await(8, 1_000 + 500)).as("dom7's held frames, after its loop failed")
                        .hasSize(8);
                double releasedAfter = (System.nanoTime() - armedAt) / 1e9;
                assertThat(releasedAfter).as("released within 1 s of the failure (+ the 0.3 s ack delay)")
                        .isLessThan(1.3 + 0.2);
                Thread.sleep(2_000);
                long dom8Commits = service.epochs("dom8").epochsCommitted() - dom8Before;
                // 50 ms ticks and a 300 ms simulated ack: a commit about every 350 ms, ~6 in 2.1 s
                assertThat(dom8Commits).as("dom8 checkpointed on while dom7 failed").isGreaterThanOrEqualTo(4);
                assertThat(service.status("dom8").protection().state()).isEqualTo(DomainProtection.State.PROTECTED);

                DomainStatus s = service.status("dom7");
                assertThat(s.protection().state()).isEqualTo(DomainProtection.State.UNPROTECTED);
                assertThat(s.protection().reason()).startsWith("checkpoint loop failed: ")
                        .contains("injected for dom7");
                assertThat(s.lastFailure()).contains("injected for dom7");
                assertThat(loop.status("dom7").orElseThrow().running()).isFalse();
                assertThat(loop.status("dom8").orElseThrow().running()).isTrue();
                assertThat(loop.error()).isInstanceOf(StackOverflowError.class);
                var health = context.getBean(NetbufHealthIndicator.class).health();
                assertThat(health.getStatus()).isEqualTo(Status.DOWN);
                assertThat(health.getDetails().get("checkpointLoop")).asString().contains("injected for dom7");
                assertThat(health.getDetails().get("domains")).asString().contains("dom7=checkpoint loop failed");
                assertThat(context.getBean(MeterRegistry.class).counter("netbuf.failovers", "reason", "loop_failed")
                        .count()).isEqualTo(1);

                FailingLoop.armed.set(false);
                service.resume("dom7"); // the loop takes it again
                awaitCommits(service, "dom7", 2);
                assertThat(service.status("dom7").protection().state()).isEqualTo(DomainProtection.State.PROTECTED);
            }
        });
    }

    @Test
    void aServerStopReleasesHeldOutputAndARestartAdoptsTheBuffersAndResumes() throws Exception {
        try (Wire wire = new Wire(kernel.ns(), "vif7.0", "eth0")) {
            runner.withPropertyValues("netbuf.checkpoint.ack-timeout=1h").run(context -> {
                context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
                NetbufService service = context.getBean(NetbufService.class);
                service.beginEpoch("dom7");
                wire.send(1, 0, 7, 400);
                assertThat(wire.await(1, 500)).as("held while the server runs").isEmpty();
            }); // the context closes, as SIGTERM closes the server's
            assertThat(wire.await(7, 1_000)).as("released by the stop").hasSize(7);
            assertThat(Sh.run("tc", "-n", kernel.ns().name, "qdisc", "show")).as("release keeps the buffers")
                    .contains("plug");

            runner.withPropertyValues("netbuf.on-shutdown=teardown").run(context -> {
                NetbufService service = context.getBean(NetbufService.class);
                BufferStore store = context.getBean(BufferStore.class);
                assertThat(store.holdingVif("dom7")).extracting(BufferRecord::state).containsOnly(BufferState.RELEASED);
                assertThat(service.status("dom7").protection().reason()).isEqualTo("server shutting down");
                service.resume("dom7");
                service.beginEpoch("dom7");
                wire.send(1, 10, 5, 400);
                assertThat(wire.await(1, 500)).as("held again after the restart and resume").isEmpty();
            }); // teardown: the buffers go, their held frames first
            assertThat(wire.await(5, 1_000)).extracting(Wire.Frame::seq).containsExactly(10, 11, 12, 13, 14);
            kernel.assertNoBufferObjects("vif7.0", "vif7.1");
            assertThat(wire.snifferDrops()).isZero();
        }
    }

    /**
     * Frames held since {@code heldSince} (System.nanoTime): none on the wire before the deadline, all of them, in
     * order, within the deadline + 1 s.
     */
    private static void assertHeldThenReleasedAtTheDeadline(Wire wire, long heldSince, int n, int epoch)
            throws InterruptedException {
        long beforeDeadline = DEADLINE_MS - (System.nanoTime() - heldSince) / 1_000_000 - 50;
        assertThat(wire.await(1, Math.max(0, beforeDeadline))).as("held until the deadline").isEmpty();
        List<Wire.Frame> first = wire.await(1, DEADLINE_MS + 2_000);
        double at = (System.nanoTime() - heldSince) / 1e6;
        assertThat(first).as("released by the deadline").hasSize(1);
        assertThat(at).as("ms from the hold to the first frame on the wire").isGreaterThanOrEqualTo(DEADLINE_MS)
                .isLessThanOrEqualTo(DEADLINE_MS + 1_000);
        List<Wire.Frame> rest = wire.await(n - 1, 5_000);
        assertThat(java.util.stream.Stream.concat(first.stream(), rest.stream()).map(Wire.Frame::seq).toList())
                .as("every held frame, in order").containsExactlyElementsOf(wire == null ? List.of()
                        : IntStream.range(0, n).map(i -> first.getFirst().seq() + i).boxed().toList());
        assertThat(first.getFirst().epoch()).isEqualTo(epoch);
    }

    /** The frames are out once the kernel released them; the failover records its outcomes right after. */
    private static void awaitReleased(BufferStore store, String domain) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!store.holdingVif(domain).stream().allMatch(b -> b.state() == BufferState.RELEASED)) {
            assertThat(System.nanoTime()).as("%s's buffers RELEASED: %s", domain, store.holdingVif(domain))
                    .isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private static void awaitCommits(NetbufService service, String domain, long more) throws InterruptedException {
        long target = service.epochs(domain).epochsCommitted() + more;
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (service.epochs(domain).epochsCommitted() < target) {
            assertThat(System.nanoTime()).as("%s commits %d more: %s", domain, more, service.status(domain))
                    .isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
