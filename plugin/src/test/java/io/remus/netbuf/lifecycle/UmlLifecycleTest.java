package io.remus.netbuf.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.KernelFixture;
import io.remus.netbuf.netlink.PlugControl;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.Sh;
import io.remus.netbuf.netlink.Wire;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.JournalEntry;
import io.remus.netbuf.persistence.JournalEntry.Outcome;
import java.util.List;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The persisted lifecycle and recovery on a kernel with sch_plug (user-mode-linux), with an H2 file database. */
@Tag("uml-guest")
class UmlLifecycleTest {

    KernelFixture kernel;
    DataSource db;
    BufferStore store;
    BufferLifecycle lifecycle;

    @BeforeEach
    void setUp() {
        kernel = KernelFixture.withVifs("vif7.0", "vif8.0");
        db = TestDatabase.h2File("uml-lifecycle");
        store = new BufferStore(db);
        lifecycle = lifecycle(store);
    }

    BufferLifecycle lifecycle(BufferStore s) {
        return new BufferLifecycle(s, new BufferInstaller(kernel.netlink()), NetbufSettings.defaults(),
                FaultInjection.none());
    }

    /** A new process on the same database: a fresh store, lifecycle and recovery. */
    BufferRecovery.Report restart() {
        BufferStore fresh = new BufferStore(db);
        return new BufferRecovery(lifecycle(fresh), new BufferInstaller(kernel.netlink())).recover();
    }

    @AfterEach
    void tearDown() {
        kernel.close();
    }

    @Test
    void installReleaseTeardownEachStepJournaled() {
        BufferRecord b = lifecycle.install("dom7", InterfaceName.of("vif7.0"));
        assertThat(b.state()).isEqualTo(BufferState.PLUGGED);
        String ifb = "nbifb" + b.id();
        assertThat(kernel.ns().qdisc(ifb, "plug")).isPresent();
        assertThat(kernel.ns().ingressFilters("vif7.0")).singleElement()
                .satisfies(f -> assertThat(f.get("options").get("actions").get(0).get("to_dev").asText()).isEqualTo(ifb));

        assertThat(lifecycle.release(b.id()).state()).isEqualTo(BufferState.RELEASED);
        assertThat(lifecycle.teardown(b.id()).state()).isEqualTo(BufferState.FREE);
        kernel.assertNoBufferObjects("vif7.0");
        assertThat(store.claimedIfbs()).isEmpty();
        assertThat(store.holdingVif()).isEmpty();
        assertThat(steps(b)).containsExactly(
                "ACQUIRE_IFB INTENT", "ACQUIRE_IFB DONE", "ADD_INGRESS INTENT", "ADD_INGRESS DONE",
                "ADD_REDIRECT INTENT", "ADD_REDIRECT DONE", "ADD_PLUG INTENT", "ADD_PLUG DONE",
                "RELEASE INTENT", "RELEASE DONE",
                "REMOVE_PLUG INTENT", "REMOVE_PLUG DONE", "REMOVE_REDIRECT INTENT", "REMOVE_REDIRECT DONE",
                "REMOVE_INGRESS INTENT", "REMOVE_INGRESS DONE", "RELEASE_IFB INTENT", "RELEASE_IFB DONE");
        // the vif is free again: a new buffer can take it
        BufferRecord again = lifecycle.install("dom7", InterfaceName.of("vif7.0"));
        assertThat(again.state()).isEqualTo(BufferState.PLUGGED);
        assertThat(lifecycle.teardown(again.id()).state()).isEqualTo(BufferState.FREE);
    }

