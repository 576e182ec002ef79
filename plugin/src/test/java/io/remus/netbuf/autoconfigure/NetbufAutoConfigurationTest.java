package io.remus.netbuf.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.KernelFixture;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.NetbufDatabase;
import io.remus.netbuf.service.NetbufMetrics;
import io.remus.netbuf.service.NetbufService;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/** The auto-configuration in a real Spring context, on the host kernel, in a namespace of the test's own. */
class NetbufAutoConfigurationTest {

    KernelFixture kernel;
    ApplicationContextRunner runner;

    @BeforeEach
    void setUp() {
        kernel = KernelFixture.withVifs("vif7.0");
        runner = runner(kernel);
    }

    /** The plugin's auto-configuration over a fresh H2 file, its socket in {@code kernel}'s namespace. */
    static ApplicationContextRunner runner(KernelFixture kernel) {
        String db = NetbufDatabase.h2FileUrl(Path.of("target", "h2", "autoconfig-" + System.nanoTime()));
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, NetbufAutoConfiguration.class))
                .withPropertyValues("spring.datasource.url=" + db, "netbuf.namespace=" + kernel.ns().file());
    }

    @AfterEach
    void tearDown() {
        kernel.close();
    }

    /** A value the plugin cannot work with stops the start, naming the property, before anything is installed. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
            "netbuf.limit-bytes=0 | netbuf.limit-bytes must be between 1514",
            "netbuf.limit-bytes=8589934592 | netbuf.limit-bytes must be between 1514",
            "netbuf.ifb-prefix=a-prefix-far-too-long | netbuf.ifb-prefix must be 1 to 9",
            "netbuf.ifb-prefix=x y | netbuf.ifb-prefix must be 1 to 9",
            "netbuf.ifb-prefix=ifb | not 'ifb'",
            "netbuf.filter-priority=0 | netbuf.filter-priority must be between 1 and 65535",
            "netbuf.checkpoint.interval=0ms | netbuf.checkpoint.interval must be longer than zero"})
    void aBadPropertyStopsTheStartNamingIt(String property, String message) {
        runner.withPropertyValues("netbuf.enabled=true", property).run(context -> {
            assertThat(context).hasFailed();
            Throwable root = context.getStartupFailure();
            while (root.getCause() != null) {
                root = root.getCause();
            }
            assertThat(root).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
            assertThat(context.getStartupFailure()).hasMessageContaining("netbuf");
        });
    }

    @Test
    void offUnlessEnabled() {
        runner.run(context -> assertThat(context).doesNotHaveBean(NetbufService.class).doesNotHaveBean(Netlink.class));
    }

    @Test
    void enabledItWiresEverythingAndAppliesTheSchema() {
        runner.withPropertyValues("netbuf.enabled=true", "netbuf.limit-bytes=1000000", "netbuf.filter-protocol=IP")
                .run(context -> {
                    assertThat(context).hasNotFailed().hasSingleBean(NetbufService.class)
                            .hasSingleBean(NetbufHealthIndicator.class);
                    NetbufProperties p = context.getBean(NetbufProperties.class);
                    assertThat(p.limitBytes()).isEqualTo(1_000_000);
                    assertThat(p.filterProtocol().ethertype()).isEqualTo(0x0800);
                    assertThat(p.checkpoint().interval()).hasMillis(100);
                    assertThat(context.getBean(BufferStore.class).all()).isEmpty();
                });
    }

    /** 20 clients polling the listing must not read the database 20 times a second; a protect shows at once. */
    @Test
    void theListingIsReadAtMostOnceASecondAndAgainAtOnceAfterAProtect() {
        runner.withPropertyValues("netbuf.enabled=true").run(context -> {
            NetbufService service = context.getBean(NetbufService.class);
            List<NetbufService.ListedBuffer> first = service.listing();
            assertThat(first).isEmpty();
            assertThat(service.listing()).as("a poll within the second reads nothing").isSameAs(first);
            // a vif that is not there: the install fails at its ingress step on any kernel, leaving a FAILED row
            assertThatThrownBy(() -> service.protect("dom9", List.of(InterfaceName.of("vif9.9"))))
                    .hasMessageContaining("failed at ADD_INGRESS");
            List<NetbufService.ListedBuffer> after = service.listing();
            assertThat(after).singleElement().satisfies(l -> assertThat(l.buffer().state())
                    .isEqualTo(BufferState.FAILED));
            assertThat(service.listing()).isSameAs(after);
            Thread.sleep(1100);
            assertThat(service.listing()).as("read again after a second").isNotSameAs(after).isEqualTo(after);
        });
    }

    /** The gauges count the buffers holding a vif: a FAILED row whose install was undone lists, but holds none. */
    @Test
    void theMetricsCountTheBuffersHoldingAVifNotEveryRow() {
        runner.withPropertyValues("netbuf.enabled=true").run(context -> {
            NetbufService service = context.getBean(NetbufService.class);
            MeterRegistry registry = new SimpleMeterRegistry();
            context.getBean(NetbufMetrics.class).bindTo(registry);
            assertThatThrownBy(() -> service.protect("dom9", List.of(InterfaceName.of("vif9.9"))))
                    .hasMessageContaining("failed at ADD_INGRESS");
            assertThat(service.listing()).singleElement().satisfies(l -> assertThat(l.buffer().state())
                    .isEqualTo(BufferState.FAILED));
            for (BufferState state : BufferState.values()) {
                assertThat(registry.get("netbuf.buffers").tag("state", state.name()).gauge().value())
                        .as("netbuf.buffers{state=%s}", state).isZero();
            }
            assertThat(registry.get("netbuf.backlog.bytes").gauge().value()).isZero();
            assertThat(registry.get("netbuf.drops").gauge().value()).isZero();
        });
    }

    @Test
    void backsOffForAUserDefinedSocket() {
        runner.withPropertyValues("netbuf.enabled=true")
                .withBean("mySocket", Netlink.class, () -> Netlink.openInNamespace(kernel.ns().file()))
                .run(context -> assertThat(context).hasSingleBean(Netlink.class).hasBean("mySocket"));
    }

    @Test
    void withoutAUrlTheDatabaseIsAnH2FileUnderData() {
        StandardEnvironment env = new StandardEnvironment();
        env.getPropertySources().addFirst(new MapPropertySource("test", Map.of("netbuf.enabled", "true")));
        new NetbufDataSourceDefaults().postProcessEnvironment(env, null);
        assertThat(env.getProperty("spring.datasource.url")).startsWith("jdbc:h2:file:")
                .contains("/data/netbuf").endsWith(";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=10000");

        StandardEnvironment postgres = new StandardEnvironment();
        postgres.getPropertySources().addFirst(new MapPropertySource("test", Map.of("netbuf.enabled", "true",
                "spring.datasource.url", "jdbc:postgresql://127.0.0.1/netbuf")));
        new NetbufDataSourceDefaults().postProcessEnvironment(postgres, null);
        assertThat(postgres.getProperty("spring.datasource.url")).isEqualTo("jdbc:postgresql://127.0.0.1/netbuf");

        StandardEnvironment disabled = new StandardEnvironment();
        new NetbufDataSourceDefaults().postProcessEnvironment(disabled, null);
        assertThat(disabled.containsProperty("spring.datasource.url")).isFalse();
    }
}
