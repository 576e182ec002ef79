package io.remus.netbuf.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.remus.netbuf.autoconfigure.NetbufAutoConfiguration;
import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.events.RemusDomainStopping;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.KernelFixture;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugStats;
import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.netlink.Wire;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.DomainEpochs;
import io.remus.netbuf.persistence.NetbufDatabase;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * The plugin as a server gets it (auto-configured, driven by domain events) on a kernel with sch_plug: a Remus
 * domain's start installs its buffers, epochs begin and commit across all its vifs, failover and stop.
 */
@Tag("uml-guest")
class UmlNetbufServiceTest {

    KernelFixture kernel;
    ApplicationContextRunner runner;

    @BeforeEach
    void setUp() {
        kernel = KernelFixture.withVifs("vif7.0", "vif7.1");
        String db = NetbufDatabase.h2FileUrl(Path.of("target", "h2", "uml-service-" + System.nanoTime()));
        runner = new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, NetbufAutoConfiguration.class))
                .withPropertyValues("spring.datasource.url=" + db, "netbuf.enabled=true",
                        // epochs stay held here for seconds on purpose; the deadline is UmlDeadlineTest's
                        "netbuf.checkpoint.ack-timeout=1h",
                        "netbuf.namespace=" + kernel.ns().file());
    }

    @AfterEach
    void tearDown() {
        kernel.close();
    }

    @Test
    void epochsMoveTheDomainsBuffersTogether() {
        runner.run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            BufferStore store = context.getBean(BufferStore.class);
            NetbufService service = context.getBean(NetbufService.class);
            assertThat(store.holdingVif()).extracting(BufferRecord::state).containsExactly(BufferState.PLUGGED,
                    BufferState.PLUGGED);

            assertThat(service.beginEpoch("dom7")).isEqualTo(1);
            assertThat(service.beginEpoch("dom7")).isEqualTo(2);
            assertThatThrownBy(() -> service.beginEpoch("dom7")).isInstanceOf(EpochRefusedException.class)
                    .hasMessageContaining("epoch 1 is still waiting for the backup's ack");
            assertThatThrownBy(() -> service.commitEpoch("dom7", 2)).isInstanceOf(EpochRefusedException.class)
                    .hasMessageContaining("epoch 2 is not awaiting an ack (epoch 1 is); it is still open");
            service.commitEpoch("dom7", 1);
            assertThatThrownBy(() -> service.commitEpoch("dom7", 1)).isInstanceOf(EpochRefusedException.class)
                    .hasMessageContaining("(none is)");
            assertThatThrownBy(() -> service.commitEpoch("dom9", 1)).isInstanceOf(EpochRefusedException.class);
            assertThatThrownBy(() -> service.beginEpoch("dom9")).isInstanceOf(DomainNotBufferedException.class);
            assertThat(service.epochs("dom7")).isEqualTo(new DomainEpochs("dom7", 2, 0, 2, 1, 0, null));

            context.publishEvent(new RemusDomainStopping("dom7"));
            assertThat(store.holdingVif()).isEmpty();
            kernel.assertNoBufferObjects("vif7.0", "vif7.1");
        });
    }

    /**
     * The checkpoint has a socket of its own: a listing (or a lifecycle step, or a teardown's drain wait) holding
     * the main socket's lock does not hold a checkpoint up, the domain's first one (which opens its plug controls)
     * included; and the listing's counters do not wait for the hot path's lock.
     */
    @Test
    void aListingHoldingTheMainSocketDoesNotHoldUpACheckpoint() {
        runner.run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            NetbufService service = context.getBean(NetbufService.class);
            BufferStore store = context.getBean(BufferStore.class);
            Netlink main = context.getBean(Netlink.class);
            assertThat(main.hotPath()).as("one hot path socket, not the main one").isNotSameAs(main)
                    .isSameAs(main.hotPath());
            ExecutorService other = Executors.newSingleThreadExecutor();
            try {
                synchronized (main) { // what a listing's dump holds while the kernel answers it
                    for (long epoch = 1; epoch <= 3; epoch++) {
                        assertThat(other.submit(() -> service.checkpoint(List.of("dom7"))).get(10, TimeUnit.SECONDS))
                                .as("checkpoint %d with the main socket's lock held elsewhere", epoch)
                                .extracting(CheckpointResult::succeeded, CheckpointResult::begun)
                                .containsExactly(tuple(true, epoch));
                    }
                }
                synchronized (main.hotPath()) { // a checkpoint's batch in flight
                    assertThat(other.submit(() -> service.stats(store.all())).get(10, TimeUnit.SECONDS))
                            .as("the listing's counters with the hot path's lock held elsewhere")
                            .containsOnlyKeys(store.holdingVif().stream().map(BufferRecord::id).toList());
                }
            } finally {
                other.shutdownNow();
            }
            service.stop("dom7");
            kernel.assertNoBufferObjects("vif7.0", "vif7.1");
        });
    }

    @Test
    void aVifThatFailsMarksTheEpochFailedAndSaysWhichVifsMoved() {
        runner.run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            NetbufService service = context.getBean(NetbufService.class);
            BufferRecord second = context.getBean(BufferStore.class).holdingVif().get(1);
            service.beginEpoch("dom7");
            Sh.run("tc", "-n", kernel.ns().name, "qdisc", "del", "dev", second.ifb(), "root");

            assertThatThrownBy(() -> service.beginEpoch("dom7")).isInstanceOf(EpochFailedException.class)
                    .hasMessageContaining("begin epoch 2 failed on vif vif7.1")
                    .hasMessageContaining("done on [vif7.0], not on [vif7.1]")
                    .satisfies(e -> assertThat(((EpochFailedException) e).failed()).containsExactly("vif7.1"));
            assertThatThrownBy(() -> service.beginEpoch("dom7")).isInstanceOf(EpochRefusedException.class)
                    .hasMessageContaining("had a failed epoch");
            assertThat(service.epochs("dom7").epochsFailed()).isEqualTo(1);

            service.stop("dom7");
            assertThat(context.getBean(BufferStore.class).holdingVif()).isEmpty();
            kernel.assertNoBufferObjects("vif7.0", "vif7.1");
        });
    }

    @Test
    void oneCheckpointOfManyDomainsCommitsAndBeginsEachAndAFailingDomainFailsAlone() {
        kernel.ns().addVif("vif8.0", "eth2");
        kernel.ns().addVif("vif9.0", "eth3");
        runner.run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            context.publishEvent(new RemusDomainStarted("dom8", List.of("vif8.0")));
            context.publishEvent(new RemusDomainStarted("dom9", List.of("vif9.0")));
            NetbufService service = context.getBean(NetbufService.class);
            BufferStore store = context.getBean(BufferStore.class);
            List<String> all = List.of("dom9", "dom7", "dom8");

            // real frames on dom7's vif7.0 show what the batch did to its plug; the other domains ride along
            try (Wire wire = new Wire(kernel.ns(), "vif7.0", "eth0")) {
                assertThat(service.checkpoint(List.of("dom9", "dom7", "nodom", "dom8")))
                        .extracting(CheckpointResult::domain, CheckpointResult::committed, CheckpointResult::begun)
                        .containsExactly(tuple("dom7", 0L, 1L), tuple("dom8", 0L, 1L), tuple("dom9", 0L, 1L),
                                tuple("nodom", 0L, 0L));
                assertThat(service.checkpoint(List.of("nodom")).getFirst().failure())
                        .isInstanceOf(DomainNotBufferedException.class);
                wire.send(1, 0, 12, 300);
                assertThat(wire.await(1, 1000)).as("epoch 1 is open: held").isEmpty();

                assertThat(service.checkpoint(all)).extracting(CheckpointResult::committed, CheckpointResult::begun)
                        .containsOnly(tuple(0L, 2L)); // closes epoch 1, which now awaits its ack
                wire.send(2, 12, 7, 300);
                assertThat(wire.await(1, 1000)).as("epoch 1 awaits its ack, epoch 2 is open: all held").isEmpty();

                String dom8Ifb = store.holdingVif("dom8").getFirst().ifb();
                Sh.run("tc", "-n", kernel.ns().name, "qdisc", "del", "dev", dom8Ifb, "root");

                // the counters of every buffer from one dump, as the listing reads them: dom8's plug is gone
                Map<Long, PlugStats> stats = service.stats(store.all());
                assertThat(stats.keySet()).containsExactlyInAnyOrderElementsOf(store.holdingVif().stream()
                        .filter(b -> !b.domain().equals("dom8")).map(BufferRecord::id).toList());
                for (BufferRecord b : store.all()) {
                    assertThat(Optional.ofNullable(stats.get(b.id()))).as("%s as stats(buffer) reads it", b.vif())
                            .isEqualTo(service.stats(b));
                }
                BufferRecord vif70 = store.holdingVif("dom7").stream().filter(b -> b.vif().equals("vif7.0"))
                        .findFirst().orElseThrow();
                assertThat(stats.get(vif70.id())).as("epochs 1 and 2 held on vif7.0")
                        .extracting(PlugStats::backlogPackets, PlugStats::drops).containsExactly(19L, 0L);
                List<CheckpointResult> third = service.checkpoint(all);
                assertThat(third).filteredOn(CheckpointResult::succeeded)
                        .extracting(CheckpointResult::domain, CheckpointResult::committed, CheckpointResult::begun)
                        .containsExactly(tuple("dom7", 1L, 3L), tuple("dom9", 1L, 3L));
                assertThat(third.get(1).failure()).isInstanceOf(EpochFailedException.class)
                        .hasMessageContaining("domain dom8: commit epoch 1 failed on vif vif8.0");
                assertThat(wire.await(12, 20_000)).as("epoch 1's frames, in order, once it was committed")
                        .extracting(Wire.Frame::epoch, Wire.Frame::seq)
                        .containsExactlyElementsOf(java.util.stream.IntStream.range(0, 12)
                                .mapToObj(i -> tuple(1, i)).toList());
                assertThat(wire.await(1, 1000)).as("epoch 2 still held").isEmpty();

                List<CheckpointResult> fourth = service.checkpoint(all);
                assertThat(fourth.get(1).failure()).isInstanceOf(EpochRefusedException.class)
                        .hasMessageContaining("had a failed epoch");
                assertThat(fourth).filteredOn(CheckpointResult::succeeded).extracting(CheckpointResult::begun)
                        .containsExactly(4L, 4L);
                assertThat(wire.await(7, 20_000)).extracting(Wire.Frame::seq)
                        .containsExactly(12, 13, 14, 15, 16, 17, 18);
                assertThat(wire.snifferDrops()).isZero();
            }
            assertThat(service.epochs("dom7")).isEqualTo(new DomainEpochs("dom7", 4, 3, 4, 2, 0, null));
            assertThat(service.epochs("dom9")).isEqualTo(new DomainEpochs("dom9", 4, 3, 4, 2, 0, null));
            DomainEpochs dom8 = service.epochs("dom8");
            assertThat(dom8.epochsFailed()).isEqualTo(1);
            assertThat(dom8.awaitingEpoch()).as("its commit failed: epoch 1 still awaits").isEqualTo(1);
            assertThat(store.journal(store.holdingVif("dom8").getFirst().id()))
                    .anySatisfy(j -> assertThat(j.step()).isEqualTo("EPOCH_COMMIT"));

            for (String d : all) {
                context.publishEvent(new RemusDomainStopping(d));
            }
            assertThat(store.holdingVif()).isEmpty();
            kernel.assertNoBufferObjects("vif7.0", "vif7.1", "vif8.0", "vif9.0");
        });
    }

    @Test
    void aDomainWhosePlugControlCannotBeOpenedFailsAloneInACheckpoint() {
        kernel.ns().addVif("vif8.0", "eth2");
        kernel.ns().addVif("vif9.0", "eth3");
        runner.run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            context.publishEvent(new RemusDomainStarted("dom8", List.of("vif8.0")));
            context.publishEvent(new RemusDomainStarted("dom9", List.of("vif9.0")));
            NetbufService service = context.getBean(NetbufService.class);
            BufferStore store = context.getBean(BufferStore.class);
            List<String> all = List.of("dom7", "dom8", "dom9");
            assertThat(service.openControls()).as("opened at a domain's first epoch").isZero();
            // a control is opened on the ifb's link (a plug gone from a live ifb fails in the batch instead)
            Sh.run("ip", "-n", kernel.ns().name, "link", "del", store.holdingVif("dom8").getFirst().ifb());

            List<CheckpointResult> first = service.checkpoint(all);
            assertThat(first).filteredOn(CheckpointResult::succeeded)
                    .extracting(CheckpointResult::domain, CheckpointResult::committed, CheckpointResult::begun)
                    .containsExactly(tuple("dom7", 0L, 1L), tuple("dom9", 0L, 1L));
            assertThat(first.get(1).failure()).isInstanceOf(EpochFailedException.class)
                    .hasMessageContaining("domain dom8: begin epoch 1 failed on vif vif8.0: its plug control could"
                            + " not be opened")
                    .hasMessageContaining("done on [], not on [vif8.0]");
            assertThat(service.epochs("dom8").epochsFailed()).isEqualTo(1);
            assertThat(store.journal(store.holdingVif("dom8").getFirst().id()))
                    .anySatisfy(j -> assertThat(j.step()).isEqualTo("EPOCH_BEGIN"));
            assertThat(service.openControls()).as("dom7's two and dom9's one").isEqualTo(3);

            List<CheckpointResult> second = service.checkpoint(all);
            assertThat(second.get(1).failure()).isInstanceOf(EpochRefusedException.class)
                    .hasMessageContaining("had a failed epoch");
            assertThat(second).filteredOn(CheckpointResult::succeeded)
                    .extracting(CheckpointResult::domain, CheckpointResult::committed, CheckpointResult::begun)
                    .containsExactly(tuple("dom7", 0L, 2L), tuple("dom9", 0L, 2L));
            assertThat(service.epochs("dom7")).isEqualTo(new DomainEpochs("dom7", 2, 1, 2, 0, 0, null));

            for (String d : all) {
                context.publishEvent(new RemusDomainStopping(d));
            }
            assertThat(service.openControls()).isZero();
            assertThat(store.holdingVif()).isEmpty();
            kernel.assertNoBufferObjects("vif7.0", "vif7.1", "vif8.0", "vif9.0");
        });
    }

    @Test
    void aDomainsPlugControlsAreClosedWhenItFailsOver() {
        kernel.ns().addVif("vif8.0", "eth2");
        runner.run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            context.publishEvent(new RemusDomainStarted("dom8", List.of("vif8.0")));
            NetbufService service = context.getBean(NetbufService.class);
            service.checkpoint(List.of("dom7", "dom8"));
            assertThat(service.openControls()).isEqualTo(3);

            service.failover("dom7");
            assertThat(service.openControls()).as("dom8's only").isEqualTo(1);
            service.resume("dom7");
            assertThat(service.openControls()).as("opened again at its next epoch, not at resume").isEqualTo(1);
            assertThat(service.checkpoint(List.of("dom7", "dom8"))).allMatch(CheckpointResult::succeeded);
            assertThat(service.openControls()).isEqualTo(3);

            service.failover("dom8", FailoverReason.ACK_OVERDUE, "test");
            assertThat(service.openControls()).isEqualTo(2);
            service.stop("dom7");
            service.stop("dom8");
            assertThat(service.openControls()).isZero();
            kernel.assertNoBufferObjects("vif7.0", "vif7.1", "vif8.0");
        });
    }

    @Test
    void theBuiltInLoopCheckpointsADomainThatAsksForIt() {
        // a healthy loop commits every tick: a 500 ms deadline must never fail it over
        runner.withPropertyValues("netbuf.checkpoint.interval=20ms", "netbuf.checkpoint.ack-timeout=500ms")
                .run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1"), true));
            NetbufService service = context.getBean(NetbufService.class);
            CheckpointLoop loop = context.getBean(CheckpointLoop.class);
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (service.epochs("dom7").epochsCommitted() < 10) {
                assertThat(System.nanoTime()).as("10 epochs committed; loop %s", loop.status("dom7")).isLessThan(deadline);
                Thread.sleep(20);
            }
            assertThat(loop.status("dom7").orElseThrow().running()).isTrue();
            Thread.sleep(2_000); // past four deadlines
            assertThat(service.status("dom7").protection().failovers()).as("%s", service.status("dom7")).isZero();
            assertThat(service.status("dom7").heldFor()).isLessThan(java.time.Duration.ofMillis(500));
            context.publishEvent(new RemusDomainStopping("dom7"));
            assertThat(loop.status("dom7").orElseThrow().running()).isFalse();
            DomainEpochs e = service.epochs("dom7");
            // each tick commits the epoch awaiting its ack, then begins one; the first begin closes nothing (the
            // output before it was never held), so at any moment one epoch is open and at most one awaits
            assertThat(e.epochsBegun()).as("%s", e).isBetween(e.epochsCommitted() + 1, e.epochsCommitted() + 2);
            assertThat(e.epochsFailed()).isZero();
            kernel.assertNoBufferObjects("vif7.0", "vif7.1");
        });
    }

    @Test
    void aCheckpointedVifHasANullTapUntilItsDomainFailsOverOrStops() {
        runner.run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            NetbufService service = context.getBean(NetbufService.class);
            List<Integer> vifs = List.of(ifindex("vif7.0"), ifindex("vif7.1"));
            assertThat(tappedIfindexes()).as("before the first epoch nothing is held").isEmpty();
            service.beginEpoch("dom7");
            assertThat(tappedIfindexes()).containsExactlyInAnyOrderElementsOf(vifs);
            service.beginEpoch("dom7");
            assertThat(tappedIfindexes()).as("one tap a vif, however many epochs").hasSize(2);
            service.failover("dom7");
            assertThat(tappedIfindexes()).isEmpty();
            service.resume("dom7");
            service.beginEpoch("dom7");
            assertThat(tappedIfindexes()).containsExactlyInAnyOrderElementsOf(vifs);
            context.publishEvent(new RemusDomainStopping("dom7"));
            assertThat(tappedIfindexes()).isEmpty();
        });
        runner.withPropertyValues("netbuf.copy-held-frames=false").run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            context.getBean(NetbufService.class).beginEpoch("dom7");
            assertThat(tappedIfindexes()).isEmpty();
            context.publishEvent(new RemusDomainStopping("dom7"));
        });
    }

    int ifindex(String vif) {
        return Integer.parseInt(Sh.run("ip", "netns", "exec", kernel.ns().name, "cat",
                "/sys/class/net/" + vif + "/ifindex").strip());
    }

    /** The devices packet sockets of every protocol are bound to in the vifs' namespace ({@code /proc/net/packet}). */
    List<Integer> tappedIfindexes() {
        return Sh.run("ip", "netns", "exec", kernel.ns().name, "cat", "/proc/net/packet").lines().skip(1)
                .map(l -> l.strip().split("\\s+")).filter(f -> f.length > 4 && f[3].equals("0003"))
                .map(f -> Integer.parseInt(f[4])).toList();
    }

    @Test
    void failoverReleasesEverythingAndTheDomainRunsUnprotected() {
        runner.run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            NetbufService service = context.getBean(NetbufService.class);
            service.beginEpoch("dom7");
            assertThat(service.failover("dom7")).extracting(BufferRecord::state)
                    .containsOnly(BufferState.RELEASED);
            assertThatThrownBy(() -> service.beginEpoch("dom7")).isInstanceOf(DomainUnprotectedException.class)
                    .hasMessageContaining("UNPROTECTED (failed over: failover requested)");
            service.stop("dom7");
            kernel.assertNoBufferObjects("vif7.0", "vif7.1");
        });
    }
}
