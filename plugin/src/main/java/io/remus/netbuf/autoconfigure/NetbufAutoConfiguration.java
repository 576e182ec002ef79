package io.remus.netbuf.autoconfigure;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.remus.netbuf.lifecycle.BufferLifecycle;
import io.remus.netbuf.lifecycle.BufferRecovery;
import io.remus.netbuf.lifecycle.FaultInjection;
import io.remus.netbuf.lifecycle.NetbufSettings;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.DomainStore;
import io.remus.netbuf.persistence.NetbufDatabase;
import io.remus.netbuf.service.CheckpointLoop;
import io.remus.netbuf.service.HeldOutputDeadline;
import io.remus.netbuf.service.NetbufMetrics;
import io.remus.netbuf.service.NetbufService;
import io.remus.netbuf.xlremus.XlRemusFollower;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Remus network buffering, on when {@code netbuf.enabled=true}: a netlink socket, the buffer store on the
 * application's DataSource (migrated with the plugin's own Flyway history), the lifecycle, recovery at start, the
 * checkpoint service, and a listener that installs a domain's buffers when the server says it started. Every bean
 * backs off if the application defines its own.
 */
@AutoConfiguration(after = DataSourceAutoConfiguration.class)
@ConditionalOnProperty(prefix = "netbuf", name = "enabled", havingValue = "true")
@EnableConfigurationProperties(NetbufProperties.class)
public class NetbufAutoConfiguration {

    private static final Logger log = LoggerFactory.getLogger(NetbufAutoConfiguration.class);

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public Netlink netbufNetlink(NetbufProperties properties) {
        return properties.namespace().isBlank() ? Netlink.open()
                : Netlink.openInNamespace(Path.of(properties.namespace()));
    }

    @Bean
    @ConditionalOnMissingBean
    public BufferInstaller netbufInstaller(Netlink netlink) {
        return new BufferInstaller(netlink);
    }

    @Bean
    @ConditionalOnMissingBean
    public BufferStore netbufBufferStore(DataSource dataSource) {
        NetbufDatabase.migrate(dataSource);
        return new BufferStore(dataSource);
    }

    @Bean
    @ConditionalOnMissingBean
    public DomainStore netbufDomainStore(DataSource dataSource, BufferStore migratedFirst) {
        return new DomainStore(dataSource);
    }

    @Bean
    @ConditionalOnMissingBean
    public BufferLifecycle netbufLifecycle(BufferStore store, BufferInstaller installer, NetbufProperties p) {
        NetbufSettings settings = new NetbufSettings(p.ifbMode(), p.limitBytes(), p.filterProtocol().ethertype(),
                p.filterPriority(), p.ifbPrefix());
        return new BufferLifecycle(store, installer, settings, FaultInjection.fromSystemProperty());
    }

    /** Runs recovery once, before the service is handed to anyone. */
    @Bean
    @ConditionalOnMissingBean
    public BufferRecovery netbufRecovery(BufferLifecycle lifecycle, BufferInstaller installer, NetbufProperties p) {
        BufferRecovery recovery = new BufferRecovery(lifecycle, installer);
        if (p.recoverOnStart()) {
            BufferRecovery.Report report = recovery.recover();
            report.lines().forEach(line -> log.info("netbuf recovery: {}", line));
            log.info("netbuf recovery: {} rolled back, {} adopted, {} repaired, {} cleared, {} orphans removed,"
                            + " {} failed", report.rolledBack(), report.adopted(), report.repaired(), report.cleared(),
                    report.orphans(), report.failed());
        }
        return recovery;
    }

    @Bean
    @ConditionalOnMissingBean
    public NetbufService netbufService(BufferLifecycle lifecycle, DomainStore domains, Netlink netlink,
                                       BufferRecovery recoveredFirst, ObjectProvider<MeterRegistry> meters,
                                       NetbufProperties p) {
        return new NetbufService(lifecycle, domains, netlink, meters.getIfAvailable(SimpleMeterRegistry::new),
                p.checkpoint().ackTimeout(), p.copyHeldFrames());
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public HeldOutputDeadline netbufHeldOutputDeadline(NetbufService service, NetbufProperties p) {
        return new HeldOutputDeadline(service, p.checkpoint().deadlineScan());
    }

    /** Destroyed before the loop, the deadline and the service it uses: at a stop, it runs while they still work. */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public NetbufShutdown netbufShutdown(NetbufService service, CheckpointLoop loop, XlRemusFollower follower,
                                         HeldOutputDeadline deadline, NetbufProperties p) {
        return new NetbufShutdown(service, loop, follower, deadline, p.onShutdown());
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public CheckpointLoop netbufCheckpointLoop(NetbufService service, NetbufProperties p) {
        return new CheckpointLoop(service, p.checkpoint().interval(), p.checkpoint().ackDelay());
    }

    /** Inert until a domain is followed: only then does it connect to xenstored. */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public XlRemusFollower netbufXlRemusFollower(NetbufService service, ObjectProvider<MeterRegistry> meters,
                                                 NetbufProperties p) {
        return new XlRemusFollower(service, meters.getIfAvailable(SimpleMeterRegistry::new), p.xlRemus().lateAfter());
    }

    @Bean
    @ConditionalOnMissingBean
    public NetbufMetrics netbufMetrics(NetbufService service) {
        return new NetbufMetrics(service);
    }

    @Bean
    @ConditionalOnMissingBean
    public DomainEventListener netbufDomainEventListener(NetbufService service, CheckpointLoop loop,
                                                         XlRemusFollower follower) {
        return new DomainEventListener(service, loop, follower);
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.actuate.health.HealthIndicator")
    @ConditionalOnEnabledHealthIndicator("netbuf")
    static class Health {

        @Bean
        @ConditionalOnMissingBean(name = "netbufHealthIndicator")
        public NetbufHealthIndicator netbufHealthIndicator(NetbufService service, CheckpointLoop loop,
                                                           HeldOutputDeadline deadline) {
            return new NetbufHealthIndicator(service, loop, deadline);
        }
    }
}
