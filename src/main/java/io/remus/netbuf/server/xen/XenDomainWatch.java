package io.remus.netbuf.server.xen;

import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.events.RemusDomainStopping;
import io.remus.netbuf.server.ConditionalOnHypervisor;
import io.remus.netbuf.server.HypervisorProperties.Hypervisor;
import io.remus.netbuf.server.domain.DomainReconciliation;
import io.remus.netbuf.service.DomainStatus;
import io.remus.netbuf.service.NetbufService;
import io.remus.netbuf.xenstore.XenDomains;
import io.remus.netbuf.xenstore.Xenstore;
import io.remus.netbuf.xenstore.XenstoreException;
import io.remus.netbuf.xlremus.XlRemusFollower;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The domains Xen has, kept in step with xenstore by a watch, and the Remus marks applied to them. A marked domain
 * whose vifs are all connected is announced with {@link RemusDomainStarted} (driver XL_REMUS: the plugin follows
 * {@code xl remus}'s suspend requests of it), once per domid and set of vifs; when it goes (destroyed, renumbered:
 * what its buffers hold is dropped with it), its vifs change or it is unmarked (what they hold is let out), with
 * {@link RemusDomainStopping}.
 *
 * <p>Watched: {@code @introduceDomain} and {@code @releaseDomain} (xenstored's own events for a domain that appears
 * or dies) and dom0's {@code backend/vif} (a vif's backend made, its hotplug-status written, removed). Events that
 * come together are read as one, then the domains are read again from xenstore. If xenstored goes away, that is
 * logged and shown in health, and the connection is opened again every {@value #RECONNECT_MILLIS} ms.
 *
 * <p>At start (before the web server takes requests, in the phase of {@link DomainReconciliation}) the buffers a
 * previous run left (the plugin's recovery adopted them) are removed and the marked domains that run are buffered
 * anew: nothing checkpointed them while the server was down.
 */
@Component
@ConditionalOnHypervisor(Hypervisor.XEN)
public class XenDomainWatch implements SmartLifecycle {

    /** Which xenstore paths the watch covers, and the token of its events. */
    static final List<String> WATCHED = List.of("@introduceDomain", "@releaseDomain", "/local/domain/0/backend/vif");
    static final String TOKEN = "netbuf-server";
    static final int RECONNECT_MILLIS = 5_000;
    /** With no event for this long, xenstored is asked something, so that a dead one is noticed. */
    private static final int LIVENESS_MILLIS = 5_000;
    private static final int POLL_MILLIS = 500;
    /** Events within this time of each other are one change (xl writes many nodes per device). */
    private static final int SETTLE_MILLIS = 100;

    private static final Logger log = LoggerFactory.getLogger(XenDomainWatch.class);

    /** What the server announced to the plugin for a domain: its domid and vifs then. */
    private record Buffered(int domid, List<String> vifs) {
    }

    /** The connection to xenstored as health shows it. */
    public record Connection(boolean connected, Instant since, String problem) {
    }

    private final RemusMarks marks;
    private final NetbufService netbuf;
    private final XlRemusFollower follower;
    private final ApplicationEventPublisher events;

    private final Object lock = new Object();
    private Xenstore xenstore;
    private final Map<String, Buffered> buffered = new HashMap<>();
    private final Map<String, String> errors = new HashMap<>();
    private volatile List<XenDomains.Domain> seen = List.of();
    private volatile Connection connection = new Connection(false, Instant.now(), "not started");
    private volatile boolean running;
    private Thread thread;

    public XenDomainWatch(RemusMarks marks, NetbufService netbuf, XlRemusFollower follower,
                          ApplicationEventPublisher events) {
        this.marks = marks;
        this.netbuf = netbuf;
        this.follower = follower;
        this.events = events;
    }

    @Override
    public int getPhase() {
        return DomainReconciliation.PHASE;
    }

    /**
     * Connects and watches; fails the server's start if xenstored cannot be reached: in xen mode it has nothing
     * else to manage.
     */
    @Override
    public void start() {
        synchronized (lock) {
            try {
                connect();
            } catch (XenstoreException e) {
                throw new IllegalStateException("netbuf-server.hypervisor=xen needs a Xen dom0 with xenstored"
                        + " running and libxenstore (Debian package libxenstore4): " + e.getMessage(), e);
            }
            for (DomainStatus left : netbuf.statuses()) {
                log.info("xen: domain {} was buffered by the last run: its buffers are removed, then installed anew"
                        + " if it is marked and running", left.domain());
                stopping(left.domain(), "left from the last run", false);
            }
            reconcile();
        }
        running = true;
        thread = Thread.ofPlatform().name("xen-domain-watch").daemon().start(this::watchLoop);
    }

    /** Ends the watch and closes the connection. Buffers stay: the domains run on, {@code netbuf.on-shutdown} applies. */
    @Override
    public void stop() {
        running = false;
        if (thread != null) {
            try {
                thread.join(POLL_MILLIS * 4L);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                log.warn("xen: the watch thread did not end within {} ms", POLL_MILLIS * 4);
            }
        }
        synchronized (lock) {
            disconnect();
            connection = new Connection(false, Instant.now(), "stopped");
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Every domain Xen has (dom0 aside) as the watch last saw it, and every marked name Xen has no domain for. */
    public List<XenDomain> domains() {
        Set<String> marked = marks.names();
        Map<String, XenDomain> out = new TreeMap<>();
        synchronized (lock) {
            for (XenDomains.Domain d : seen) {
                boolean isBuffered = buffered.containsKey(d.name());
                out.put(d.name(), new XenDomain(d.name(), d.domid(), XenDomain.stateOf(d), d.vifs(),
                        marked.contains(d.name()), isBuffered, errors.get(d.name()),
                        isBuffered ? follower.status(d.name()).orElse(null) : null));
            }
            for (String name : marked) {
                out.putIfAbsent(name, new XenDomain(name, null, XenDomain.State.ABSENT, List.of(), true, false,
                        errors.get(name), null));
            }
        }
        return new ArrayList<>(out.values());
    }

    public Optional<XenDomain> domain(String name) {
        return domains().stream().filter(d -> d.name().equals(name)).findFirst();
    }

    public Connection connection() {
        return connection;
    }

    /** Marks {@code name} for Remus and buffers it at once if it runs; false if it was marked already. */
    public boolean mark(String name) {
        boolean changed = marks.mark(name);
        reconcileOrLog();
        return changed;
    }

    /** Unmarks {@code name} and removes its buffers at once; false if it was not marked. */
    public boolean unmark(String name) {
        boolean changed = marks.unmark(name);
        if (changed) {
            synchronized (lock) {
                errors.remove(name);
            }
        }
        reconcileOrLog();
        return changed;
    }

    private void reconcileOrLog() {
        synchronized (lock) {
            try {
                reconcile();
            } catch (RuntimeException e) {
                // the mark is recorded: the watch applies it once xenstored answers again
                log.warn("xen: cannot read the domains from xenstore now: {}", e.getMessage());
            }
        }
    }

    /**
     * Reads the domains and brings the buffers in line with them and the marks: first every announced domain that
     * is gone, renumbered, has other vifs or is unmarked is stopped, then every marked domain whose vifs are all
     * connected and that is not announced yet is started.
     */
    private void reconcile() {
        if (xenstore == null) {
            throw new XenstoreException("not connected to xenstored: " + connection.problem());
        }
        List<XenDomains.Domain> guests = new XenDomains(xenstore).guests();
        seen = guests;
        Set<String> marked = marks.names();
        Map<String, XenDomains.Domain> byName = new HashMap<>();
        guests.forEach(d -> byName.putIfAbsent(d.name(), d));
        for (Map.Entry<String, Buffered> b : List.copyOf(buffered.entrySet())) {
            XenDomains.Domain now = byName.get(b.getKey());
            boolean gone = now == null || now.domid() != b.getValue().domid();
            String why = now == null ? "domain " + b.getValue().domid() + " is gone"
                    : now.domid() != b.getValue().domid() ? "domid " + b.getValue().domid() + " is now " + now.domid()
                    : !marked.contains(b.getKey()) ? "unmarked"
                    : !vifNames(now).equals(b.getValue().vifs()) ? "vifs " + b.getValue().vifs() + " are now "
                            + vifNames(now)
                    : null;
            if (why != null) {
                buffered.remove(b.getKey());
                stopping(b.getKey(), why, gone);
            }
        }
        for (XenDomains.Domain d : guests) {
            if (marked.contains(d.name()) && !buffered.containsKey(d.name())
                    && XenDomain.stateOf(d) == XenDomain.State.CONNECTED) {
                started(d);
            }
        }
    }

    private void started(XenDomains.Domain d) {
        List<String> vifs = vifNames(d);
        if (vifs.isEmpty()) {
            errors.put(d.name(), "domain " + d.domid() + " has no vif to buffer");
            return;
        }
        try {
            events.publishEvent(RemusDomainStarted.followingXlRemus(d.name(), d.domid(), vifs));
            buffered.put(d.name(), new Buffered(d.domid(), vifs));
            errors.remove(d.name());
            log.info("xen: domain {} ({}) is marked and its vifs {} are connected: buffers installed", d.name(),
                    d.domid(), vifs);
        } catch (RuntimeException e) {
            errors.put(d.name(), "installing buffers on " + vifs + " failed: " + e.getMessage());
            log.error("xen: domain {} ({}): installing buffers on {} failed (tried again at the next change in"
                    + " xenstore): {}", d.name(), d.domid(), vifs, e.getMessage());
        }
    }

    /**
     * Removing buffers must not stop the watch: a failure is logged and shown with the domain. {@code gone}: the
     * domain they buffered is gone, and what they hold goes with it.
     */
    private void stopping(String name, String why, boolean gone) {
        try {
            events.publishEvent(new RemusDomainStopping(name, gone));
            log.info("xen: domain {}: {}: buffers removed{}", name, why, gone ? ", what they held dropped" : "");
        } catch (RuntimeException e) {
            errors.put(name, "removing buffers (" + why + ") failed: " + e.getMessage());
            log.error("xen: domain {}: {}: removing its buffers failed: {}", name, why, e.getMessage(), e);
        }
    }

    private static List<String> vifNames(XenDomains.Domain d) {
        return d.vifs().stream().map(XenDomains.Vif::name).toList();
    }

    private void watchLoop() {
        long quietSince = System.nanoTime();
        while (running) {
            try {
                Xenstore xs;
                synchronized (lock) {
                    xs = xenstore;
                }
                if (xs == null) {
                    reconnect();
                    continue;
                }
                if (xs.awaitEvent(POLL_MILLIS).isPresent()) {
                    long settleUntil = System.nanoTime() + 10L * SETTLE_MILLIS * 1_000_000;
                    while (xs.awaitEvent(SETTLE_MILLIS).isPresent() && System.nanoTime() < settleUntil) {
                        // read together with the first
                    }
                    synchronized (lock) {
                        reconcile();
                    }
                    quietSince = System.nanoTime();
                } else if (System.nanoTime() - quietSince > LIVENESS_MILLIS * 1_000_000L) {
                    xs.read("/local/domain/0/domid");
                    quietSince = System.nanoTime();
                }
            } catch (RuntimeException e) {
                if (!running) {
                    break;
                }
                synchronized (lock) {
                    log.error("xen: lost xenstored ({}): domains are not followed until it answers again; trying"
                            + " every {} ms", e.getMessage(), RECONNECT_MILLIS);
                    disconnect();
                    connection = new Connection(false, Instant.now(), "lost xenstored: " + e.getMessage());
                }
            }
        }
    }

    private void reconnect() {
        for (int waited = 0; running && waited < RECONNECT_MILLIS; waited += POLL_MILLIS) {
            sleep(POLL_MILLIS);
        }
        if (!running) {
            return;
        }
        synchronized (lock) {
            try {
                connect();
                reconcile();
                log.info("xen: xenstored answers again; domains followed again");
            } catch (RuntimeException e) {
                disconnect();
                connection = new Connection(false, connection.since(), "lost xenstored: " + e.getMessage());
            }
        }
    }

    private void connect() {
        Xenstore xs = Xenstore.open();
        try {
            for (String path : WATCHED) {
                xs.watch(path, TOKEN);
            }
        } catch (RuntimeException e) {
            xs.close();
            throw e;
        }
        xenstore = xs;
        connection = new Connection(true, Instant.now(), null);
    }

    private void disconnect() {
        if (xenstore != null) {
            try {
                xenstore.close();
            } catch (RuntimeException e) {
                log.debug("xen: closing the xenstore connection: {}", e.getMessage());
            }
            xenstore = null;
        }
    }

    private static void sleep(int millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
