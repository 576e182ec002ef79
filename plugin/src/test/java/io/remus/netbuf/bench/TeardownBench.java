package io.remus.netbuf.bench;

import io.remus.netbuf.lifecycle.BufferLifecycle;
import io.remus.netbuf.lifecycle.FaultInjection;
import io.remus.netbuf.lifecycle.NetbufSettings;
import io.remus.netbuf.model.BufferEvent;
import io.remus.netbuf.model.BufferState;
import io.remus.netbuf.netlink.BufferInstaller;
import io.remus.netbuf.netlink.BufferObjects;
import io.remus.netbuf.netlink.InterfaceName;
import io.remus.netbuf.netlink.Netlink;
import io.remus.netbuf.netlink.PlugQdisc;
import io.remus.netbuf.netlink.RedirectFilter;
import io.remus.netbuf.netlink.StepOutcome;
import io.remus.netbuf.persistence.BufferRecord;
import io.remus.netbuf.persistence.BufferStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import javax.sql.DataSource;

/**
 * Inside user-mode-linux: whether a domain's teardown costs the same however many buffers the host holds. A few
 * domains of {@link #DOMAIN_VIFS} vifs are installed and torn down through the production path (BufferLifecycle
 * with its H2 journal, CREATE mode), round after round, while 64 buffers are present in all, and while 1,024 are
 * (the rest as background domains of 8, whose veth vifs are made and deleted with them). The two sizes take turns,
 * small first and last (64, 1,024, 64, 1,024, ..., 64): the run's times drift (in the first minute or two after
 * the guest boots, a round at the same size got twice as fast), so each visit at 1,024 is compared with the mean
 * of the visits at 64 on either side of it, and the figure is the median of those ratios. A step that dumped every
 * link of the host made it grow with the host. Beside it, the install's times, and the kernel part alone per
 * removal step (BufferInstaller.run on one domain), to tell the kernel's share of any growth from the journal's.
 */
final class TeardownBench {

    static final int DOMAIN_VIFS = 8;
    static final double TARGET = 1.2;
    /**
     * Untimed rounds before a visit's timed ones: for the JIT and H2 before the first visit (with 6, the first
     * visits still ran twice as slow as the last, and the early ratios came out at 1.3-1.4, the last at 0.98; with
     * 40, about 25 s, they came out at 1.09, 0.86, 0.72), for the kernel after a growth or a shrink before the
     * others. {@code -Dbench.teardown.warmup=N} sets the first; {@code -Dbench.teardown.rounds=true} prints every
     * round.
     */
    static final int FIRST_WARMUP_ROUNDS = Integer.getInteger("bench.teardown.warmup", 40), WARMUP_ROUNDS = 1;
    static final List<BufferEvent> REMOVAL_STEPS = List.of(BufferEvent.RELEASE, BufferEvent.REMOVE_PLUG,
            BufferEvent.REMOVE_REDIRECT, BufferEvent.REMOVE_INGRESS, BufferEvent.RELEASE_IFB);
    private static final List<BufferEvent> INSTALL_STEPS = List.of(BufferEvent.ACQUIRE_IFB, BufferEvent.ADD_INGRESS,
            BufferEvent.ADD_REDIRECT, BufferEvent.ADD_PLUG);

    private TeardownBench() {
    }

    /**
     * One visit at a size: per round, the teardown time per buffer and the install's; per removal step and round,
     * the kernel's time for one domain.
     */
    private record Visit(int present, long[] teardownNs, long[] installNs, long[][] stepNs) {
        double teardownMs() {
            return Paired.median(teardownNs) / 1e6;
        }

        double installMs() {
            return Paired.median(installNs) / 1e6;
        }
    }

