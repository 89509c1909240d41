package rmq.interop.diff;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import rmq.interop.harness.KnownDifferences;

/**
 * Compares two runs of a scenario step by step and renders a readable report.
 *
 * <p>Three levels per step:
 * <ul>
 *   <li><b>MISMATCH</b> (fails the test): the typed view differs — response code, significant
 *       headers, or the body as a Java client decodes it.</li>
 *   <li><b>KNOWN</b>: a mismatch listed in {@link KnownDifferences}; printed, does not fail.</li>
 *   <li><b>warn</b>: extra/missing headers or body fields a Java client would ignore.</li>
 *   <li><b>note</b>: same meaning, different bytes (key order, key quoting, whitespace) or a
 *       different remark.</li>
 * </ul>
 */
public final class DiffReport {
    private final String expectedLabel;
    private final String actualLabel;
    private final List<String> lines = new ArrayList<>();
    private final KnownDifferences known;
    private final String keyPrefix;
    private final Set<String> knownSeen = new HashSet<>();
    private int mismatches;
    private int knownMismatches;
    private int warnings;
    private int notes;
    private int steps;

    /** Key prefix of differential steps in {@link KnownDifferences}. */
    public static final String KEY_PREFIX = "namesrv-diff:";

    private DiffReport(String expectedLabel, String actualLabel, KnownDifferences known, String keyPrefix) {
        this.expectedLabel = expectedLabel;
        this.actualLabel = actualLabel;
        this.known = known;
        this.keyPrefix = keyPrefix;
    }

    /** Compares {@code actual} against the reference run {@code expected}; every mismatch fails. */
    public static DiffReport compare(String expectedLabel, List<Observation> expected,
                                     String actualLabel, List<Observation> actual) {
        return compare(expectedLabel, expected, actualLabel, actual, KnownDifferences.none());
    }

    /** Like {@link #compare(String, List, String, List)}, but mismatches listed in {@code known} do not fail. */
    public static DiffReport compare(String expectedLabel, List<Observation> expected,
                                     String actualLabel, List<Observation> actual, KnownDifferences known) {
        return compare(expectedLabel, expected, actualLabel, actual, known, KEY_PREFIX);
    }

    /**
     * Like {@link #compare(String, List, String, List, KnownDifferences)} with the key prefix of
     * this comparison's entries in the known-differences file (e.g. {@code namesrv5-diff:}).
     */
    public static DiffReport compare(String expectedLabel, List<Observation> expected,
                                     String actualLabel, List<Observation> actual, KnownDifferences known,
                                     String keyPrefix) {
        DiffReport r = new DiffReport(expectedLabel, actualLabel, known, keyPrefix);
        int n = Math.max(expected.size(), actual.size());
        for (int i = 0; i < n; i++) {
            Observation e = i < expected.size() ? expected.get(i) : null;
            Observation a = i < actual.size() ? actual.get(i) : null;
            r.compareStep(e, a);
        }
        for (String key : known.withPrefix(keyPrefix).keySet()) {
            if (!r.knownSeen.contains(key)) {
                r.notes++;
                r.lines.add("note     stale entry in " + known.source() + ": '" + key
                        + "' no longer differs (or no such step) — delete it");
            }
        }
        return r;
    }

    /** The key of a step in the known-differences file: prefix + its name without the leading number. */
    public static String keyOf(String prefix, String step) {
        int sp = step.indexOf(' ');
        return prefix + (sp < 0 ? step : step.substring(sp + 1));
    }

