package io.remus.netbuf.server.api;

import io.remus.netbuf.netlink.PlugStats;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.JournalEntry;
import io.remus.netbuf.service.CheckpointLoop;
import io.remus.netbuf.service.DomainNotBufferedException;
import io.remus.netbuf.service.DomainStatus;
import io.remus.netbuf.service.NetbufService;
import java.time.Duration;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** The plugin's buffers and the checkpoint API, over HTTP. */
@RestController
@RequestMapping("/api/netbuf")
public class NetbufController {


    public record Epoch(String domain, long epoch) {
    }

    public record JournalView(long id, java.time.Instant at, String step, JournalEntry.Outcome outcome,
                              String fromState, String toState, String detail, String error) {
    }

    private final NetbufService netbuf;
    private final BufferStore buffers;
    private final KnownDomains domains;
    private final CheckpointLoop loop;

    public NetbufController(NetbufService netbuf, BufferStore buffers, KnownDomains domains, CheckpointLoop loop) {
        this.netbuf = netbuf;
        this.buffers = buffers;
        this.domains = domains;
        this.loop = loop;
    }

    /** Every buffer with its plug's counters (up to a second old) and its domain's open epoch. */
    @GetMapping("/buffers")
    public List<BufferView> buffers() {
        return netbuf.listing().stream().map(l -> view(l.buffer(), l.stats(), l.openEpoch())).toList();
    }

    @GetMapping("/buffers/{id}")
    public BufferView buffer(@PathVariable long id) {
        return view(find(id));
    }

    @GetMapping("/buffers/{id}/journal")
    public List<JournalView> journal(@PathVariable long id) {
        find(id);
        return buffers.journal(id).stream().map(j -> new JournalView(j.id(), j.at(), j.step(), j.outcome(),
                j.fromState(), j.toState(), j.detail(), j.error())).toList();
    }

    @PostMapping("/domains/{name}/epochs")
    public Epoch begin(@PathVariable String name) {
        return new Epoch(name, netbuf.beginEpoch(known(name)));
    }

    @PostMapping("/domains/{name}/epochs/{epoch}/commit")
    public Epoch commit(@PathVariable String name, @PathVariable long epoch) {
        if (epoch < 1) {
            throw new BadRequestException("epoch", "epoch numbers start at 1; got " + epoch);
        }
        netbuf.commitEpoch(known(name), epoch);
        return new Epoch(name, epoch);
    }

    @PostMapping("/domains/{name}/failover")
    public List<BufferView> failover(@PathVariable String name) {
        return netbuf.failover(known(name)).stream().map(this::view).toList();
    }

    /** Every buffered domain's protection. */
    @GetMapping("/domains")
    public List<ProtectionView> protections() {
        return netbuf.statuses().stream().map(p -> ProtectionView.of(p, loop)).toList();
    }

    @GetMapping("/domains/{name}")
    public ProtectionView protection(@PathVariable String name) {
        return ProtectionView.of(buffered(known(name)), loop);
    }

    /** A failed-over domain protected again, its buffers back to PLUGGED; the loop takes it again if it drove it. */
    @PostMapping("/domains/{name}/resume")
    public ProtectionView resume(@PathVariable String name) {
        String domain = known(name);
        netbuf.resume(domain);
        return ProtectionView.of(netbuf.status(domain), loop);
    }

    /** The domain's ack deadline: {@code {"ackTimeoutMillis": N}}, or {@code null} for the configured default. */
    public record AckTimeout(Long ackTimeoutMillis) {
    }

    @PutMapping("/domains/{name}/ack-timeout")
    public ProtectionView setAckTimeout(@PathVariable String name, @RequestBody AckTimeout body) {
        String domain = known(name);
        Long millis = body.ackTimeoutMillis();
        long min = NetbufService.MIN_ACK_TIMEOUT.toMillis();
        long max = NetbufService.MAX_ACK_TIMEOUT.toMillis();
        if (millis != null && (millis < min || millis > max)) {
            throw new BadRequestException("ackTimeoutMillis", "the ack deadline must be between " + min + " and "
                    + max + " ms (null: the configured default, " + netbuf.defaultAckTimeout().toMillis()
                    + " ms); got " + millis);
        }
        netbuf.setAckTimeout(domain, millis == null ? null : Duration.ofMillis(millis));
        return ProtectionView.of(netbuf.status(domain), loop);
    }

    private DomainStatus buffered(String domain) {
        if (buffers.holdingVif(domain).isEmpty()) {
            throw new DomainNotBufferedException(domain);
        }
        return netbuf.status(domain);
    }

    /** A domain the server knows (else 404). */
    private String known(String name) {
        return domains.known(name);
    }

    private BufferRecord find(long id) {
        return buffers.find(id).orElseThrow(() -> new NotFoundException("buffer", "no buffer with id " + id));
    }

    private BufferView view(BufferRecord b) {
        return view(b, statsOrNull(b), netbuf.epochs(b.domain()).openEpoch());
    }

    private static BufferView view(BufferRecord b, PlugStats s, long openEpoch) {
        return new BufferView(b.id(), b.domain(), b.vif(), b.ifb(), b.state(), b.limitBytes(),
                s == null ? null : s.backlogBytes(), s == null ? null : s.backlogPackets(), s == null ? null : s.drops(),
                openEpoch, b.lastError());
    }

    private PlugStats statsOrNull(BufferRecord b) {
        try {
            return netbuf.stats(b).orElse(null);
        } catch (RuntimeException e) {
            return null; // a listing must not fail because one ifb vanished between the query and the dump
        }
    }
}
