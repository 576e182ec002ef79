package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.remus.netbuf.model.BufferEvent;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link BufferInstaller#run} batched, on the running kernel (with or without sch_plug) for a domain of
 * 8 veth vifs in a namespace of the test's own: each step's requests for all buffers go out in one sendmsg, every
 * object is there (as {@code ip}/{@code tc} see it), and a buffer whose vif is gone, or whose request the kernel
 * refuses, comes back failed with the error its single method throws, or as "gone" for a removal, while the
 * others go through.
 */
@Tag("host-kernel")
class HostBatchStepTest extends NamespaceTest {

    static final int N = 8;
    static final int MIDDLE = 3;

    static List<String> vifs() {
        return IntStream.range(0, N).mapToObj(i -> "vif9." + i).toList();
    }

    static List<BufferObjects> buffers() {
        return IntStream.range(0, N).mapToObj(i -> new BufferObjects(InterfaceName.of("vif9." + i),
                InterfaceName.of("nbifb" + i), true, RedirectFilter.ETH_P_ALL, RedirectFilter.DEFAULT_PRIORITY,
                PlugQdisc.DEFAULT_HANDLE, PlugQdisc.DEFAULT_LIMIT_BYTES)).toList();
    }

    BufferInstaller installer() {
        return new BufferInstaller(netlink);
    }

    List<StepOutcome> run(BufferEvent step) {
        return installer().run(step, buffers());
    }

    static void allDone(List<StepOutcome> outcomes, BufferEvent step) {
        assertThat(outcomes).as("%s", step).hasSize(N).allSatisfy(o -> {
            assertThat(o.failure()).as("%s", step).isNull();
            assertThat(o.note()).as("%s", step).isNull();
        });
    }

    /** The buffer at {@code index} failed with exactly the message of {@code single}; every other one is done. */
    static void onlyFails(List<StepOutcome> outcomes, int index, Runnable single) {
        for (int i = 0; i < N; i++) {
            if (i == index) {
                assertThat(outcomes.get(i).ok()).as("buffer %d", i).isFalse();
                RuntimeException failure = outcomes.get(i).failure();
                assertThatThrownBy(single::run).as("the single call for buffer %d", i)
                        .isExactlyInstanceOf(failure.getClass()).hasMessage(failure.getMessage());
            } else {
                assertThat(outcomes.get(i).failure()).as("buffer %d", i).isNull();
            }
        }
    }

    static void onlyGone(List<StepOutcome> outcomes, int index, String note) {
        for (int i = 0; i < N; i++) {
            assertThat(outcomes.get(i).failure()).as("buffer %d", i).isNull();
            assertThat(outcomes.get(i).note()).as("buffer %d", i).isEqualTo(i == index ? note : null);
        }
    }

    /** How many requests (sendmsg calls) {@code body} sent on any LibNl socket. */
    static long requests(Runnable body) {
        long before = LibNl.requestsSent();
        body.run();
        return LibNl.requestsSent() - before;
    }

