package rmq.interop.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Differences between Apache and our servers that are known, reported and accepted for now,
 * read from {@code interop/known-differences.txt} (lines {@code KEY | reason}; {@code #} comments).
 *
 * <p>A known difference is still printed in every report (as {@code KNOWN}) but does not fail the
 * run, so CI stays usable while a fix is pending. An entry that no longer differs is reported as
 * stale so it can be deleted. {@code RMQ_INTEROP_STRICT=true} ignores the file: everything fails.
 *
 * <p>Keys: {@code namesrv-diff:<step name without its number>} for differential steps,
 * {@code namesrv-api:<test method>} for client-API contract tests, {@code broker:<contract>:<check>}
 * for the broker contracts ({@link #check}).
 */
public final class KnownDifferences {
    private final Map<String, String> entries;
    private final Path source;

    private KnownDifferences(Map<String, String> entries, Path source) {
        this.entries = entries;
        this.source = source;
    }

    /** No known differences (e.g. for Apache vs Apache). */
    public static KnownDifferences none() {
        return new KnownDifferences(Collections.emptyMap(), null);
    }

    /** Loads the project's file, or none when strict mode is on or the file is absent. */
    public static KnownDifferences load() {
        if ("true".equalsIgnoreCase(System.getenv("RMQ_INTEROP_STRICT"))) {
            return none();
        }
        Path p = Locations.repoRoot().resolve("interop").resolve("known-differences.txt");
        if (!Files.isRegularFile(p)) {
            return none();
        }
        Map<String, String> m = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
                String t = line.strip();
                if (t.isEmpty() || t.startsWith("#")) {
                    continue;
                }
                int bar = t.indexOf('|');
                String key = (bar < 0 ? t : t.substring(0, bar)).strip();
                String why = bar < 0 ? "" : t.substring(bar + 1).strip();
                m.put(key, why);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + p, e);
        }
        return new KnownDifferences(m, p);
    }

    public boolean isKnown(String key) {
        return entries.containsKey(key);
    }

    public String reason(String key) {
        return entries.get(key);
    }

    /** All entries with the given key prefix, for stale-entry reporting. */
    public Map<String, String> withPrefix(String prefix) {
        Map<String, String> m = new LinkedHashMap<>();
        entries.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                m.put(k, v);
            }
        });
        return m;
    }

    /**
     * One check of a contract that runs against both brokers: passes, or fails with
     * {@code detail} unless {@code key} is a known difference of our server. The reference
     * (Apache) must always pass, so a wrong expectation cannot hide behind the file. A known key
     * that passes is printed as STALE so its line can go.
     */
    public void check(String key, boolean reference, boolean ok, String detail) {
        if (ok) {
            if (!reference && isKnown(key)) {
                System.out.println("STALE known difference " + key + ": it no longer differs; delete its line in " + source);
            }
            return;
        }
        if (!reference && isKnown(key)) {
            System.out.println("KNOWN " + key + ": " + detail + " — " + reason(key));
            return;
        }
        throw new AssertionError(detail + " [key " + key + "]");
    }

    public Path source() {
        return source;
    }
}
