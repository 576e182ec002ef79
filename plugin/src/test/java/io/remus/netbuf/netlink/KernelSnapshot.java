package io.remus.netbuf.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A test namespace as {@code ip -j} and {@code tc -j} saw it at one moment (see {@link TestNamespace#snapshot}):
 * every link with its kind, every qdisc, and the action-carrying ingress filters of the vifs asked for.
 */
public record KernelSnapshot(Map<String, String> links, List<JsonNode> qdiscs, Map<String, List<JsonNode>> filters) {

    public boolean hasLink(String name) {
        return links.containsKey(name);
    }

    public List<String> ifbs() {
        return links.entrySet().stream().filter(e -> e.getValue().equals("ifb")).map(Map.Entry::getKey).toList();
    }

    public Optional<JsonNode> qdisc(String dev, String kind) {
        return qdiscs.stream().filter(q -> q.path("dev").asText().equals(dev) && q.path("kind").asText().equals(kind))
                .findFirst();
    }

    /** The devices that have a qdisc of {@code kind}. */
    public List<String> devsWithQdisc(String kind) {
        return qdiscs.stream().filter(q -> q.path("kind").asText().equals(kind)).map(q -> q.path("dev").asText())
                .toList();
    }

    /** The redirect filters on {@code vif} (none if the vif is gone). */
    public List<JsonNode> redirects(String vif) {
        return filters.getOrDefault(vif, List.of());
    }

    /** Where {@code vif}'s single redirect filter sends its frames. */
    public String redirectTarget(String vif) {
        List<JsonNode> r = redirects(vif);
        assertThat(r).as("redirect filters on %s", vif).hasSize(1);
        return r.getFirst().get("options").get("actions").get(0).get("to_dev").asText();
    }

    /**
     * Nothing of any buffer: no ifb, no plug or ingress qdisc on any device, no redirect filter on {@code vifs}
     * (those that still exist).
     */
    public void assertNoBufferObjects(List<String> vifs, String context) {
        assertThat(ifbs()).as("ifbs left: %s", context).isEmpty();
        assertThat(devsWithQdisc(PlugQdisc.KIND)).as("plug qdiscs left: %s", context).isEmpty();
        assertThat(devsWithQdisc(IngressQdisc.KIND)).as("ingress qdiscs left: %s", context).isEmpty();
        for (String vif : vifs) {
            assertThat(redirects(vif)).as("filters left on %s: %s", vif, context).isEmpty();
        }
    }
}
