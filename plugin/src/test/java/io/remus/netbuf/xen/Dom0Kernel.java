package io.remus.netbuf.xen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.remus.netbuf.netlink.Sh;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** What dom0's own network namespace has, as {@code ip -j} and {@code tc -j} say: the tests' observer in dom0. */
public final class Dom0Kernel {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Dom0Kernel() {
    }

    /** The kinds of the qdiscs on {@code dev} ({@code plug}, {@code ingress}, ...). */
    public static List<String> qdiscKinds(String dev) {
        return field(json("tc", "-j", "qdisc", "show", "dev", dev), "kind");
    }

    /** Every ingress filter on {@code vif}, as {@code tc -j} gives it. */
    public static List<JsonNode> ingressFilters(String vif) {
        List<JsonNode> filters = new ArrayList<>();
        json("tc", "-j", "filter", "show", "dev", vif, "ingress").forEach(filters::add);
        return filters;
    }

    /** Where the ingress filters of {@code vif} redirect to (one entry per mirred action). */
    public static List<String> redirectTargets(String vif) {
        return ingressFilters(vif).stream().flatMap(f -> f.findValues("to_dev").stream()).map(JsonNode::asText)
                .toList();
    }

    /** The domid of the one domU the harness created: the only guest under dom0's vif backend. */
    public static int onlyDomU() {
        List<String> guests = Sh.run("xenstore-list", "/local/domain/0/backend/vif").lines().toList();
        if (guests.size() != 1) {
            throw new AssertionError("expected one domU with a vif backend, found " + guests);
        }
        return Integer.parseInt(guests.getFirst().strip());
    }

    public static List<String> ifbs() {
        return field(json("ip", "-j", "link", "show", "type", "ifb"), "ifname");
    }

    public static boolean hasLink(String name) {
        return Sh.tryRun("ip", "link", "show", "dev", name).ok();
    }

    private static JsonNode json(String... command) {
        String out = Sh.run(command);
        try {
            return JSON.readTree(out.isBlank() ? "[]" : out);
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON from " + String.join(" ", command) + ": " + out, e);
        }
    }

    private static List<String> field(JsonNode objects, String name) {
        List<String> values = new ArrayList<>();
        objects.forEach(o -> values.add(o.get(name).asText()));
        return values;
    }
}
