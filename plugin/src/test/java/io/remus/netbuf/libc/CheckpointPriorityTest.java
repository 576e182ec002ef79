package io.remus.netbuf.libc;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The checkpoint thread's priority, as the kernel reports it (/proc/thread-self/stat): only that thread's. */
class CheckpointPriorityTest {

    @Test
    void theCheckpointThreadTakesItsNiceValueAndNoOtherThreadDoes() throws Exception {
        int mine = nice();
        AtomicInteger before = new AtomicInteger(Integer.MIN_VALUE);
        AtomicInteger after = new AtomicInteger(Integer.MIN_VALUE);
        Thread t = Thread.ofPlatform().start(() -> {
            before.set(nice());
            CheckpointPriority.applyToCallingThread();
            after.set(nice());
        });
        t.join();
        assertThat(before.get()).as("a new thread starts at its creator's").isEqualTo(mine);
        assertThat(after.get()).as("nice of the thread that took the checkpoint's priority (needs root)")
                .isEqualTo(CheckpointPriority.NICE);
        assertThat(nice()).as("the test's own thread").isEqualTo(mine);
    }

    /** Field 19 of the calling thread's stat line (the name, in parentheses, may hold spaces). */
    private static int nice() {
        try {
            String stat = Files.readString(Path.of("/proc/thread-self/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(fields[19 - 3]);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
