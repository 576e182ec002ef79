package io.remus.netbuf.service;

import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.InterfaceName;
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

/**
 * The plug qdiscs' counters of buffers, for the listing and the metrics ({@code tc -s qdisc show}). Reads only: it
 * takes no domain lock, so a buffer may change state between its row and the dump; a plug not found is left out.
 */
final class PlugStatsReader {

    private final Netlink netlink;

    PlugStatsReader(Netlink netlink) {
        this.netlink = netlink;
    }

    /** The plug's counters for a PLUGGED or RELEASED buffer, or empty (no plug, or its ifb is gone). */
    Optional<PlugStats> stats(BufferRecord b) {
        if (!hasPlug(b)) {
            return Optional.empty();
        }
        return netlink.findLink(InterfaceName.of(b.ifb()))
                .flatMap(ifb -> netlink.plugStats(PlugControls.plugOf(b, ifb)));
    }

    /**
     * The plug counters of each of {@code buffers} that has them (PLUGGED or RELEASED, its ifb and plug there),
     * by buffer id: one link dump and one qdisc dump for all of them.
     */
    Map<Long, PlugStats> stats(Collection<BufferRecord> buffers) {
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
