package io.remus.netbuf.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.KernelFixture;
import io.remus.netbuf.netlink.KernelPlug;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * What the auto-configured plugin does on the running kernel, which has sch_plug or not: a Remus domain's start
 * installs its buffers, or fails naming the fix and leaves nothing; health is UP, or DOWN naming what is missing.
 * {@code UmlAsHostTest} runs this class inside user-mode-linux with and without the module.
 */
@Tag("host-kernel")
class NetbufOnTheKernelTest {

    KernelFixture kernel;
    ApplicationContextRunner runner;

    @BeforeEach
    void setUp() {
        kernel = KernelFixture.withVifs("vif7.0");
        runner = NetbufAutoConfigurationTest.runner(kernel).withPropertyValues("netbuf.enabled=true");
    }

    @AfterEach
    void tearDown() {
        kernel.close();
    }

    @Test
    void aRemusDomainStartEventInstallsItsBuffersWithNoOtherCall() {
        runner.run(context -> {
            RemusDomainStarted started = new RemusDomainStarted("dom7", List.of("vif7.0"));
            if (KernelPlug.present()) {
                context.publishEvent(started);
                assertThat(context.getBean(BufferStore.class).all()).singleElement().satisfies(b -> {
                    assertThat(b.domain()).isEqualTo("dom7");
                    assertThat(b.state()).isEqualTo(BufferState.PLUGGED);
                });
                assertThat(kernel.ns().qdisc(context.getBean(BufferStore.class).all().getFirst().ifb(), "plug"))
                        .isPresent();
            } else {
                // the install runs every step it can, then fails and rolls back
                assertThatThrownBy(() -> context.publishEvent(started))
                        .hasMessageContaining("failed at ADD_PLUG").hasMessageContaining(KernelPlug.FIX);
                List<BufferRecord> buffers = context.getBean(BufferStore.class).all();
                assertThat(buffers).singleElement().satisfies(b -> {
                    assertThat(b.domain()).isEqualTo("dom7");
                    assertThat(b.state()).isEqualTo(BufferState.FAILED);
                });
                kernel.assertNoBufferObjects("vif7.0");
            }
        });
    }

    @Test
    void healthIsUpWithSchPlugAndElseNamesItAndTheFix() {
        runner.run(context -> {
            Health health = context.getBean(NetbufHealthIndicator.class).health();
            @SuppressWarnings("unchecked")
            Map<String, Object> plug = (Map<String, Object>) health.getDetails().get("sch_plug");
            if (KernelPlug.present()) {
                assertThat(health.getStatus()).as(health.toString()).isEqualTo(Status.UP);
                assertThat(plug).containsEntry("present", true);
            } else {
                assertThat(health.getStatus()).isEqualTo(Status.DOWN);
                assertThat(plug).containsEntry("present", false)
                        .containsEntry("fix", "modprobe sch_plug (CONFIG_NET_SCH_PLUG)");
            }
            for (String present : List.of("libnl", "cap_net_admin", "ifb", "sch_ingress", "cls_u32", "act_mirred")) {
                assertThat(health.getDetails().get(present)).as(present).asString().contains("present=true");
            }
        });
    }
}
