package io.remus.netbuf.service;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.PlugStats;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * Gauges over all live buffers: how many in each state (the database read at most once a second), and the sum of
 * the plug qdiscs' backlog and drops, from the service's snapshot of every buffer's counters that the listing reads
 * too ({@link NetbufService#stats(java.util.Collection)}: the kernel dumped at most once a second for both, never on
 * the checkpoint's socket), so up to a second old.
 */
public class NetbufMetrics implements MeterBinder {

    private record Totals(List<BufferRecord> buffers, long backlogBytes, long backlogPackets, long drops) {
    }

    private final BufferStore store;
    private final NetbufService service;
    private final Snapshot<Totals> snapshot = new Snapshot<>(1_000_000_000L, System::nanoTime, this::read);

    public NetbufMetrics(BufferStore store, NetbufService service) {
        this.store = store;
        this.service = service;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (BufferState state : BufferState.values()) {
            gauge(registry, "netbuf.buffers", "buffers holding a vif, by state", s -> s.buffers().stream()
                    .filter(b -> b.state() == state).count(), "state", state.name());
        }
        gauge(registry, "netbuf.backlog.bytes", "bytes held in plug qdiscs", Totals::backlogBytes);
        gauge(registry, "netbuf.backlog.packets", "frames held in plug qdiscs", Totals::backlogPackets);
        gauge(registry, "netbuf.drops", "frames the plug qdiscs dropped (over their limit)", Totals::drops);
    }

    private void gauge(MeterRegistry registry, String name, String help, ToDoubleFunction<Totals> f, String... tags) {
        Gauge.builder(name, this, m -> f.applyAsDouble(m.snapshot.get())).description(help).tags(tags).register(registry);
    }

    private Totals read() {
        List<BufferRecord> live = store.holdingVif();
        long bytes = 0;
        long packets = 0;
        long drops = 0;
        for (PlugStats stats : service.stats(live).values()) { // the listing's snapshot
            bytes += stats.backlogBytes();
            packets += stats.backlogPackets();
            drops += stats.drops();
        }
        return new Totals(live, bytes, packets, drops);
    }
}
