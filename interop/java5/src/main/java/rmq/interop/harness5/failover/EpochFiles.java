package rmq.interop.harness5.failover;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;

/**
 * Reads the epoch file every controller-mode replica keeps ({@code <storePathRootDir>/epochFileCheckpoint},
 * Apache's {@code CheckpointFile} layout: entry count, CRC32 of the entry lines or 0, then one
 * {@code epoch-startOffset} line per entry) and checks that the replicas tell one history: an epoch
 * has one master, so every replica that knows an epoch must place its start at the same offset.
 */
public final class EpochFiles {
    private EpochFiles() {
    }

    /** One line of an epoch file. */
    public record Entry(int epoch, long startOffset) {
    }

    /**
     * Parses one replica's file; an absent file is an empty history. A count or CRC that does not
     * match the entries is an error (Apache would fall back to {@code .bak}; a torn file here is a finding).
     */
    public static List<Entry> read(Path file) throws IOException {
        List<String> problems = new ArrayList<>();
        List<Entry> out = parse(file, problems);
        if (!problems.isEmpty()) {
            throw new IOException(String.join("; ", problems));
        }
        return out;
    }

    /**
     * Like {@link #read} but keeps going past a wrong count, CRC or order (each goes to
     * {@code problems}), so the entries can still be compared with the other replicas'.
     */
    public static List<Entry> parse(Path file, List<String> problems) throws IOException {
        List<Entry> out = new ArrayList<>();
        if (!Files.exists(file)) {
            return out;
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.size() < 2) {
            throw new IOException(file + ": fewer than two header lines");
        }
        int expected = Integer.parseInt(lines.get(0).trim());
        long crc = Long.parseLong(lines.get(1).trim());
        StringBuilder body = new StringBuilder();
        for (String line : lines.subList(2, lines.size())) {
            body.append(line).append('\n');
            if (line.isBlank()) {
                continue;
            }
            String[] parts = line.trim().split("-");
            if (parts.length != 2) {
                throw new IOException(file + ": bad entry line '" + line + "'");
            }
            out.add(new Entry(Integer.parseInt(parts[0]), Long.parseLong(parts[1])));
        }
        if (out.size() != expected) {
            problems.add(file + ": header says " + expected + " entries, found " + out.size());
        }
        if (crc != 0) {
            CRC32 c = new CRC32();
            c.update(body.toString().getBytes(StandardCharsets.UTF_8));
            // Apache's UtilAll.crc32: the CRC32 of the entry lines with the sign bit cleared
            long truth = c.getValue() & 0x7FFFFFFFL;
            if (truth != crc) {
                problems.add(file + ": CRC " + crc + " does not match the entries (Apache's CRC32 & 0x7FFFFFFF is "
                        + truth + ")");
            }
        }
        for (int i = 1; i < out.size(); i++) {
            if (out.get(i).epoch() <= out.get(i - 1).epoch() || out.get(i).startOffset() < out.get(i - 1).startOffset()) {
                problems.add(file + ": entries out of order at line " + (i + 3) + ": " + out);
                break;
            }
        }
        return out;
    }

    /**
     * Compares the histories of several replicas (name to entries).
     *
     * @return one message per epoch whose start offset the replicas disagree on; empty when consistent
     */
    public static List<String> conflicts(Map<String, List<Entry>> replicas) {
        Map<Integer, Map<String, Long>> byEpoch = new TreeMap<>();
        replicas.forEach((name, entries) -> entries.forEach(e ->
                byEpoch.computeIfAbsent(e.epoch(), k -> new LinkedHashMap<>()).put(name, e.startOffset())));
        List<String> out = new ArrayList<>();
        byEpoch.forEach((epoch, starts) -> {
            if (starts.values().stream().distinct().count() > 1) {
                out.add("epoch " + epoch + " starts at different offsets: " + starts);
            }
        });
        return out;
    }
}
