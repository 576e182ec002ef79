package io.remus.netbuf.xlremus;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.remus.netbuf.autoconfigure.NetbufAutoConfiguration;
import io.remus.netbuf.events.RemusDomainStarted;
import io.remus.netbuf.events.RemusDomainStopping;
import io.remus.netbuf.netlink.KernelFixture;
import io.remus.netbuf.netlink.Wire;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.DomainProtection;
import io.remus.netbuf.persistence.JournalEntry;
import io.remus.netbuf.persistence.NetbufDatabase;
import io.remus.netbuf.service.NetbufService;
import io.remus.netbuf.xenstore.Xenstore;
import io.remus.netbuf.xenstore.XenstoreConnection;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The follower's rule with real plugs and real frames (UML's sch_plug, the Wire topology): the suspend requests and
 * the guest's acks are played by a scripted xenstore (with real Xen: {@code XlRemusFailoverDom0Test}); the rest is
 * the production path: {@code RemusDomainStarted.followingXlRemus}, the auto-configured service and listener, the
 * follower's own thread. Each request releases the epoch closed at the one before and closes the open one; a close
 * after which the guest has already acknowledged holds its epoch one request longer; a request seen only after its
 * ack is not followed; a domain whose requests stop is failed over at its deadline and resumed by the next request;
 * a domain that is gone takes its held frames with it.
 */
@Tag("uml-guest")
class UmlXlRemusFollowerTest {

    static final int DOMID = 7;
    static final String PATH = "/local/domain/7/control/shutdown";
    static final long QUIET_MS = 400;
    /** Longer than this test's requests take to follow one another in UML, even on a busy machine. */
    static final long DEADLINE_MS = 6000;
    static ScriptedXenstore xenstore;

    KernelFixture kernel;
    ApplicationContextRunner runner;

    /** The follower on the scripted xenstore, in place of the auto-configured one on xenstored. */
    @Configuration(proxyBeanMethods = false)
    static class ScriptedFollower {
        @Bean(destroyMethod = "close")
        XlRemusFollower netbufXlRemusFollower(NetbufService service, MeterRegistry meters) {
            // late only by the guest's ack here: UML's closes take longer than the 50 ms of the default
            return new XlRemusFollower(service, () -> xenstore, meters, java.time.Duration.ofSeconds(5));
        }
    }

