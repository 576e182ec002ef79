package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import io.remus.netbuf.model.BufferEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * {@link Netlink#linksNamed}, the links of a step found by name without a dump, on the host kernel in a namespace
 * of the test's own: every name's link (index, kind, up) from one sendmsg, absent names left out, and a domain's
 * steps whose requests neither include a dump nor grow with the links in the namespace. {@link UmlLinkLookupTest}
 * runs the same on user-mode-linux's 6.1 kernel, with the plug steps too.
 */
class LinkLookupTest extends NamespaceTest {

    static final int N = 8;

    /** How many requests (sendmsg calls) and dumps {@code body} sent on any LibNl socket. */
    record Sent(long requests, long dumps) {
    }

    static Sent sent(Runnable body) {
        long requests = LibNl.requestsSent();
        long dumps = LibNl.dumpsSent();
        body.run();
        return new Sent(LibNl.requestsSent() - requests, LibNl.dumpsSent() - dumps);
    }

    private int ifindex(String dev) {
        return ns.link(dev).orElseThrow().get("ifindex").asInt();
    }

    /** Every link's ifindex, as {@code ip -j link show} has it. */
    private Map<String, Integer> ifindexes() {
        Map<String, Integer> out = new LinkedHashMap<>();
        try {
            new com.fasterxml.jackson.databind.ObjectMapper().readTree(Sh.run("ip", "-n", ns.name, "-j", "link",
                    "show")).forEach(l -> out.put(l.get("ifname").asText(), l.get("ifindex").asInt()));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out;
    }

    @Test
    void eachNameIsFoundWithItsIndexKindAndStateInOneSendmsgAndAbsentNamesAreLeftOut() {
        ns.addIfbs(List.of("nbifb0", "nbifb1"));
        Sh.run("ip", "-n", ns.name, "link", "set", "nbifb0", "up");
        Sh.run("ip", "-n", ns.name, "link", "add", "nbv0", "type", "veth", "peer", "name", "nbvp0");
        List<InterfaceName> names = List.of("nbabsent0", "vif7.0", "nbifb0", "nbabsent1", "nbifb1", "nbv0", "lo",
                "nbabsent2").stream().map(InterfaceName::of).toList();

        Map<String, LibNl.LinkRow>[] found = new Map[1];
        assertThat(sent(() -> found[0] = netlink.linksNamed(names)))
                .as("8 gets in one sendmsg, no dump").isEqualTo(new Sent(1, 0));
        assertThat(found[0]).containsOnlyKeys("vif7.0", "nbifb0", "nbifb1", "nbv0", "lo");
        assertThat(found[0].get("vif7.0")).isEqualTo(new LibNl.LinkRow("vif7.0", ifindex("vif7.0"), "veth", true));
        assertThat(found[0].get("nbifb0")).isEqualTo(new LibNl.LinkRow("nbifb0", ifindex("nbifb0"), "ifb", true));
        assertThat(found[0].get("nbifb1")).isEqualTo(new LibNl.LinkRow("nbifb1", ifindex("nbifb1"), "ifb", false));
        assertThat(found[0].get("nbv0")).isEqualTo(new LibNl.LinkRow("nbv0", ifindex("nbv0"), "veth", false));
        assertThat(found[0].get("lo")).as("a link without a kind, as the dump has it")
                .isEqualTo(new LibNl.LinkRow("lo", 1, null, true));

        // none there at all, and nothing asked
        assertThat(netlink.linksNamed(List.of(InterfaceName.of("nbabsent0")))).isEmpty();
        assertThat(sent(() -> assertThat(netlink.linksNamed(List.of())).isEmpty())).isEqualTo(new Sent(0, 0));
    }

    @Test
    void aNameThatIsOnlyAnotherLinksAltnameIsAbsentAsInADump() {
        Sh.Result r = Sh.tryRun(List.of("ip", "-n", ns.name, "link", "property", "add", "dev", "vif7.0", "altname",
                "nbalt0"));
        org.junit.jupiter.api.Assumptions.assumeTrue(r.ok(), "no altnames here: " + r.err());
        // the kernel finds vif7.0 by its altname, but under its own name: not the device asked for
        assertThat(netlink.linksNamed(List.of(InterfaceName.of("nbalt0"), VIF))).containsOnlyKeys(VIF.value());
    }

    @Test
    void manyNamesGoOutSixtyFourToASendmsgAndEachAnswerMatchesItsName() {
        List<String> ifbs = IntStream.range(0, 100).mapToObj(i -> "nbifb" + i).toList();
        ns.addIfbs(ifbs);
        List<InterfaceName> names = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            names.add(InterfaceName.of("nbifb" + i));
            names.add(InterfaceName.of("nbno" + i));
        }
        Map<String, LibNl.LinkRow>[] found = new Map[1];
        assertThat(sent(() -> found[0] = netlink.linksNamed(names))).isEqualTo(new Sent(
                (200 + LibNl.LINK_GETS_PER_SEND - 1) / LibNl.LINK_GETS_PER_SEND, 0));
        assertThat(found[0]).containsOnlyKeys(ifbs);
        Map<String, String> links = ns.snapshot(List.of()).links();
        Map<String, Integer> indexes = ifindexes();
        for (String ifb : ifbs) {
            assertThat(found[0].get(ifb).index()).as(ifb).isEqualTo(indexes.get(ifb));
            assertThat(found[0].get(ifb).type()).isEqualTo(links.get(ifb));
        }
        // the socket carries on: a single get after batches of errors
        assertThat(netlink.findLink(VIF)).isPresent();
    }

    // ---------------------------------------------------------------- a domain's steps

    static List<String> vifs() {
        return IntStream.range(0, N).mapToObj(i -> "vif9." + i).toList();
    }

    static List<BufferObjects> buffers() {
        return IntStream.range(0, N).mapToObj(i -> new BufferObjects(InterfaceName.of("vif9." + i),
                InterfaceName.of("nbifb" + i), true, RedirectFilter.ETH_P_ALL, RedirectFilter.DEFAULT_PRIORITY,
                PlugQdisc.DEFAULT_HANDLE, PlugQdisc.DEFAULT_LIMIT_BYTES)).toList();
    }

    /** The steps of a protect and a stop that need no sch_plug (UmlLinkLookupTest adds the plug's). */
    List<BufferEvent> steps() {
        return List.of(BufferEvent.ACQUIRE_IFB, BufferEvent.ADD_INGRESS, BufferEvent.ADD_REDIRECT,
                BufferEvent.REMOVE_REDIRECT, BufferEvent.REMOVE_INGRESS, BufferEvent.RELEASE_IFB);
    }

    /** Runs each step for the domain's 8 buffers; what each sent. */
    private Map<BufferEvent, Sent> protectAndStop() {
        BufferInstaller installer = new BufferInstaller(netlink);
        Map<BufferEvent, Sent> perStep = new LinkedHashMap<>();
        for (BufferEvent step : steps()) {
            List<StepOutcome>[] outcomes = new List[1];
            perStep.put(step, sent(() -> outcomes[0] = installer.run(step, buffers())));
            assertThat(outcomes[0]).as("%s", step).hasSize(N).allSatisfy(o -> {
                assertThat(o.failure()).as("%s", step).isNull();
                assertThat(o.note()).as("%s", step).isNull();
            });
        }
        return perStep;
    }

    @Test
    void aDomainsStepsSendNoDumpAndNoMoreRequestsWithTwoHundredMoreLinksPresent() throws IOException {
        ns.addVifs(vifs(), "g");
        Map<BufferEvent, Sent> few = protectAndStop();
        assertThat(few.values()).as("no step dumps the links (or anything else)").allMatch(s -> s.dumps() == 0);
        assertThat(few.get(BufferEvent.ADD_INGRESS)).as("the vifs' gets, the adds").isEqualTo(new Sent(2, 0));
        assertThat(few.get(BufferEvent.ACQUIRE_IFB)).as("the creates, the new ifbs' gets, addrgenmode and up")
                .isEqualTo(new Sent(3, 0));

        // 100 veth pairs more, as other domains' vifs would be (the host kernel has no dummy links)
        StringBuilder more = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            more.append("link add nbv").append(i).append(" type veth peer name nbvp").append(i).append('\n');
        }
        Path file = Files.createTempFile("nbt-links", ".ip");
        try {
            Files.writeString(file, more);
            Sh.run("ip", "-n", ns.name, "-batch", file.toString());
        } finally {
            Files.deleteIfExists(file);
        }
        assertThat(ns.snapshot(List.of()).links()).hasSizeGreaterThan(200);

        assertThat(protectAndStop()).as("each step's requests, whatever the links present").isEqualTo(few);
        ns.snapshot(vifs()).assertNoBufferObjects(vifs(), "at the end");
    }
}
