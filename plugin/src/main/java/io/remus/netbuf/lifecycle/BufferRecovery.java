package io.remus.netbuf.lifecycle;

import io.remus.netbuf.lifecycle.BufferLifecycle.Rolled;
import io.remus.netbuf.lifecycle.BufferLifecycle.StepFailure;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.model.Transition;
import io.remus.netbuf.model.Transitions;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.IngressQdisc;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Link;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.RedirectFilter;
import io.remus.netbuf.netlink.TcHandle;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.JournalEntry.Outcome;
import io.remus.netbuf.persistence.JournalEntry.Topic;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Brings the kernel and the database back into agreement when the plugin starts:
 * <ol>
 *   <li>a buffer a crash interrupted (a step in flight, or a state between FREE and PLUGGED) is rolled back: a step
 *       that was in flight is taken as done, then every step is undone in reverse, write-ahead as always, tolerating
 *       objects already gone; it ends FREE, or FAILED with the reason;</li>
 *   <li>a PLUGGED or RELEASED buffer is checked against the kernel: whole, it is adopted; with objects missing, they
 *       are put back; with its vif or ifb gone, it is rolled back;</li>
 *   <li>a FAILED buffer that still holds its claims has what is left of its objects removed, and is cleared;</li>
 *   <li>ifbs our records say we created, and plug qdiscs with our handle on ifbs we used, that no live buffer owns
 *       are removed. Objects we did not create are never touched.</li>
 * </ol>
 * Every verdict is written to the buffer's journal.
 */
public class BufferRecovery {

    /** What one recovery did, buffer by buffer. */
    public record Report(List<String> lines, int rolledBack, int adopted, int repaired, int cleared, int orphans,
                         int failed) {
        public int total() {
            return rolledBack + adopted + repaired + cleared + orphans + failed;
        }
    }

    private final BufferLifecycle lifecycle;
    private final BufferStore store;
    private final BufferInstaller kernel;
    private final Netlink netlink;

    public BufferRecovery(BufferLifecycle lifecycle, BufferInstaller kernel) {
        this.lifecycle = lifecycle;
        this.store = lifecycle.store();
        this.kernel = kernel;
        this.netlink = kernel.netlink();
    }

    public Report recover() {
        Counts c = new Counts();
        for (BufferRecord b : store.interrupted()) {
            rollBackInterrupted(b, c);
        }
        for (BufferRecord b : store.all()) {
            if (!b.interrupted() && (b.state() == BufferState.PLUGGED || b.state() == BufferState.RELEASED)) {
                verify(b, c);
            }
        }
        for (BufferRecord b : store.holdingVif()) {
            if (b.state() == BufferState.FAILED) {
                clear(b, c);
            }
        }
        removeOrphans(c);
        return new Report(List.copyOf(c.lines), c.rolledBack, c.adopted, c.repaired, c.cleared, c.orphans, c.failed);
    }

    private void rollBackInterrupted(BufferRecord b, Counts c) {
        BufferRecord buffer = b;
        if (b.pendingStep() != null) {
            Transition t = Transitions.require(b.state(), b.pendingStep());
            // a step that makes something may have happened: count it as done so its object is undone with the
            // rest; a removal may not have: stay where we were and do it again (removals are idempotent)
            BufferState settled = b.pendingStep().takenAsDoneIfInFlight() ? t.target() : t.source();
            buffer = store.settle(b, settled, Outcome.INTERRUPTED, b.pendingStep().name(),
                    "in flight at restart; " + (settled == t.target() ? "taken as done, to be undone" : "to be redone"));
        }
        Rolled rolled = lifecycle.rollBack(List.of(buffer));
        StepFailure f = rolled.stuck().get(b.id());
        if (f == null) {
            c.rolledBack++;
            c.lines.add("buffer " + b.id() + " (" + b.vif() + "): interrupted in " + b.state()
                    + (b.pendingStep() == null ? "" : " during " + b.pendingStep()) + ", rolled back to FREE");
        } else {
            lifecycle.fail(rolled.buffers().getFirst(), f.step(), "recovery could not undo " + f.step() + ": "
                    + f.cause().getMessage(), false);
            c.failed++;
            c.lines.add("buffer " + b.id() + " (" + b.vif() + "): rollback failed at " + f.step() + ": "
                    + f.cause().getMessage());
        }
    }

