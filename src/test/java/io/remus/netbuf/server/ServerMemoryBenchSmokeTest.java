package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The server memory bench in its short form (2 domains of 2 vifs, a few seconds): the server boots inside
 * user-mode-linux, its buffers reach PLUGGED through the REST API, the loop checkpoints them, and the heap after a
 * heap dump's full GC is read from the GC log. A check that the bench works, not a verdict on its figures.
 */
class ServerMemoryBenchSmokeTest {

    @Test
    void theServerMemoryBenchRuns() throws Exception {
        List<String> lines = ServerMemoryBench.run(ServerMemoryBench.Sizes.smoke());
        lines.forEach(System.out::println);
        String all = String.join("\n", lines);
        assertThat(all).contains("holding 4 PLUGGED buffers of 2 domains", "live heap after a full GC ",
                "checkpoints/s per domain", "then 2 more domains without the checkpoint loop");
        assertThat(number(all, "the loop managed ([0-9.]+) checkpoints/s")).as("the loop checkpointed").isPositive();
        assertThat(number(all, "live heap after a full GC ([0-9.]+) MiB")).as("the heap read from the GC log")
                .isPositive();
    }

    private static double number(String text, String regex) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(regex).matcher(text);
        assertThat(m.find()).as("'%s' in:%n%s", regex, text).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
