package io.remus.netbuf.bench;

import io.remus.netbuf.autoconfigure.NetbufAutoConfiguration;
import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugAction;
import io.remus.netbuf.netlink.PlugControl;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.persistence.DomainStore;
import io.remus.netbuf.persistence.NetbufDatabase;
import io.remus.netbuf.service.CheckpointLoop;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Configuration;

/**
 * Inside user-mode-linux, in a network namespace of its own: the plugin in a Spring Boot context (its
 * auto-configuration over an H2 file, as a server runs it) holding {@code memoryBuffers} PLUGGED buffers of {@code domains} domains, every domain
 * checkpointed every 100 ms by the built-in loop. Prints the live heap after a full GC, the checkpoints the loop
 * managed, and the Java heap allocated per checkpoint: on the hot path (a domain's plug batch through the
 * context's Netlink) and for the whole server checkpoint (begin + commit with the database bookkeeping).
 */
final class MemoryBench {

    private static final long MIB = 1024 * 1024;

    /** The server's part that matters here: the plugin's auto-configuration and a DataSource. */
    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration({DataSourceAutoConfiguration.class, NetbufAutoConfiguration.class})
    static class Server {
    }

    private MemoryBench() {
    }

    static void run(Bench.Sizes sizes, Path dir, Bench.Report report) throws Exception {
        int n = sizes.memoryBuffers();
        int domains = sizes.domains();
        int perDomain = n / domains;
        List<String> links = new ArrayList<>();
        for (int d = 0; d < domains; d++) {
            for (int k = 0; k < perDomain; k++) {
                links.add("link add vif" + d + "." + k + " type veth peer name vif" + d + "." + k + "p");
                links.add("link set vif" + d + "." + k + " up");
            }
        }
        String ns = "nbmem" + ProcessHandle.current().pid();
        Bench.sh("ip", "netns", "add", ns);
        try {
            Bench.batch("ip", links, "-n", ns);
            measure(sizes, dir, "/run/netns/" + ns, report);
        } finally {
            Bench.sh("ip", "netns", "del", ns);
        }
    }

    private static void measure(Bench.Sizes sizes, Path dir, String namespace, Bench.Report report) throws Exception {
        int n = sizes.memoryBuffers();
        int domains = sizes.domains();
        int perDomain = n / domains;
        String url = NetbufDatabase.h2FileUrl(dir.resolve("memory-" + System.nanoTime()));
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(Server.class)
                .web(WebApplicationType.NONE).logStartupInfo(false)
                .properties("spring.main.banner-mode=off", "logging.level.root=WARN", "spring.datasource.url=" + url,
                        "netbuf.enabled=true", "netbuf.namespace=" + namespace, "netbuf.checkpoint.interval=100ms")
                .run()) {
            long t0 = System.nanoTime();
            for (int d = 0; d < domains; d++) {
                List<String> vifs = new ArrayList<>();
                for (int k = 0; k < perDomain; k++) {
                    vifs.add("vif" + d + "." + k);
                }
                context.publishEvent(new RemusDomainStarted("dom" + d, vifs, true));
            }
            double installSeconds = (System.nanoTime() - t0) / 1e9;
            DomainStore store = context.getBean(DomainStore.class);
            var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long loopThread = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().equals("netbuf-checkpoint")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no netbuf-checkpoint thread")).threadId();

            Thread.sleep(sizes.memorySeconds() * 1000L / 2); // warm-up
            long begun0 = begun(store, domains);
            long bytes0 = threads.getThreadAllocatedBytes(loopThread);
            long w0 = System.nanoTime();
            Thread.sleep(sizes.memorySeconds() * 1000L);
            long bytes = threads.getThreadAllocatedBytes(loopThread) - bytes0;
            long checkpoints = begun(store, domains) - begun0;
            double window = (System.nanoTime() - w0) / 1e9;

            System.gc();
            long live = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            context.getBean(CheckpointLoop.class).close();

            // on the checkpoint's own socket, as the service's batches go
            long hotPath = hotPathBytes(context.getBean(Netlink.class).hotPath(), perDomain,
                    sizes.smoke() ? 10 : 1000);
            report.add(String.format("user-mode-linux, the plugin in a Spring Boot context with %d PLUGGED buffers of"
                            + " %d domains (installed in %.0f s), each domain checkpointed every 100 ms:", n, domains,
                    installSeconds));
            boolean heapOk = live < 64 * MIB;
            report.verdict(String.format("  live heap after a full GC %.1f MiB (target < 64 MiB) %s", live / (double) MIB,
                    heapOk ? "met" : "MISSED"), heapOk);
            report.verdict(String.format("  Java heap allocated per checkpoint on the hot path (a domain's plug batch,"
                            + " buffer + release_one, after warm-up): %d bytes over %d = %.3f bytes (target 0) %s",
                    hotPath, sizes.smoke() ? 10 : 1000, hotPath / (sizes.smoke() ? 10.0 : 1000.0),
                    hotPath == 0 ? "met" : "MISSED"), hotPath == 0);
            report.add(String.format("  the loop managed %.1f checkpoints/s per domain (%.0f asked); per server"
                            + " checkpoint (begin + commit, with the database bookkeeping) it allocated %.0f KiB",
                    checkpoints / window / domains, 10.0, checkpoints == 0 ? 0 : bytes / 1024.0 / checkpoints));
        }
    }

    private static long begun(DomainStore store, int domains) {
        long sum = 0;
        for (int d = 0; d < domains; d++) {
            sum += store.find("dom" + d).map(e -> e.epochsBegun()).orElse(0L);
        }
        return sum;
    }

    /** The allocation of {@code checkpoints} begin + commit batches over dom0's plugs, after as many to warm up. */
    private static long hotPathBytes(Netlink netlink, int perDomain, int checkpoints) {
        PlugControl[] controls = new PlugControl[perDomain];
        for (int k = 0; k < perDomain; k++) {
            // the ifbs are the lifecycle's, nbifb<buffer id>; dom0's buffers are the first ones installed
            controls[k] = netlink.openPlugControl(PlugQdisc.on(netlink.link(InterfaceName.of("nbifb" + (k + 1))),
                    PlugQdisc.DEFAULT_LIMIT_BYTES));
        }
        int[] errors = new int[perDomain];
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        batches(netlink, controls, errors, checkpoints);
        long before = threads.getCurrentThreadAllocatedBytes();
        batches(netlink, controls, errors, checkpoints);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        for (PlugControl c : controls) {
            c.close();
        }
        return allocated;
    }

    private static void batches(Netlink netlink, PlugControl[] controls, int[] errors, int n) {
        for (int i = 0; i < n; i++) {
            if (netlink.plugBatch(controls, controls.length, PlugAction.BUFFER, errors)
                    + netlink.plugBatch(controls, controls.length, PlugAction.RELEASE_ONE, errors) != 0) {
                throw new IllegalStateException("a plug batch failed");
            }
        }
    }
}