    /**
     * A domain's two vifs installed and stopped together: each step one batch for both, so their journals
     * interleave step by step; each buffer has one living machine while it lives, and a new process restores it
     * from the row when it first needs it.
     */
    @Test
    void aDomainsVifsMoveTogetherEachWithOneLivingMachine() {
        List<BufferRecord> domain = lifecycle.install("dom7", List.of(InterfaceName.of("vif7.0"),
                InterfaceName.of("vif8.0")));
        assertThat(domain).extracting(BufferRecord::state).containsOnly(BufferState.PLUGGED);
        assertThat(lifecycle.livingMachines()).isEqualTo(2);
        // one transaction per step for both: the intents of both, then the outcomes of both
        List<JournalEntry> lines = new java.util.ArrayList<>(store.journal(domain.get(0).id()));
        lines.addAll(store.journal(domain.get(1).id()));
        lines.sort(java.util.Comparator.comparingLong(JournalEntry::id));
        assertThat(lines).extracting(e -> e.step() + " " + e.outcome()).startsWith(
                "ACQUIRE_IFB INTENT", "ACQUIRE_IFB INTENT", "ACQUIRE_IFB DONE", "ACQUIRE_IFB DONE",
                "ADD_INGRESS INTENT", "ADD_INGRESS INTENT", "ADD_INGRESS DONE", "ADD_INGRESS DONE");

        // a new process: no machine until a buffer is used, then the one restored from its row
        BufferLifecycle afterRestart = lifecycle(new BufferStore(db));
        assertThat(afterRestart.livingMachines()).isZero();
        assertThat(afterRestart.release(domain.get(0).id()).state()).isEqualTo(BufferState.RELEASED);
        assertThat(afterRestart.livingMachines()).isEqualTo(1);

        List<BufferRecord> stopped = afterRestart.teardown(List.of(store.find(domain.get(0).id()).orElseThrow(),
                store.find(domain.get(1).id()).orElseThrow()), false);
        assertThat(stopped).extracting(BufferRecord::state).containsOnly(BufferState.FREE);
        assertThat(afterRestart.livingMachines()).isZero();
        kernel.assertNoBufferObjects("vif7.0");
        kernel.assertNoBufferObjects("vif8.0");
    }

    @Test
    void teardownFromPluggedPassesThroughReleased() {
        BufferRecord b = lifecycle.install("dom7", InterfaceName.of("vif7.0"));
        lifecycle.teardown(b.id());
        assertThat(store.journal(b.id())).filteredOn(e -> e.outcome() == Outcome.DONE)
                .extracting(JournalEntry::toState).containsSubsequence("PLUGGED", "RELEASED", "REDIRECTED", "FREE");
    }

    @Test
    void recoveryAdoptsAWholeBuffer() {
        BufferRecord b = lifecycle.install("dom7", InterfaceName.of("vif7.0"));
        BufferRecovery.Report report = restart();
        assertThat(report.adopted()).isEqualTo(1);
        assertThat(report.total()).isEqualTo(1);
        assertThat(store.find(b.id()).orElseThrow().state()).isEqualTo(BufferState.PLUGGED);
        assertThat(kernel.ns().qdisc("nbifb" + b.id(), "plug")).isPresent();
        assertThat(store.journal(b.id()).getLast().outcome()).isEqualTo(Outcome.ADOPTED);
    }

    @Test
    void recoveryPutsBackWhatWentMissing() {
        BufferRecord b = lifecycle.install("dom7", InterfaceName.of("vif7.0"));
        String ifb = "nbifb" + b.id();
        Sh.run("tc", "-n", kernel.ns().name, "qdisc", "del", "dev", ifb, "root");
        Sh.run("tc", "-n", kernel.ns().name, "filter", "del", "dev", "vif7.0", "ingress");
        BufferRecovery.Report report = restart();
        assertThat(report.repaired()).isEqualTo(1);
        assertThat(kernel.ns().qdisc(ifb, "plug")).isPresent();
        assertThat(kernel.ns().ingressFilters("vif7.0")).hasSize(1);
        JournalEntry last = store.journal(b.id()).getLast();
        assertThat(last.outcome()).isEqualTo(Outcome.REPAIRED);
        assertThat(last.detail()).contains("redirect").contains("plug").doesNotContain("ingress");
        assertThat(restart().adopted()).isEqualTo(1);
    }