    @Test
    void eachStepRunsForAllVifsInOneSendmsgAndAVanishedVifFailsOnlyItsOwnBuffer() {
        ns.addVifs(vifs(), "g");

        // install: every step for 8 buffers; ADD_INGRESS and ADD_REDIRECT are the link dump and one batch
        allDone(run(BufferEvent.ACQUIRE_IFB), BufferEvent.ACQUIRE_IFB);
        List<StepOutcome>[] last = new List[1];
        assertThat(requests(() -> last[0] = run(BufferEvent.ADD_INGRESS)))
                .as("ADD_INGRESS for %d vifs: one link dump, one batch", N).isEqualTo(2);
        allDone(last[0], BufferEvent.ADD_INGRESS);
        assertThat(requests(() -> last[0] = run(BufferEvent.ADD_REDIRECT)))
                .as("ADD_REDIRECT for %d vifs: one link dump, one batch", N).isEqualTo(2);
        allDone(last[0], BufferEvent.ADD_REDIRECT);
        KernelSnapshot k = ns.snapshot(vifs());
        for (int i = 0; i < N; i++) {
            assertThat(k.links()).containsEntry("nbifb" + i, "ifb");
            assertThat(ns.link("nbifb" + i).orElseThrow().get("flags").toString()).contains("\"UP\"");
            assertThat(k.qdisc("vif9." + i, IngressQdisc.KIND)).as("ingress on vif9.%d", i).isPresent();
            assertThat(k.redirectTarget("vif9." + i)).isEqualTo("nbifb" + i);
            assertThat(k.redirects("vif9." + i).getFirst().get("protocol").asText()).isEqualTo("all");
        }

        // the vif in the middle vanishes: the removals find it gone, the others' objects are removed
        ns.deleteLink("vif9." + MIDDLE);
        String gone = "vif vif9." + MIDDLE + " is gone: it took its ingress qdisc and filter with it";
        onlyGone(run(BufferEvent.REMOVE_REDIRECT), MIDDLE, gone);
        onlyGone(run(BufferEvent.REMOVE_INGRESS), MIDDLE, gone);
        allDone(run(BufferEvent.RELEASE_IFB), BufferEvent.RELEASE_IFB);
        ns.snapshot(vifs()).assertNoBufferObjects(vifs(), "after the removals");

        // and installs again: only the buffer without its vif fails, with the single call's error
        allDone(run(BufferEvent.ACQUIRE_IFB), BufferEvent.ACQUIRE_IFB);
        BufferObjects middle = buffers().get(MIDDLE);
        onlyFails(run(BufferEvent.ADD_INGRESS), MIDDLE, () -> installer().addIngress(middle.vif()));
        onlyFails(run(BufferEvent.ADD_REDIRECT), MIDDLE, () -> installer().addRedirect(middle.vif(), middle.ifb(),
                middle.protocol(), middle.priority()));
        k = ns.snapshot(vifs());
        for (int i = 0; i < N; i++) {
            if (i != MIDDLE) {
                assertThat(k.redirectTarget("vif9." + i)).isEqualTo("nbifb" + i);
            }
        }

        // back to nothing; every removal is idempotent, run twice
        for (int round = 0; round < 2; round++) {
            onlyGone(run(BufferEvent.REMOVE_REDIRECT), MIDDLE, gone);
            onlyGone(run(BufferEvent.REMOVE_INGRESS), MIDDLE, gone);
            Consumer<List<StepOutcome>> ifbs = round == 0 ? o -> allDone(o, BufferEvent.RELEASE_IFB)
                    : o -> assertThat(o).extracting(StepOutcome::note).allSatisfy(n -> assertThat(n).endsWith("is gone"));
            ifbs.accept(run(BufferEvent.RELEASE_IFB));
        }
        ns.snapshot(vifs()).assertNoBufferObjects(vifs(), "at the end");
    }

