package io.remus.netbuf.service;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.PlugStats;
import io.remus.netbuf.service.PlugStatsReader.LiveBuffers;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * Gauges over all live buffers: how many in each state, and the sum of the plug qdiscs' backlog and drops, from the
 * service's snapshot of the buffers holding a vif and their counters that the listing's counters come from too
 * ({@link PlugStatsReader}: the database and the kernel read at most once a second for both, never on the
 * checkpoint's socket), so up to a second old.
 */
public class NetbufMetrics implements MeterBinder {

    private final NetbufService service;

    public NetbufMetrics(NetbufService service) {
        this.service = service;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (BufferState state : BufferState.values()) {
            gauge(registry, "netbuf.buffers", "buffers holding a vif, by state", live -> live.buffers().stream()
                    .filter(b -> b.state() == state).count(), "state", state.name());
        }
        gauge(registry, "netbuf.backlog.bytes", "bytes held in plug qdiscs", live -> sum(live, PlugStats::backlogBytes));
        gauge(registry, "netbuf.backlog.packets", "frames held in plug qdiscs",
                live -> sum(live, PlugStats::backlogPackets));
        gauge(registry, "netbuf.drops", "frames the plug qdiscs dropped (over their limit)",
                live -> sum(live, PlugStats::drops));
    }

    private void gauge(MeterRegistry registry, String name, String help, ToDoubleFunction<LiveBuffers> f,
                       String... tags) {
        Gauge.builder(name, this, m -> f.applyAsDouble(m.service.liveBuffers())).description(help).tags(tags)
                .register(registry);
    }

    private static long sum(LiveBuffers live, ToLongFunction<PlugStats> counter) {
        return live.stats().values().stream().mapToLong(counter).sum();
    }
}