    /**
     * A buffer whose filter an earlier version added, with the key runt frames are too short for: recovery
     * upgrades it in place, keeps the buffer's priority and protocol, and from then on runts are held too.
     */
    @Test
    void recoveryUpgradesTheFilterOfAnEarlierVersionInPlace() throws Exception {
        BufferRecord b = lifecycle.install("dom7", InterfaceName.of("vif7.0"));
        String ifb = "nbifb" + b.id();
        Sh.run("tc", "-n", kernel.ns().name, "filter", "del", "dev", "vif7.0", "ingress");
        kernel.ns().addOldRedirect("vif7.0", "all", ifb);

        BufferRecovery.Report report = restart();
        assertThat(report.repaired()).isEqualTo(1);
        assertThat(report.total()).isEqualTo(1);
        JournalEntry last = store.journal(b.id()).getLast();
        assertThat(last.outcome()).isEqualTo(Outcome.REPAIRED);
        assertThat(last.detail()).isEqualTo("redirect filter upgraded in place to hold runt frames (u32 key at -4,"
                + " was at 0)");
        BufferRecord after = store.find(b.id()).orElseThrow();
        assertThat(after.state()).isEqualTo(BufferState.PLUGGED);
        assertThat(after.priority()).isEqualTo(b.priority());
        assertThat(after.protocol()).isEqualTo(b.protocol());
        assertThat(kernel.ns().ingressFilters("vif7.0")).singleElement().satisfies(f -> {
            assertThat(f.get("protocol").asText()).isEqualTo("all");
            assertThat(f.get("pref").asInt()).isEqualTo(b.priority());
            assertThat(f.get("options").get("match").get("off").asInt()).isEqualTo(-4);
            assertThat(f.get("options").get("actions").get(0).get("to_dev").asText()).isEqualTo(ifb);
        });

        List<Integer> runts = Wire.RUNTS;
        PlugQdisc plug = PlugQdisc.on(kernel.netlink().link(InterfaceName.of(ifb)), b.limitBytes());
        try (Wire wire = new Wire(kernel.ns(), "vif7.0", "eth0");
             PlugControl control = kernel.netlink().openPlugControl(plug)) {
            control.buffer(); // epoch 1 begins
            wire.send(1, 0, runts);
            KernelFixture.awaitBacklog(kernel.netlink(), plug, runts.size());
            assertThat(wire.drain()).as("runts of an unacknowledged epoch stay in the plug").isEmpty();
            control.buffer(); // it closes
            control.releaseOne(); // and is acknowledged
            assertThat(wire.await(runts.size(), 10_000)).extracting(Wire.Frame::seq)
                    .containsExactlyElementsOf(IntStream.range(0, runts.size()).boxed().toList());
        }
        assertThat(restart().adopted()).isEqualTo(1);
    }

    @Test
    void recoveryRollsBackABufferWhoseVifIsGone() {
        BufferRecord b = lifecycle.install("dom7", InterfaceName.of("vif7.0"));
        kernel.ns().deleteLink("vif7.0");
        BufferRecovery.Report report = restart();
        assertThat(report.rolledBack()).isEqualTo(1);
        assertThat(store.find(b.id()).orElseThrow().state()).isEqualTo(BufferState.FREE);
        assertThat(kernel.ns().linksOfType("ifb")).isEmpty();
        assertThat(store.holdingVif()).isEmpty();
    }

    @Test
    void recoveryRemovesOurOrphansAndNeverTouchesOthers() {
        BufferRecord b = lifecycle.install("dom7", InterfaceName.of("vif7.0"));
        lifecycle.teardown(b.id());
        String ours = "nbifb" + b.id();
        // our ifb comes back with no buffer holding it (as after a crash between kernel step and outcome in an
        // older run); beside it, an ifb and an ingress qdisc that are not ours
        Sh.run("ip", "-n", kernel.ns().name, "link", "add", ours, "type", "ifb");
        Sh.run("ip", "-n", kernel.ns().name, "link", "add", "ifb9", "type", "ifb");
        Sh.run("tc", "-n", kernel.ns().name, "qdisc", "add", "dev", "vif8.0", "ingress");
        BufferRecovery.Report report = restart();
        assertThat(report.orphans()).isEqualTo(1);
        assertThat(kernel.ns().linksOfType("ifb")).containsExactly("ifb9");
        assertThat(kernel.ns().qdisc("vif8.0", "ingress")).isPresent();
        assertThat(store.journal(b.id()).getLast().outcome()).isEqualTo(Outcome.REMOVED);
    }

    private List<String> steps(BufferRecord b) {
        return store.journal(b.id()).stream().map(e -> e.step() + " " + e.outcome()).toList();
    }
}