    static void run(Bench.Sizes sizes, DataSource db, Bench.Report report) {
        int measuredDomains = sizes.smoke() ? 1 : 4;
        int small = sizes.smoke() ? DOMAIN_VIFS : 64;
        int large = Math.max(small + DOMAIN_VIFS, sizes.plugs() / DOMAIN_VIFS * DOMAIN_VIFS);
        int largeVisits = sizes.smoke() ? 1 : 3;
        int rounds = sizes.n(6, 2);
        int measured = measuredDomains * DOMAIN_VIFS;
        int backgroundDomains = (large - measured) / DOMAIN_VIFS;
        int smallBackground = (small - measured) / DOMAIN_VIFS;

        List<List<InterfaceName>> measuredVifs = IntStream.range(0, measuredDomains).mapToObj(d -> vifs(10 + d))
                .toList();
        List<List<InterfaceName>> backgroundVifs = IntStream.range(0, backgroundDomains)
                .mapToObj(d -> vifs(100 + d)).toList();
        List<String> made = new ArrayList<>();
        List<List<BufferRecord>> background = new ArrayList<>();
        try (Netlink netlink = Netlink.open()) {
            addVeths(measuredVifs, made);
            BufferInstaller installer = new BufferInstaller(netlink);
            BufferLifecycle lifecycle = new BufferLifecycle(new BufferStore(db), installer,
                    NetbufSettings.defaults(), FaultInjection.none());

            List<Visit> smalls = new ArrayList<>();
            List<Visit> larges = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int v = 0; ; v++) {
                shrink(lifecycle, background, smallBackground, made);
                grow(lifecycle, backgroundVifs, background, smallBackground, made);
                smalls.add(visit(lifecycle, installer, measuredVifs, measured + background.size() * DOMAIN_VIFS,
                        v == 0 && !sizes.smoke() ? FIRST_WARMUP_ROUNDS : WARMUP_ROUNDS, rounds));
                if (v == largeVisits) {
                    break;
                }
                grow(lifecycle, backgroundVifs, background, backgroundDomains, made);
                larges.add(visit(lifecycle, installer, measuredVifs, measured + background.size() * DOMAIN_VIFS,
                        WARMUP_ROUNDS, rounds));
            }
            shrink(lifecycle, background, 0, made);
            long seconds = (System.nanoTime() - t0) / 1_000_000_000L;

            int smallPresent = smalls.getFirst().present;
            int largePresent = larges.getFirst().present;
            double[] teardown = bracketed(smalls, larges, Visit::teardownMs);
            double[] install = bracketed(smalls, larges, Visit::installMs);
            double ratio = Paired.median(teardown.clone());
            report.add(String.format("user-mode-linux, teardown of %d domains of %d vifs through the lifecycle with"
                            + " its H2 journal, per buffer: %.3f ms with %d buffers present, %.3f ms with %d"
                            + " (medians of all rounds; %d visits at %d and %d at %d taking turns, %d rounds each,"
                            + " %d s in all)", measuredDomains, DOMAIN_VIFS,
                    medianMs(smalls, Visit::teardownNs), smallPresent, medianMs(larges, Visit::teardownNs),
                    largePresent, smalls.size(), smallPresent, larges.size(), largePresent, rounds, seconds));
            report.verdict(String.format("  teardown per buffer %d/%d present = %.3f %s (target <= %.2f) %s",
                    largePresent, smallPresent, ratio, perVisit(teardown), TARGET,
                    ratio <= TARGET ? "met" : "MISSED"), ratio <= TARGET);
            report.add("  teardown ms per buffer, median of each visit in turn: " + visits(smalls, larges,
                    Visit::teardownMs));
            report.add(String.format("  install per buffer (the same domains, through the lifecycle): %.3f ms with"
                            + " %d present, %.3f ms with %d; %d/%d = %.3f %s (no target); median of each visit in"
                            + " turn: %s", medianMs(smalls, Visit::installNs), smallPresent,
                    medianMs(larges, Visit::installNs), largePresent, largePresent, smallPresent,
                    Paired.median(install.clone()), perVisit(install), visits(smalls, larges, Visit::installMs)));
            if (Boolean.getBoolean("bench.teardown.rounds")) {
                for (int v = 0; v < smalls.size(); v++) {
                    report.add("  rounds at " + smallPresent + ": " + Paired.millis(smalls.get(v).teardownNs, rounds));
                    if (v < larges.size()) {
                        report.add("  rounds at " + largePresent + ": " + Paired.millis(larges.get(v).teardownNs,
                                rounds));
                    }
                }
            }
            report.add(String.format("  the kernel part alone, BufferInstaller.run per removal step for a domain of"
                            + " %d, median ms: with %d present %s; with %d present %s", DOMAIN_VIFS, smallPresent,
                    steps(smalls), largePresent, steps(larges)));
        } finally {
            cleanUp(made);
        }
    }

    /** Per visit at the large size: its median over the mean of the medians of the small visits either side. */
    private static double[] bracketed(List<Visit> smalls, List<Visit> larges,
                                      java.util.function.ToDoubleFunction<Visit> ms) {
        double[] ratios = new double[larges.size()];
        for (int v = 0; v < larges.size(); v++) {
            ratios[v] = ms.applyAsDouble(larges.get(v))
                    / ((ms.applyAsDouble(smalls.get(v)) + ms.applyAsDouble(smalls.get(v + 1))) / 2);
        }
        return ratios;
    }

    /** e.g. {@code (per visit 0.98, 1.02, 1.01)}. */
    private static String perVisit(double[] ratios) {
        return Arrays.stream(ratios).mapToObj(r -> String.format("%.3f", r))
                .collect(java.util.stream.Collectors.joining(", ", "(per visit ", ")"));
    }

    /** e.g. {@code 64: 7.1, 1024: 7.3, 64: 6.9}. */
    private static String visits(List<Visit> smalls, List<Visit> larges,
                                 java.util.function.ToDoubleFunction<Visit> ms) {
        List<String> out = new ArrayList<>();
        for (int v = 0; v < smalls.size(); v++) {
            out.add(String.format("%d: %.2f", smalls.get(v).present, ms.applyAsDouble(smalls.get(v))));
            if (v < larges.size()) {
                out.add(String.format("%d: %.2f", larges.get(v).present, ms.applyAsDouble(larges.get(v))));
            }
        }
        return String.join(", ", out);
    }

    /** The median of every round of {@code visits}, in ms. */
    private static double medianMs(List<Visit> visits, java.util.function.Function<Visit, long[]> ns) {
        return Paired.median(visits.stream().flatMapToLong(v -> Arrays.stream(ns.apply(v))).toArray()) / 1e6;
    }

    /** Each removal step's median over every round of {@code visits}, e.g. {@code RELEASE 0.27, ...}. */
    private static String steps(List<Visit> visits) {
        List<String> out = new ArrayList<>();
        for (int k = 0; k < REMOVAL_STEPS.size(); k++) {
            int step = k;
            out.add(String.format("%s %.2f", REMOVAL_STEPS.get(k), medianMs(visits, v -> v.stepNs[step])));
        }
        return String.join(", ", out);
    }

    /** {@code vif<domain>.0} .. {@code vif<domain>.7}. */
    private static List<InterfaceName> vifs(int domain) {
        return IntStream.range(0, DOMAIN_VIFS).mapToObj(i -> InterfaceName.of("vif" + domain + "." + i)).toList();
    }

    /**
     * A veth pair for each vif of {@code domains} (peer {@code <vif>p}), the vif up, in one {@code ip -batch}: a
     * domain's vifs exist only while it does, so that "64 buffers present" means 64 vifs and 64 ifbs.
     */
    private static void addVeths(List<List<InterfaceName>> domains, List<String> made) {
        List<String> lines = new ArrayList<>();
        for (List<InterfaceName> domain : domains) {
            for (InterfaceName vif : domain) {
                lines.add("link add " + vif + " type veth peer name " + vif + "p");
                lines.add("link set " + vif + " up");
                made.add(vif.value()); // even a batch that fails half way may have made some: the cleanup tries all
            }
        }
        if (!lines.isEmpty()) {
            Bench.batch("ip", lines);
        }
    }

    /** Installs background domains, with their vifs, through the lifecycle until {@code domains} are there. */
    private static void grow(BufferLifecycle lifecycle, List<List<InterfaceName>> vifs,
                             List<List<BufferRecord>> background, int domains, List<String> made) {
        addVeths(vifs.subList(background.size(), domains), made);
        while (background.size() < domains) {
            int d = background.size();
            background.add(lifecycle.install("bg" + d, vifs.get(d)));
        }
    }

    /** Tears background domains down (the last installed first) until {@code domains} are left; their vifs go. */
    private static void shrink(BufferLifecycle lifecycle, List<List<BufferRecord>> background, int domains,
                               List<String> made) {
        List<String> gone = new ArrayList<>();
        while (background.size() > domains) {
            lifecycle.teardown(background.getLast(), false);
            background.removeLast().forEach(b -> gone.add(b.vif()));
        }
        if (!gone.isEmpty()) {
            Bench.batch("ip", gone.stream().map(v -> "link del " + v).toList());
            made.removeAll(gone);
        }
    }

    /**
     * A visit: {@code warmup} untimed rounds, then {@code rounds} rounds: the measured domains installed, then each
     * torn down, both timed; then the kernel part alone, as many rounds: the first measured domain's install steps
     * and its timed removal steps through BufferInstaller.run, with ifbs of their own names.
     */
    private static Visit visit(BufferLifecycle lifecycle, BufferInstaller installer,
                               List<List<InterfaceName>> measuredVifs, int present, int warmup, int rounds) {
        long[] teardownNs = new long[rounds];
        long[] installNs = new long[rounds];
        long buffersPerRound = (long) measuredVifs.size() * DOMAIN_VIFS;
        for (int r = -warmup; r < rounds; r++) {
            List<List<BufferRecord>> domains = new ArrayList<>();
            long t = System.nanoTime();
            for (int d = 0; d < measuredVifs.size(); d++) {
                domains.add(lifecycle.install("dom" + d, measuredVifs.get(d)));
            }
            if (r >= 0) {
                installNs[r] = (System.nanoTime() - t) / buffersPerRound;
            }
            long ns = 0;
            for (List<BufferRecord> domain : domains) {
                long t0 = System.nanoTime();
                List<BufferRecord> after = lifecycle.teardown(domain, false);
                ns += System.nanoTime() - t0;
                after.forEach(b -> {
                    if (b.state() != BufferState.FREE) {
                        throw new IllegalStateException("buffer " + b.id() + " on " + b.vif() + " ended "
                                + b.state() + " after its teardown");
                    }
                });
            }
            if (r >= 0) {
                teardownNs[r] = ns / buffersPerRound;
            }
        }

        List<InterfaceName> vifs = measuredVifs.getFirst();
        List<BufferObjects> buffers = IntStream.range(0, DOMAIN_VIFS).mapToObj(i -> new BufferObjects(vifs.get(i),
                InterfaceName.of("nbtd" + i), true, RedirectFilter.ETH_P_ALL, RedirectFilter.DEFAULT_PRIORITY,
                PlugQdisc.DEFAULT_HANDLE, PlugQdisc.DEFAULT_LIMIT_BYTES)).toList();
        long[][] stepNs = new long[REMOVAL_STEPS.size()][rounds];
        for (int r = -warmup; r < rounds; r++) {
            INSTALL_STEPS.forEach(step -> check(step, installer.run(step, buffers)));
            for (int k = 0; k < REMOVAL_STEPS.size(); k++) {
                long t0 = System.nanoTime();
                List<StepOutcome> outcomes = installer.run(REMOVAL_STEPS.get(k), buffers);
                if (r >= 0) {
                    stepNs[k][r] = System.nanoTime() - t0;
                }
                check(REMOVAL_STEPS.get(k), outcomes);
            }
        }
        return new Visit(present, teardownNs, installNs, stepNs);
    }

    private static void check(BufferEvent step, List<StepOutcome> outcomes) {
        for (StepOutcome o : outcomes) {
            if (!o.ok() || o.note() != null) {
                throw new IllegalStateException(step + ": " + o, o.failure());
            }
        }
    }

    /**
     * Whatever a failure left: the veth pairs deleted (their ingress qdiscs and filters with them), then every ifb
     * of ours ({@code nbifb*}, {@code nbtd*}) with its plug. Reports what it could not delete, without hiding the
     * failure that brought it here.
     */
    private static void cleanUp(List<String> vifs) {
        try {
            List<String> lines = new ArrayList<>(vifs.stream().map(v -> "link del " + v).toList());
            for (String line : Bench.sh("ip", "-o", "link", "show", "type", "ifb").split("\n")) {
                String[] f = line.split(":\\s+");
                if (f.length > 1 && (f[1].startsWith(NetbufSettings.DEFAULT_IFB_PREFIX) || f[1].startsWith("nbtd"))) {
                    lines.add("link del " + f[1].replaceFirst("@.*", ""));
                }
            }
            if (!lines.isEmpty()) {
                Bench.batch("ip", lines, "-force");
            }
        } catch (RuntimeException e) {
            System.err.println("teardown bench: clean-up incomplete: " + e.getMessage());
        }
    }
}