    @BeforeEach
    void setUp() {
        kernel = KernelFixture.withVifs("vif7.0");
        xenstore = new ScriptedXenstore();
        String db = NetbufDatabase.h2FileUrl(Path.of("target", "h2", "uml-xl-remus-" + System.nanoTime()));
        runner = new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, NetbufAutoConfiguration.class))
                .withUserConfiguration(ScriptedFollower.class)
                .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                .withPropertyValues("spring.datasource.url=" + db, "netbuf.enabled=true",
                        "netbuf.namespace=" + kernel.ns().file(),
                        "netbuf.checkpoint.ack-timeout=" + DEADLINE_MS + "ms");
    }

    @AfterEach
    void tearDown() {
        kernel.close();
    }

    @Test
    void eachRequestReleasesTheEpochBeforeALateCloseHoldsOneMoreAndAGoneDomainDropsItsOutput() {
        runner.run(context -> {
            context.publishEvent(RemusDomainStarted.followingXlRemus("dom7", DOMID, List.of("vif7.0")));
            XlRemusFollower follower = context.getBean(XlRemusFollower.class);
            NetbufService service = context.getBean(NetbufService.class);
            assertThat(xenstore.watched).containsKey(PATH);
            try (Wire wire = new Wire(kernel.ns(), "vif7.0", "eth0")) {
                wire.send(0, 0, 5, 200);
                assertThat(seqs(wire.await(5, 5_000))).as("before the first request nothing is held")
                        .isEqualTo(range(0, 5));

                // the guest acknowledges each request only after the follower's close is done, except at request 4
                xenstore.request(); // 1: closes epoch 0 (nothing held), epoch 1 open
                await(follower, s -> s.checkpoints() == 1);
                xenstore.ack();
                wire.send(1, 10, 5, 200);
                xenstore.request(); // 2: nothing awaits release; epoch 1 closed
                await(follower, s -> s.checkpoints() == 2);
                xenstore.ack();
                assertThat(wire.await(1, QUIET_MS)).as("epoch 1, closed at request 2: held").isEmpty();
                wire.send(2, 20, 5, 200);
                xenstore.request(); // 3: its checkpoint committed, libxl asks again: epoch 1 out, epoch 2 closed
                assertThat(seqs(wire.await(5, 5_000))).isEqualTo(range(10, 15));
                await(follower, s -> s.checkpoints() == 3); // an ack before the close is done would make it late
                xenstore.ack();
                assertThat(wire.await(1, QUIET_MS)).as("epoch 2: held").isEmpty();

                wire.send(3, 30, 5, 200);
                xenstore.ackDuringTheNextClose = true;
                xenstore.request(); // 4: epoch 2 out; epoch 3 closed, but the guest acknowledged meanwhile: late
                assertThat(seqs(wire.await(5, 5_000))).isEqualTo(range(20, 25));
                await(follower, s -> s.lateCloses() == 1);
                wire.send(4, 40, 5, 200); // the guest may have resumed before the close: these may be in epoch 3
                xenstore.request(); // 5: held over, no checkpoint: epoch 3 waits for its own commit
                await(follower, s -> s.heldOver() == 1);
                assertThat(wire.await(1, QUIET_MS)).as("the late epoch 3 at request 5: held one more").isEmpty();
                xenstore.ack();
                xenstore.request(); // 6: epoch 3 out; the open epoch (40..) closed
                assertThat(seqs(wire.await(5, 5_000))).isEqualTo(range(30, 35));
                await(follower, s -> s.checkpoints() == 5);
                xenstore.ack();

                xenstore.missedRequest(); // request and ack both written before the follower read: not followed
                await(follower, s -> s.missed() == 1);
                assertThat(wire.await(1, QUIET_MS)).as("a missed request releases nothing").isEmpty();
                xenstore.request(); // 8: the epoch with 40.. out
                assertThat(seqs(wire.await(5, 5_000))).isEqualTo(range(40, 45));
                await(follower, x -> x.requests() == 7 && x.checkpoints() == 6);
                xenstore.ack();
                XlRemusFollower.Status s = follower.status("dom7").orElseThrow();
                assertThat(s.lateCloses()).isEqualTo(1);
                assertThat(s.heldOver()).isEqualTo(1);
                assertThat(s.missed()).isEqualTo(1);
                assertThat(s.holdP50Millis()).isPositive();
                assertThat(context.getBean(MeterRegistry.class).counter("netbuf.xl_remus.checkpoints").count())
                        .isEqualTo(6);

                assertThat(service.protection("dom7").state()).as("no deadline passed so far")
                        .isEqualTo(DomainProtection.State.PROTECTED);
                assertThat(service.protection("dom7").failovers()).isZero();

                // the requests stop (xl killed): the deadline lets the open epoch out; the next request resumes
                wire.send(9, 90, 5, 200);
                assertThat(seqs(wire.await(5, DEADLINE_MS + 3_000))).isEqualTo(range(90, 95));
                assertThat(service.protection("dom7").state()).isEqualTo(DomainProtection.State.UNPROTECTED);
                xenstore.request();
                await(follower, x -> x.resumes() == 1);
                assertThat(service.protection("dom7").state()).isEqualTo(DomainProtection.State.PROTECTED);
                xenstore.ack();
                wire.send(10, 100, 5, 200);
                assertThat(wire.await(1, QUIET_MS)).as("protected again: held").isEmpty();

                // the domain is gone: its held frames go with it
                context.publishEvent(new RemusDomainStopping("dom7", true));
                assertThat(wire.await(1, QUIET_MS * 2)).as("a gone domain's held frames are dropped").isEmpty();
                assertThat(xenstore.watched).doesNotContainKey(PATH);
                BufferStore store = context.getBean(BufferStore.class);
                long id = store.all().stream().filter(b -> b.domain().equals("dom7")).findFirst().orElseThrow().id();
                assertThat(store.journal(id)).filteredOn(j -> j.step().equals("RELEASE"))
                        .as("released only by the deadline's failover, not at the teardown")
                        .extracting(JournalEntry::outcome).containsExactly(JournalEntry.Outcome.INTENT,
                                JournalEntry.Outcome.DONE);
                assertThat(wire.snifferDrops()).isZero();
            }
            kernel.assertNoBufferObjects("vif7.0");
        });
    }

    static void await(XlRemusFollower follower, Predicate<XlRemusFollower.Status> condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (follower.status("dom7").filter(condition).isEmpty()) {
            assertThat(System.nanoTime()).as("the follower: %s", follower.status("dom7")).isLessThan(deadline);
            Thread.onSpinWait();
        }
    }

    static List<Integer> seqs(List<Wire.Frame> frames) {
        return frames.stream().map(Wire.Frame::seq).toList();
    }

    static List<Integer> range(int from, int to) {
        return IntStream.range(from, to).boxed().toList();
    }

    /** control/shutdown of domain 7 as libxl and the guest write it, one watch event per write. */
    static final class ScriptedXenstore implements XenstoreConnection {
        final Map<String, String> watched = new ConcurrentHashMap<>();
        final BlockingQueue<Xenstore.Event> events = new LinkedBlockingQueue<>();
        volatile String value = "";
        /** The next read that finds the request turns it into the ack: the guest acknowledges during the close. */
        volatile boolean ackDuringTheNextClose;

        void request() {
            write("suspend");
        }

        void ack() {
            write("");
        }

        void missedRequest() {
            write("");
            put("");
        }

        /** Writes counted, and the count the last read saw: a write waits until the one before it was read. */
        private final java.util.concurrent.atomic.AtomicLong writes = new java.util.concurrent.atomic.AtomicLong();
        private volatile long readAt;

        private void write(String v) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (readAt < writes.get() || !events.isEmpty()) { // libxl and the guest are slower than a read
                assertThat(System.nanoTime()).as("the follower reads the last write").isLessThan(deadline);
                Thread.onSpinWait();
            }
            put(v);
        }

        private void put(String v) {
            value = v;
            writes.incrementAndGet();
            events.add(new Xenstore.Event(PATH, watched.get(PATH)));
        }

        @Override
        public Optional<String> read(String path) {
            String v = value;
            readAt = writes.get();
            if (v.equals("suspend") && ackDuringTheNextClose) {
                ackDuringTheNextClose = false;
                put("");
            }
            return path.equals(PATH) ? Optional.of(v) : Optional.empty();
        }

        @Override
        public void watch(String path, String token) {
            watched.put(path, token);
            events.add(new Xenstore.Event(path, token)); // a watch fires once when set
        }

        @Override
        public void unwatch(String path, String token) {
            watched.remove(path);
        }

        @Override
        public Optional<Xenstore.Event> awaitEvent(int timeoutMillis) {
            try {
                return Optional.ofNullable(events.poll(timeoutMillis, TimeUnit.MILLISECONDS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }

        @Override
        public void close() {
        }
    }
}
