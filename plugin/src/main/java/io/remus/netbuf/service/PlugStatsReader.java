package io.remus.netbuf.service;

import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.Link;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.PlugStats;
import io.remus.netbuf.persistence.BufferRecord;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The buffers that hold a vif and their plug qdiscs' counters ({@code tc -s qdisc show}), for the listing and the
 * metrics, served from one snapshot that is read again at most once a second: however many clients poll the
 * listing or scrape the metrics, the database and the kernel are read at most once a second, the kernel on the main
 * socket, never on the checkpoint's ({@link Netlink#hotPath}). So counters may be up to a second old, and a buffer
 * plugged since the snapshot shows none until the next one. Reads only: it takes no domain lock, so a buffer may
 * change state between its row and the dump; a plug not found is left out.
 */
final class PlugStatsReader {

    /** How old a snapshot may be before a read takes a new one. */
    static final long MAX_AGE_NANOS = 1_000_000_000L;

    /** The buffers holding a vif, and the counters of those with a plug by buffer id, as one read found them. */
    record LiveBuffers(List<BufferRecord> buffers, Map<Long, PlugStats> stats) {
    }

    /**
     * The live buffers and their counters, or why they could not be read: a failed read is kept for the second too,
     * so a kernel that cannot be read is not asked again by every poller.
     */
    private final Snapshot<LiveBuffers> snapshot;

    /** Reads the counters of the buffers {@code live} returns (those holding a vif) through {@code netlink}. */
    PlugStatsReader(Netlink netlink, Supplier<List<BufferRecord>> live) {
        this(live, buffers -> read(netlink, buffers), System::nanoTime);
    }

    /** The buffers {@code live} returns and their counters as {@code read} finds them, timed by {@code clock} (ns). */
    PlugStatsReader(Supplier<List<BufferRecord>> live, Function<List<BufferRecord>, Map<Long, PlugStats>> read,
                    LongSupplier clock) {
        this.snapshot = new Snapshot<>(MAX_AGE_NANOS, clock, () -> {
            List<BufferRecord> buffers = List.copyOf(live.get());
            return new LiveBuffers(buffers, Map.copyOf(read.apply(buffers)));
        });
    }

    /** The live buffers and their counters, up to a second old. */
    LiveBuffers live() {
        return snapshot.get();
    }

    /** The plug's counters for a PLUGGED or RELEASED buffer, or empty (no plug, or its ifb is gone). */
    Optional<PlugStats> stats(BufferRecord b) {
        return hasPlug(b) ? Optional.ofNullable(snapshot.get().stats().get(b.id())) : Optional.empty();
    }

    /** The plug counters of each of {@code buffers} that has them (PLUGGED or RELEASED, its plug there), by id. */
    Map<Long, PlugStats> stats(Collection<BufferRecord> buffers) {
        Map<Long, PlugStats> all = null;
        Map<Long, PlugStats> stats = new HashMap<>();
        for (BufferRecord b : buffers) {
            if (hasPlug(b)) {
                all = all != null ? all : snapshot.get().stats();
                PlugStats s = all.get(b.id());
                if (s != null) {
                    stats.put(b.id(), s);
                }
            }
        }
        return stats;
    }

    /**
     * The plug counters of each of {@code buffers} that has them (PLUGGED or RELEASED, its ifb and plug there),
     * by buffer id: one link dump and one qdisc dump for all of them.
     */
    private static Map<Long, PlugStats> read(Netlink netlink, List<BufferRecord> buffers) {
        List<BufferRecord> withPlug = buffers.stream().filter(PlugStatsReader::hasPlug).toList();
        if (withPlug.isEmpty()) {
            return Map.of();
        }
        Map<String, Link> ifbs = new HashMap<>();
        netlink.ifbLinks().forEach(l -> ifbs.put(l.name().value(), l));
        Map<Long, PlugQdisc> plugs = new HashMap<>();
        for (BufferRecord b : withPlug) {
            Link ifb = ifbs.get(b.ifb());
            if (ifb != null) {
                plugs.put(b.id(), PlugControls.plugOf(b, ifb));
            }
        }
        Map<PlugQdisc, PlugStats> found = netlink.plugStats(plugs.values());
        Map<Long, PlugStats> stats = new HashMap<>();
        plugs.forEach((id, plug) -> {
            PlugStats s = found.get(plug);
            if (s != null) {
                stats.put(id, s);
            }
        });
        return stats;
    }

    /** Whether the buffer is in a state with a plug qdisc on its ifb. */
    private static boolean hasPlug(BufferRecord b) {
        return b.ifb() != null && (b.state() == BufferState.PLUGGED || b.state() == BufferState.RELEASED);
    }
}