    /** A resting PLUGGED or RELEASED buffer: adopt it, repair it, or roll it back if its devices are gone. */
    private void verify(BufferRecord b, Counts c) {
        Optional<Link> vif = netlink.findLink(InterfaceName.of(b.vif()));
        Optional<Link> ifb = netlink.findLink(InterfaceName.of(b.ifb()));
        if (vif.isEmpty() || ifb.isEmpty()) {
            String gone = vif.isEmpty() ? "vif " + b.vif() : "ifb " + b.ifb();
            store.note(b.id(), Topic.VERIFY, Outcome.UNDONE, b.state(), gone + " is gone: rolling back", null);
            rollBackInterrupted(b, c);
            return;
        }
        List<String> missing = new ArrayList<>();
        if (netlink.qdiscs(vif.get()).stream().noneMatch(q -> IngressQdisc.KIND.equals(q.kind()))) {
            missing.add("ingress");
        }
        List<RedirectFilter> filters = netlink.redirects(vif.get(), b.priority());
        Optional<RedirectFilter> filter = filters.stream().findFirst();
        boolean filterOk = filter.isPresent() && filter.get().ifb().index() == ifb.get().index()
                && filter.get().protocol() == b.protocol();
        if (!filterOk) {
            missing.add(filter.isPresent() ? "redirect (to the wrong ifb)" : "redirect");
        }
        // ours, from an earlier version whose key runt frames were too short for
        Optional<RedirectFilter> oldKey = filterOk
                ? filters.stream().filter(f -> !f.holdsEveryFrame()).findFirst() : Optional.empty();
        PlugQdisc plug = new PlugQdisc(ifb.get(), new TcHandle(b.plugHandle()), b.limitBytes());
        if (netlink.plugStats(plug).isEmpty()) {
            missing.add("plug");
        }
        if (missing.isEmpty() && oldKey.isEmpty()) {
            store.note(b.id(), Topic.VERIFY, Outcome.ADOPTED, b.state(), "ingress, redirect and plug found as recorded", null);
            c.adopted++;
            c.lines.add("buffer " + b.id() + " (" + b.vif() + "): adopted in " + b.state());
            return;
        }
        List<String> repairs = new ArrayList<>();
        if (!missing.isEmpty()) {
            repairs.add("put back: " + String.join(", ", missing));
        }
        oldKey.ifPresent(f -> repairs.add("redirect filter upgraded in place to hold runt frames (u32 key at "
                + RedirectFilter.KEY_OFFSET + ", was at " + f.keyOffset() + ")"));
        String repaired = String.join("; ", repairs);
        try {
            InterfaceName vifName = InterfaceName.of(b.vif());
            InterfaceName ifbName = InterfaceName.of(b.ifb());
            if (missing.contains("ingress")) {
                kernel.addIngress(vifName);
            }
            if (!filterOk) {
                kernel.removeRedirect(vifName, b.protocol(), b.priority());
                kernel.addRedirect(vifName, ifbName, b.protocol(), b.priority());
            }
            if (oldKey.isPresent()) {
                kernel.upgradeRedirect(vifName, b.priority());
            }
            if (missing.contains("plug")) {
                kernel.addPlug(ifbName, plug.handle(), b.limitBytes());
            }
            store.note(b.id(), Topic.VERIFY, Outcome.REPAIRED, b.state(), repaired, null);
            c.repaired++;
            c.lines.add("buffer " + b.id() + " (" + b.vif() + "): repaired: " + repaired);
        } catch (RuntimeException e) {
            store.note(b.id(), Topic.VERIFY, Outcome.FAILED, b.state(), "repair failed (" + repaired + "): rolling back",
                    e.getMessage());
            rollBackInterrupted(b, c);
        }
    }

    /** A FAILED buffer that kept its claims: remove what is left of its objects, then FAILED → CLEARED → FREE. */
    private void clear(BufferRecord b, Counts c) {
        try {
            lifecycle.clear(b);
            c.cleared++;
            c.lines.add("buffer " + b.id() + " (" + b.vif() + "): failed buffer cleared");
        } catch (NetbufException e) {
            c.failed++;
            c.lines.add("buffer " + b.id() + " (" + b.vif() + "): could not clear: " + e.getCause().getMessage());
        }
    }

    /** ifbs we created, and our plug qdiscs on pool ifbs we used, that no live buffer holds. */
    private void removeOrphans(Counts c) {
        Set<String> claimed = store.claimedIfbs();
        Set<String> created = store.createdIfbs();
        for (Link ifb : netlink.ifbLinks()) {
            String name = ifb.name().value();
            if (claimed.contains(name)) {
                continue;
            }
            if (created.contains(name)) {
                netlink.deleteLink(ifb);
                noteOrphan(name, "deleted ifb " + name + " (created by this plugin, held by no buffer)", c);
            } else {
                PlugQdisc ours = PlugQdisc.on(ifb, PlugQdisc.DEFAULT_LIMIT_BYTES);
                if (usedByUs(name) && netlink.plugStats(ours).isPresent()) {
                    netlink.plugReleaseIndefinite(ours);
                    netlink.deletePlug(ours);
                    noteOrphan(name, "deleted plug " + ours.handle() + " on pool ifb " + name + " (held by no buffer)", c);
                }
            }
        }
    }

    private boolean usedByUs(String ifb) {
        return store.all().stream().anyMatch(b -> ifb.equals(b.ifb()));
    }

    private void noteOrphan(String ifb, String what, Counts c) {
        store.all().stream().filter(b -> ifb.equals(b.ifb())).reduce((first, second) -> second).ifPresent(b ->
                store.note(b.id(), Topic.ORPHAN, Outcome.REMOVED, b.state(), what, null));
        c.orphans++;
        c.lines.add(what);
    }

    private static final class Counts {
        final List<String> lines = new ArrayList<>();
        int rolledBack;
        int adopted;
        int repaired;
        int cleared;
        int orphans;
        int failed;
    }
}
