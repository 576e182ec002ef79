package io.remus.netbuf.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.remus.netbuf.autoconfigure.NetbufAutoConfiguration;
import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.events.RemusDomainStopping;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.KernelFixture;
import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.DomainEpochs;
import io.remus.netbuf.persistence.NetbufDatabase;
import java.nio.file.Path;
import java.util.List;
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
    void theBuiltInLoopCheckpointsADomainThatAsksForIt() {
        runner.withPropertyValues("netbuf.checkpoint.interval=20ms").run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1"), true));
            NetbufService service = context.getBean(NetbufService.class);
            CheckpointLoop loop = context.getBean(CheckpointLoop.class);
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (service.epochs("dom7").epochsCommitted() < 10) {
                assertThat(System.nanoTime()).as("10 epochs committed; loop %s", loop.status("dom7")).isLessThan(deadline);
                Thread.sleep(20);
            }
            assertThat(loop.status("dom7").orElseThrow().running()).isTrue();
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
    void failoverReleasesEverythingAndTheDomainRunsUnprotected() {
        runner.run(context -> {
            context.publishEvent(new RemusDomainStarted("dom7", List.of("vif7.0", "vif7.1")));
            NetbufService service = context.getBean(NetbufService.class);
            service.beginEpoch("dom7");
            assertThat(service.failover("dom7")).extracting(BufferRecord::state)
                    .containsOnly(BufferState.RELEASED);
            assertThatThrownBy(() -> service.beginEpoch("dom7")).isInstanceOf(EpochRefusedException.class)
                    .hasMessageContaining("not PLUGGED");
            service.stop("dom7");
            kernel.assertNoBufferObjects("vif7.0", "vif7.1");
        });
    }
}
