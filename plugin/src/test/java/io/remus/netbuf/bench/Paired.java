package io.remus.netbuf.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Paired rounds of a candidate and its baseline, and the verdict on their ratio.
 *
 * <p>On a shared machine another process may take the CPU in the middle of any round, and the load drifts over
 * seconds. So the two are measured in many short rounds, alternating in ABBA order (candidate first in one pair,
 * baseline first in the next: whichever runs second does not always find the caches the other left), each round
 * preceded by an untimed warm-up of the same side, and compared pair by pair: the figure is the median of the
 * per-pair ratios, which a burst of load in a few pairs does not move. Its 95 % confidence interval comes from the
 * order statistics of the sorted ratios (distribution-free), so a verdict that the noise could flip shows as an
 * interval that straddles the target.
 */
final class Paired {

    /** One side of a pair: runs {@code ops} operations (untimed when warming up) and returns the nanoseconds. */
    @FunctionalInterface
    interface Side {
        long run(int ops);
    }

    final String candidate;
    final String baseline;
    final long[] candidateNs;
    final long[] baselineNs;
    final int ops;
    final int baselineOps;

    private Paired(String candidate, String baseline, long[] candidateNs, long[] baselineNs, int ops,
                   int baselineOps) {
        this.candidate = candidate;
        this.baseline = baseline;
        this.candidateNs = candidateNs;
        this.baselineNs = baselineNs;
        this.ops = ops;
        this.baselineOps = baselineOps;
    }

    /**
     * {@code rounds} pairs of {@code ops} operations each, after {@code warmupRounds} untimed pairs; before each
     * timed round, {@code warmupOps} untimed operations of the same side.
     */
    static Paired measure(String candidate, Side a, String baseline, Side b, int rounds, int ops, int warmupRounds,
                          int warmupOps) {
        return measure(candidate, a, ops, baseline, b, ops, rounds, warmupRounds, warmupOps);
    }

    /** As above, with a different number of operations per round on each side; ratios are per operation. */
    static Paired measure(String candidate, Side a, int ops, String baseline, Side b, int baselineOps, int rounds,
                          int warmupRounds, int warmupOps) {
        for (int i = 0; i < warmupRounds; i++) {
            a.run(ops);
            b.run(baselineOps);
        }
        long[] as = new long[rounds];
        long[] bs = new long[rounds];
        for (int r = 0; r < rounds; r++) {
            boolean aFirst = (r & 1) == 0;
            for (int k = 0; k < 2; k++) {
                boolean doA = (k == 0) == aFirst;
                Side side = doA ? a : b;
                if (warmupOps > 0) {
                    side.run(warmupOps);
                }
                long ns = side.run(doA ? ops : baselineOps);
                if (doA) {
                    as[r] = ns;
                } else {
                    bs[r] = ns;
                }
            }
        }
        return new Paired(candidate, baseline, as, bs, ops, baselineOps);
    }

    double[] ratios() {
        double[] r = new double[candidateNs.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = ((double) candidateNs[i] / ops) / ((double) baselineNs[i] / baselineOps);
        }
        Arrays.sort(r);
        return r;
    }

    double ratio() {
        return median(ratios());
    }

    /** The 95 % confidence interval of the median ratio: sorted ratios at ranks n/2 -/+ 1.96 sqrt(n)/2. */
    double[] confidence() {
        double[] r = ratios();
        int n = r.length;
        int half = (int) Math.ceil(1.96 * Math.sqrt(n) / 2);
        return new double[] {r[Math.max(0, (n - 1) / 2 - half)], r[Math.min(n - 1, n / 2 + half)]};
    }

    double candidatePerOp() {
        return median(candidateNs) / ops;
    }

    double baselinePerOp() {
        return median(baselineNs) / baselineOps;
    }

    /** e.g. {@code FFM/C = 1.006 (95% CI 0.998-1.013, 400 pairs of 100 ops) (target <= 1.02) met}. */
    String verdictAtMost(double target) {
        double ratio = ratio();
        return String.format("%s/%s = %.3f %s (target <= %.2f) %s", candidate, baseline, ratio, spread(), target,
                ratio <= target ? "met" : "MISSED");
    }

    /** For "at least N times faster": baseline/candidate, with candidate the slow one. */
    String verdictAtLeast(double targetTimes) {
        return String.format("%s (target >= %.0fx) %s", times(), targetTimes, atLeast(targetTimes) ? "met" : "MISSED");
    }

    /** e.g. {@code one by one/FFM batch = 9.6x (95% CI 9.1-10.3x, 20 pairs)}. */
    String times() {
        double[] ci = confidence();
        return String.format("%s/%s = %.1fx (95%% CI %.1f-%.1fx, %s)", candidate, baseline, ratio(), ci[0], ci[1],
                pairs());
    }

    boolean atMost(double target) {
        return ratio() <= target;
    }

    boolean atLeast(double target) {
        return ratio() >= target;
    }

    String spread() {
        double[] ci = confidence();
        return String.format("(95%% CI %.3f-%.3f, %s of %d ops)", ci[0], ci[1], pairs(), ops);
    }

    private String pairs() {
        return candidateNs.length == 1 ? "1 pair" : candidateNs.length + " pairs";
    }

    /** The rounds' milliseconds, at most {@code max} of each, for the report. */
    String rounds(int max) {
        return "  rounds (ms, first " + Math.min(max, candidateNs.length) + "): " + candidate + " "
                + millis(candidateNs, max) + ", " + baseline + " " + millis(baselineNs, max);
    }

    static String millis(long[] ns, int max) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < Math.min(max, ns.length); i++) {
            out.add(String.format("%.1f", ns[i] / 1e6));
        }
        return out.toString();
    }

    static double median(long[] values) {
        long[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
    }

    static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
