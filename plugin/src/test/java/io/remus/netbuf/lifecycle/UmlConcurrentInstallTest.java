package io.remus.netbuf.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.IfbMode;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.KernelFixture;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * 64 installs at once on 64 vifs (user-mode-linux, H2 file database): no ifb is ever shared, and every buffer ends
 * PLUGGED or cleanly FAILED with nothing of it left in the kernel.
 */
@Tag("uml-guest")
class UmlConcurrentInstallTest {

    static final int VIFS = 64;

    KernelFixture kernel;
    BufferStore store;
    List<String> vifs;

    @BeforeEach
    void setUp() {
        kernel = KernelFixture.withVifs();
        vifs = IntStream.range(0, VIFS).mapToObj(i -> "vif" + (100 + i) + ".0").toList();
        kernel.ns().addVifs(vifs, "eth");
        store = new BufferStore(TestDatabase.h2File("uml-concurrent"));
    }

    @AfterEach
    void tearDown() {
        kernel.close();
    }

    @Test
    void createModeGivesEveryBufferItsOwnIfb() throws Exception {
        BufferLifecycle lifecycle = lifecycle(IfbMode.CREATE);
        List<Object> outcomes = installAll(lifecycle);
        assertThat(outcomes).allSatisfy(o -> assertThat(o).isInstanceOf(BufferRecord.class));
        assertEveryPluggedBufferOwnsItsIfb();
        assertThat(store.all()).extracting(BufferRecord::state).containsOnly(BufferState.PLUGGED);

        teardownAll(lifecycle);
        kernel.assertNoBufferObjects(vifs.toArray(String[]::new));
        assertThat(store.claimedIfbs()).isEmpty();
    }

    @Test
    void poolModeWithTooFewIfbsPlugsWhatItCanAndFailsTheRestCleanly() throws Exception {
        List<String> pool = IntStream.range(0, 48).mapToObj(i -> "ifb" + i).toList();
        kernel.ns().addIfbs(pool);
        BufferLifecycle lifecycle = lifecycle(IfbMode.POOL);
        List<Object> outcomes = installAll(lifecycle);

        List<BufferRecord> all = store.all();
        assertThat(all).filteredOn(b -> b.state() == BufferState.PLUGGED).hasSize(48);
        assertThat(all).filteredOn(b -> b.state() == BufferState.FAILED).hasSize(16)
                .allSatisfy(b -> assertThat(b.lastError()).contains("no free ifb"));
        assertThat(outcomes).filteredOn(o -> o instanceof Exception).hasSize(16);
        assertEveryPluggedBufferOwnsItsIfb();
        for (BufferRecord failed : all) {
            if (failed.state() == BufferState.FAILED) {
                assertThat(kernel.ns().qdisc(failed.vif(), "ingress")).as("nothing left on %s", failed.vif()).isEmpty();
            }
        }

        teardownAll(lifecycle);
        assertThat(kernel.ns().linksOfType("ifb")).as("pool ifbs stay").hasSize(48);
        for (String ifb : pool) {
            assertThat(kernel.ns().qdisc(ifb, "plug")).as("no plug left on %s", ifb).isEmpty();
        }
        for (String vif : vifs) {
            assertThat(kernel.ns().qdisc(vif, "ingress")).isEmpty();
        }
    }

    private BufferLifecycle lifecycle(IfbMode mode) {
        return new BufferLifecycle(store, new BufferInstaller(kernel.netlink()),
                NetbufSettings.defaults().withIfbMode(mode), FaultInjection.none());
    }

    /** All 64 installs released at the same instant; returns each one's record or exception. */
    private List<Object> installAll(BufferLifecycle lifecycle) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(VIFS);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Object>> futures = new ArrayList<>();
            for (int i = 0; i < VIFS; i++) {
                String vif = vifs.get(i);
                String domain = "dom" + (100 + i);
                futures.add(pool.submit(() -> {
                    start.await();
                    try {
                        return lifecycle.install(domain, InterfaceName.of(vif));
                    } catch (NetbufException e) {
                        return e;
                    }
                }));
            }
            start.countDown();
            List<Object> outcomes = new ArrayList<>();
            for (Future<Object> f : futures) {
                outcomes.add(f.get());
            }
            return outcomes;
        } finally {
            pool.shutdownNow();
        }
    }

    private void teardownAll(BufferLifecycle lifecycle) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<BufferRecord>> futures = new ArrayList<>();
            for (BufferRecord b : store.all()) {
                if (b.state() == BufferState.PLUGGED) {
                    futures.add(pool.submit(() -> lifecycle.teardown(b.id())));
                }
            }
            for (Future<BufferRecord> f : futures) {
                assertThat(f.get().state()).isEqualTo(BufferState.FREE);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Each PLUGGED buffer's vif redirects to its own ifb, which has a plug root, and no two share an ifb. */
    private void assertEveryPluggedBufferOwnsItsIfb() {
        Map<String, Long> owner = new HashMap<>();
        for (BufferRecord b : store.all()) {
            if (b.state() != BufferState.PLUGGED) {
                continue;
            }
            assertThat(owner.put(b.ifb(), b.id())).as("ifb %s shared", b.ifb()).isNull();
            assertThat(kernel.ns().ingressFilters(b.vif())).singleElement().satisfies(f ->
                    assertThat(f.get("options").get("actions").get(0).get("to_dev").asText()).isEqualTo(b.ifb()));
            assertThat(kernel.ns().qdisc(b.ifb(), "plug")).as("plug on %s", b.ifb()).isPresent();
        }
    }
}
