package io.remus.netbuf.service;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugAction;
import io.remus.netbuf.netlink.PlugControl;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import io.remus.netbuf.persistence.DomainEpochs;
import io.remus.netbuf.persistence.DomainStore;
import io.remus.netbuf.persistence.JournalEntry;
import io.remus.netbuf.persistence.JournalEntry.Outcome;
import io.remus.netbuf.persistence.NetbufDatabaseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Sends a plug action to the PLUGGED buffers of several domains in one batch, through the hot path's socket and the
 * plug controls it keeps open ({@link PlugControls}). A domain whose control cannot be opened or one of whose vifs
 * fails fails alone, and its failure is recorded: a journal line for each vif that failed, the domain's epochs, its
 * last failure. Each call for a domain is made under its lock.
 */
final class PlugBatches {

    /** A domain in a plug batch: its epochs (as they will be once the batch is done) and its PLUGGED buffers. */
    record Part(String domain, DomainEpochs epochs, List<BufferRecord> plugged) {
    }

    /** One of a domain's vifs whose plug change failed, and why. */
    private record VifFailure(BufferRecord buffer, String error) {
    }

    /** The checkpoint's own socket ({@link Netlink#hotPath}): nothing else takes its lock. */
    private final Netlink hotPath;
    private final PlugControls controls;
    private final BufferStore buffers;
    private final DomainStore domains;
    /** Records a domain's failure as its last (the one its status shows). */
    private final BiConsumer<String, String> noteFailure;
    private final Timer beginTimer;
    private final Timer commitTimer;
    private final Counter begun;
    private final Counter committed;
    private final Counter failed;

    /**
     * @param hotPath        the hot path's socket
     * @param copyHeldFrames whether each plug control opens a null tap on its vif ({@link PlugControls})
     * @param noteFailure    records a domain's failure (domain, message) as its last
     */
    PlugBatches(Netlink hotPath, boolean copyHeldFrames, BufferStore buffers, DomainStore domains,
                BiConsumer<String, String> noteFailure, MeterRegistry meters) {
        this.hotPath = hotPath;
        this.controls = new PlugControls(hotPath, copyHeldFrames);
        this.buffers = buffers;
        this.domains = domains;
        this.noteFailure = noteFailure;
        this.beginTimer = Timer.builder("netbuf.epoch.begin")
                .description("plug buffer on every vif of a batch of domains").register(meters);
        this.commitTimer = Timer.builder("netbuf.epoch.commit")
                .description("release_one on every vif of a batch of domains").register(meters);
        this.begun = Counter.builder("netbuf.epochs.begun").register(meters);
        this.committed = Counter.builder("netbuf.epochs.committed").register(meters);
        this.failed = Counter.builder("netbuf.epochs.failed").register(meters);
    }

    /** {@link #plugAll} of one domain: its failure, if it fails, is thrown. */
    void plugOne(Part part, PlugAction action) {
        EpochFailedException f = plugAll(List.of(part), action).get(part.domain());
        if (f != null) {
            throw f;
        }
    }

    /**
     * The plug change on every vif of every part, in one batch (one system call for all of them). A domain one of
     * whose vifs fails has its epoch failed, naming the vifs it was done on and the ones it was not; so has a
     * domain one of whose plug controls cannot be opened, which is left out of the batch (none of its vifs
     * changes). The other domains go on; the failures, by domain, are returned.
     */
    Map<String, EpochFailedException> plugAll(List<Part> parts, PlugAction action) {
        Map<String, EpochFailedException> failures = new HashMap<>();
        PlugControl[] batch = new PlugControl[parts.stream().mapToInt(p -> p.plugged().size()).sum()];
        List<Part> sent = new ArrayList<>(parts.size());
        int n = 0;
        for (Part p : parts) {
            int first = n;
            try {
                for (BufferRecord b : p.plugged()) {
                    batch[n] = controls.control(b);
                    n++;
                }
                sent.add(p);
            } catch (RuntimeException notOpened) {
                BufferRecord b = p.plugged().get(n - first);
                n = first;
                String error = "its plug control could not be opened: " + notOpened.getMessage();
                failures.put(p.domain(), epochFailed(p, action, List.of(new VifFailure(b, error)),
                        p.plugged().stream().map(BufferRecord::vif).toList(), notOpened));
            }
        }
        if (n == 0) {
            return failures;
        }
        int[] errors = new int[n];
        RuntimeException whole = null;
        long started = System.nanoTime();
        try {
            hotPath.plugBatch(batch, n, action, errors);
        } catch (RuntimeException e) {
            Arrays.fill(errors, -1);
            whole = e;
        }
        (action == PlugAction.BUFFER ? beginTimer : commitTimer)
                .record(System.nanoTime() - started, TimeUnit.NANOSECONDS);

        int first = 0;
        for (Part p : sent) {
            List<VifFailure> vifFailures = new ArrayList<>(0);
            RuntimeException cause = whole;
            for (int j = 0; j < p.plugged().size(); j++) {
                int code = errors[first + j];
                if (code != 0) {
                    RuntimeException f = whole != null ? whole : batch[first + j].failure(action, code);
                    cause = cause != null ? cause : f;
                    vifFailures.add(new VifFailure(p.plugged().get(j), f.getMessage()));
                }
            }
            if (vifFailures.isEmpty()) {
                (action == PlugAction.BUFFER ? begun : committed).increment();
            } else {
                failures.put(p.domain(), epochFailed(p, action, vifFailures,
                        vifFailures.stream().map(f -> f.buffer().vif()).toList(), cause));
            }
            first += p.plugged().size();
        }
        return failures;
    }

    /** Closes every plug control open for the domain's buffers (it fails over, stops or is gone). */
    void closeDomain(String domain) {
        controls.closeDomain(domain);
    }

    /** How many plug controls are open (for the tests). */
    int openControls() {
        return controls.openCount();
    }

    /**
     * Records a domain's failed plug change (a journal line for each vif that failed, the domain's epochs) and
     * describes it: the vifs that failed and why (the first one's error), those it was not done on, the others.
     */
    private EpochFailedException epochFailed(Part p, PlugAction action, List<VifFailure> failedVifs,
                                             List<String> notDone, RuntimeException cause) {
        String what = action == PlugAction.BUFFER ? "begin epoch " + p.epochs().openEpoch()
                : "commit epoch " + p.epochs().awaitingEpoch();
        List<String> done = p.plugged().stream().map(BufferRecord::vif).filter(v -> !notDone.contains(v)).toList();
        String message = "domain " + p.domain() + ": " + what + " failed on vif "
                + String.join(", ", failedVifs.stream().map(f -> f.buffer().vif()).toList()) + ": "
                + failedVifs.getFirst().error() + "; done on " + done + ", not on " + notDone
                + "; the domain takes no new epoch until failover or stop";
        EpochFailedException thrown = new EpochFailedException(message, done, notDone, cause);
        failed.increment();
        noteFailure.accept(p.domain(), message);
        try {
            for (VifFailure f : failedVifs) {
                BufferRecord b = f.buffer();
                buffers.note(b.id(), action == PlugAction.BUFFER ? JournalEntry.Topic.EPOCH_BEGIN : JournalEntry.Topic.EPOCH_COMMIT,
                        Outcome.FAILED, b.state(), what + " of domain " + p.domain(), f.error());
            }
            domains.save(p.epochs().failed(message));
        } catch (NetbufDatabaseException notRecorded) {
            thrown.addSuppressed(notRecorded);
        }
        return thrown;
    }
}