    @Test
    void aRequestTheKernelRefusesInTheMiddleOfABatchFailsOnlyItsBufferWithTheSingleCallsError() {
        ns.addVifs(vifs(), "g");
        allDone(run(BufferEvent.ACQUIRE_IFB), BufferEvent.ACQUIRE_IFB);
        // someone else's ingress qdisc on one vif: the kernel refuses that request (EEXIST), and only that one
        Sh.run("tc", "-n", ns.name, "qdisc", "add", "dev", "vif9." + MIDDLE, "ingress");
        List<StepOutcome> outcomes = run(BufferEvent.ADD_INGRESS);
        onlyFails(outcomes, MIDDLE, () -> installer().addIngress(buffers().get(MIDDLE).vif()));
        assertThat(outcomes.get(MIDDLE).failure()).hasMessageContaining("add ingress qdisc on vif9." + MIDDLE)
                .hasMessageContaining("already has an ingress qdisc");

        // a root qdisc of someone else's on every ifb: every ADD_PLUG fails (with or without sch_plug), each with
        // its own ifb, and no release_indefinite is sent after a failed add
        IntStream.range(0, N).forEach(i -> ns.occupyRoot("nbifb" + i));
        List<StepOutcome> plugs = installer().run(BufferEvent.ADD_PLUG, buffers());
        for (int i = 0; i < N; i++) {
            BufferObjects b = buffers().get(i);
            assertThat(plugs.get(i).failure()).as("buffer %d", i).hasMessageContaining("add plug qdisc on nbifb" + i)
                    .hasMessageContaining("already has a root qdisc")
                    .hasMessage(catchMessage(() -> installer().addPlug(b.ifb(), b.plugHandle(), b.limitBytes())));
        }
        assertThat(requests(() -> installer().run(BufferEvent.ADD_PLUG, buffers())))
                .as("a link dump and the adds; no releases after failed adds").isEqualTo(2);

        // the socket carries on after batches full of errors
        allDone(run(BufferEvent.REMOVE_INGRESS), BufferEvent.REMOVE_INGRESS);
        allDone(run(BufferEvent.RELEASE_IFB), BufferEvent.RELEASE_IFB);
        ns.snapshot(vifs()).assertNoBufferObjects(vifs(), "at the end");
    }

    @Test
    void acquireIfbCreatesWhatIsMissingAndRefusesANameThatIsTaken() {
        ns.addVifs(vifs(), "g");
        Sh.run("ip", "-n", ns.name, "link", "add", "nbifb" + MIDDLE, "type", "ifb"); // someone else's, down
        List<StepOutcome> outcomes = run(BufferEvent.ACQUIRE_IFB);
        assertThat(outcomes.get(MIDDLE).failure()).hasMessageContaining("create ifb on nbifb" + MIDDLE)
                .hasMessageContaining("exists already");
        assertThat(ns.link("nbifb" + MIDDLE).orElseThrow().get("flags").toString())
                .as("the other's ifb is left as it was").doesNotContain("\"UP\"");
        for (int i = 0; i < N; i++) {
            if (i != MIDDLE) {
                assertThat(outcomes.get(i).ok()).as("buffer %d", i).isTrue();
                assertThat(ns.link("nbifb" + i).orElseThrow().get("flags").toString()).contains("\"UP\"");
            }
        }
        Sh.run("ip", "-n", ns.name, "link", "del", "nbifb" + MIDDLE);
        onlyGone(run(BufferEvent.RELEASE_IFB), MIDDLE, "ifb nbifb" + MIDDLE + " is gone");
        assertThat(ns.linksOfType("ifb")).isEmpty();

        // POOL mode: existing ifbs are set up and set down again, never deleted
        ns.addIfbs(IntStream.range(0, N).mapToObj(i -> "nbifb" + i).toList());
        List<BufferObjects> pool = buffers().stream().map(b -> new BufferObjects(b.vif(), b.ifb(), false,
                b.protocol(), b.priority(), b.plugHandle(), b.limitBytes())).toList();
        allDone(installer().run(BufferEvent.ACQUIRE_IFB, pool), BufferEvent.ACQUIRE_IFB);
        assertThat(ns.link("nbifb0").orElseThrow().get("flags").toString()).contains("\"UP\"");
        allDone(installer().run(BufferEvent.RELEASE_IFB, pool), BufferEvent.RELEASE_IFB);
        assertThat(ns.linksOfType("ifb")).hasSize(N);
        assertThat(ns.link("nbifb0").orElseThrow().get("flags").toString()).doesNotContain("\"UP\"");
    }

    @Test
    void eventsWithoutAKernelCallAreRefused() {
        assertThatThrownBy(() -> installer().run(BufferEvent.FAIL, buffers()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(installer().run(BufferEvent.ADD_INGRESS, List.of())).isEmpty();
    }

    private static String catchMessage(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            return e.getMessage();
        }
        throw new AssertionError("expected a failure");
    }
}
