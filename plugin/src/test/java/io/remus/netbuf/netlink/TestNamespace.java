package io.remus.netbuf.netlink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A network namespace made by a test, with vifs as veth pairs whose guest ends sit in a second namespace of
 * their own (the "domain"). Closing deletes both namespaces and, with them, every device and qdisc inside.
 * Observations go through {@code ip -j} and {@code tc -j}, never through the code under test.
 */
public final class TestNamespace implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    public final String name;
    public final String guest;

    private TestNamespace(String name) {
        this.name = name;
        this.guest = name + "g";
    }

    public static TestNamespace create() {
        Sh.requireRoot();
        String name = "nbt" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
        Sh.run("ip", "netns", "add", name);
        TestNamespace ns = new TestNamespace(name);
        Sh.run("ip", "netns", "add", ns.guest);
        // Devices send only what a test sends: no IPv6 autoconfiguration chatter from the guest, the vif or the
        // ifb (an ifb's own MLD reports would otherwise sit in its plug queue beside the guest's frames).
        for (String n : List.of(name, ns.guest)) {
            Sh.run("ip", "netns", "exec", n, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6;"
                    + " echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
        }
        Sh.run("ip", "-n", name, "link", "set", "lo", "up");
        return ns;
    }

    public Path file() {
        return Path.of("/run/netns", name);
    }

    public Netlink open() {
        return Netlink.openInNamespace(file());
    }

    /** A veth pair: {@code vif} here, {@code eth0}-like {@code guestName} in the guest namespace; both up. */
    public void addVif(String vif, String guestName) {
        Sh.run("ip", "-n", name, "link", "add", vif, "type", "veth", "peer", "name", guestName, "netns", guest);
        Sh.run("ip", "-n", name, "link", "set", vif, "up");
        Sh.run("ip", "-n", guest, "link", "set", guestName, "up");
    }

    /**
     * Many vifs at once ({@code ip -batch}: one process, not three per vif), each up with its guest end
     * {@code guestPrefix + i} in the guest namespace.
     */
    public void addVifs(List<String> vifs, String guestPrefix) {
        StringBuilder here = new StringBuilder();
        StringBuilder there = new StringBuilder();
        for (int i = 0; i < vifs.size(); i++) {
            here.append("link add ").append(vifs.get(i)).append(" type veth peer name ").append(guestPrefix).append(i)
                    .append(" netns ").append(guest).append('\n');
            here.append("link set ").append(vifs.get(i)).append(" up\n");
            there.append("link set ").append(guestPrefix).append(i).append(" up\n");
        }
        batch(name, here.toString());
        batch(guest, there.toString());
    }

    /** Many ifbs at once, as {@code modprobe ifb numifbs=N} would leave them (down, no qdisc of ours). */
    public void addIfbs(List<String> ifbs) {
        StringBuilder cmds = new StringBuilder();
        ifbs.forEach(ifb -> cmds.append("link add ").append(ifb).append(" type ifb\n"));
        batch(name, cmds.toString());
    }

    /**
     * A pfifo qdisc of the test's own at {@code dev}'s root: the kernel then refuses a plug there ("the ifb already
     * has a root qdisc"), on any kernel, with or without sch_plug.
     */
    public void occupyRoot(String dev) {
        Sh.run("tc", "-n", name, "qdisc", "add", "dev", dev, "root", "handle", "9:", "pfifo");
    }

    private static void batch(String namespace, String commands) {
        try {
            Path file = java.nio.file.Files.createTempFile("nbt-batch", ".ip");
            try {
                java.nio.file.Files.writeString(file, commands);
                Sh.run("ip", "-n", namespace, "-batch", file.toString());
            } finally {
                java.nio.file.Files.deleteIfExists(file);
            }
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    public void deleteLink(String dev) {
        Sh.run("ip", "-n", name, "link", "del", dev);
    }

    public Optional<JsonNode> link(String dev) {
        Sh.Result r = Sh.tryRun("ip", "-n", name, "-j", "-s", "link", "show", "dev", dev);
        if (!r.ok()) {
            return Optional.empty();
        }
        return Optional.of(parse(r.out()).get(0));
    }

    public List<String> linksOfType(String type) {
        List<String> names = new ArrayList<>();
        parse(Sh.run("ip", "-n", name, "-j", "link", "show", "type", type)).forEach(l -> names.add(l.get("ifname").asText()));
        return names;
    }

    public JsonNode qdiscs(String dev) {
        return parse(Sh.run("tc", "-n", name, "-j", "-s", "qdisc", "show", "dev", dev));
    }

    public Optional<JsonNode> qdisc(String dev, String kind) {
        for (JsonNode q : qdiscs(dev)) {
            if (q.get("kind").asText().equals(kind)) {
                return Optional.of(q);
            }
        }
        return Optional.empty();
    }

    /** The filters under a device's ingress qdisc that carry actions (u32 also lists its hash tables). */
    public List<JsonNode> ingressFilters(String dev) {
        Sh.Result r = Sh.tryRun("tc", "-n", name, "-j", "filter", "show", "dev", dev, "ingress");
        List<JsonNode> out = new ArrayList<>();
        if (!r.ok() || r.out().isBlank()) {
            return out;
        }
        parse(r.out()).forEach(f -> {
            if (f.path("options").has("actions")) {
                out.add(f);
            }
        });
        return out;
    }

    /**
     * The whole namespace in three tool runs ({@code ip -j link show}, {@code tc -j qdisc show}, and one
     * {@code tc -j -batch} of {@code filter show dev VIF ingress} for each of {@code vifs}), for checks over many
     * buffers at once.
     */
    public KernelSnapshot snapshot(List<String> vifs) {
        Map<String, String> links = new LinkedHashMap<>();
        parse(Sh.run("ip", "-n", name, "-j", "-d", "link", "show")).forEach(l -> links.put(l.get("ifname").asText(),
                l.path("linkinfo").path("info_kind").asText("")));
        List<JsonNode> qdiscs = new ArrayList<>();
        parse(Sh.run("tc", "-n", name, "-j", "qdisc", "show")).forEach(qdiscs::add);
        Map<String, List<JsonNode>> filters = new LinkedHashMap<>();
        List<String> present = vifs.stream().filter(links::containsKey).toList();
        if (!present.isEmpty()) {
            StringBuilder cmds = new StringBuilder();
            present.forEach(v -> cmds.append("filter show dev ").append(v).append(" ingress\n"));
            String out = batchOutput("tc", cmds.toString());
            // one JSON array per command, one after the other
            try (var arrays = JSON.createParser(out)) {
                for (String vif : present) {
                    List<JsonNode> withActions = new ArrayList<>();
                    arrays.nextToken();
                    JsonNode array = JSON.readTree(arrays);
                    if (array == null || !array.isArray()) {
                        throw new IOException("no JSON array for " + vif);
                    }
                    array.forEach(f -> {
                        if (f.path("options").has("actions")) {
                            withActions.add(f);
                        }
                    });
                    filters.put(vif, withActions);
                }
            } catch (IOException | RuntimeException e) {
                throw new AssertionError("unparseable JSON from tc -batch: " + out, e);
            }
        }
        return new KernelSnapshot(links, qdiscs, filters);
    }

    private String batchOutput(String tool, String commands) {
        try {
            Path file = java.nio.file.Files.createTempFile("nbt-batch", "." + tool);
            try {
                java.nio.file.Files.writeString(file, commands);
                return Sh.run(tool, "-n", name, "-j", "-batch", file.toString());
            } finally {
                java.nio.file.Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * The redirect filter as earlier versions added it, by hand: {@code match u32 0 0} reads its key at offset 0,
     * after the Ethernet header, where a runt frame has fewer than the 4 bytes it reads.
     */
    public void addOldRedirect(String vif, String protocol, String ifb) {
        Sh.run("tc", "-n", name, "filter", "add", "dev", vif, "parent", "ffff:", "protocol", protocol, "prio", "10",
                "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", ifb);
    }

    public long txPackets(String dev) {
        return link(dev).orElseThrow().path("stats64").path("tx").path("packets").asLong();
    }

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json.isBlank() ? "[]" : json);
        } catch (IOException e) {
            throw new AssertionError("unparseable JSON from ip/tc: " + json, e);
        }
    }

    @Override
    public void close() {
        Sh.tryRun("ip", "netns", "del", guest);
        Sh.tryRun("ip", "netns", "del", name);
    }
}