    private void compareStep(Observation e, Observation a) {
        steps++;
        if (e == null || a == null) {
            mismatches++;
            lines.add("MISMATCH step only in " + (e == null ? actualLabel : expectedLabel) + ": "
                    + (e == null ? a.step() : e.step()));
            return;
        }
        if (!e.step().equals(a.step())) {
            mismatches++;
            lines.add("MISMATCH step order differs: " + e.step() + " vs " + a.step());
            return;
        }
        String head = e.step() + "   [" + e.request() + "]";
        if (!e.typed().equals(a.typed())) {
            String key = keyOf(keyPrefix, e.step());
            if (known.isKnown(key)) {
                knownSeen.add(key);
                knownMismatches++;
                lines.add("KNOWN    " + head + "  (" + known.reason(key) + ")");
            } else {
                mismatches++;
                lines.add("MISMATCH " + head);
            }
            lines.add("    expected (" + expectedLabel + "): " + e.typed());
            lines.add("    actual   (" + actualLabel + "): " + a.typed());
            addRaw(e, a);
            return;
        }
        if (!e.generic().equals(a.generic())) {
            warnings++;
            lines.add("warn     " + head + "  (same for a Java client; other fields differ)");
            lines.add("    expected (" + expectedLabel + "): " + e.generic());
            lines.add("    actual   (" + actualLabel + "): " + a.generic());
            addRaw(e, a);
            return;
        }
        List<String> why = new ArrayList<>();
        if (!Arrays.equals(e.body(), a.body())) {
            why.add("body bytes differ");
        }
        if (!Objects.equals(e.remark(), a.remark())) {
            why.add("remark differs");
        }
        if (!why.isEmpty()) {
            notes++;
            lines.add("note     " + head + "  (" + String.join(", ", why) + ")");
            if (!Objects.equals(e.remark(), a.remark())) {
                lines.add("    remark expected: " + e.remark());
                lines.add("    remark actual  : " + a.remark());
            }
            addRaw(e, a);
            return;
        }
        lines.add("ok       " + head);
    }

    private void addRaw(Observation e, Observation a) {
        if (!Arrays.equals(e.body(), a.body())) {
            lines.add("    raw expected: " + Canonical.abbreviate(e.bodyText(), 700));
            lines.add("    raw actual  : " + Canonical.abbreviate(a.bodyText(), 700));
        }
    }

    public boolean hasMismatches() {
        return mismatches > 0;
    }

    public int mismatches() {
        return mismatches;
    }

    public int knownMismatches() {
        return knownMismatches;
    }

    public int warnings() {
        return warnings;
    }

    public int notes() {
        return notes;
    }

    /** One-line summary. */
    public String summary() {
        return String.format("differential %s vs %s: %d steps, %d mismatches, %d known, %d warnings, %d notes",
                expectedLabel, actualLabel, steps, mismatches, knownMismatches, warnings, notes);
    }

    /** Every step's request and typed answer of one run: documents what the reference server does. */
    public static String transcript(String label, List<Observation> run) {
        StringBuilder sb = new StringBuilder("==== transcript of ").append(label).append(" ====\n");
        for (Observation o : run) {
            sb.append(o.step()).append("   [").append(o.request()).append("]\n");
            sb.append("    ").append(o.generic()).append('\n');
            if (o.body() != null && o.body().length > 0) {
                sb.append("    raw: ").append(o.bodyText()).append('\n');
            }
            if (o.code() != 0 && o.remark() != null) {
                sb.append("    remark: ").append(o.remark()).append('\n');
            }
        }
        return sb.toString();
    }

    /** The full report: one line per step plus details for every difference. */
    public String render() {
        return render(true);
    }

    /**
     * The report. With {@code full} every step and every detail; otherwise (for the console)
     * no ok steps, and details only for MISMATCH and KNOWN steps.
     */
    public String render(boolean full) {
        StringBuilder sb = new StringBuilder();
        sb.append("==== ").append(summary()).append(" ====\n");
        boolean showDetails = true;
        for (String l : lines) {
            boolean detail = l.startsWith("    ");
            if (!detail) {
                showDetails = full || l.startsWith("MISMATCH") || l.startsWith("KNOWN");
                if (full || !l.startsWith("ok ")) {
                    sb.append(l).append('\n');
                }
            } else if (showDetails) {
                sb.append(l).append('\n');
            }
        }
        sb.append("==== end of report ====\n");
        return sb.toString();
    }
}
