package rmq.interop5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import rmq.interop.harness5.failover.EpochFiles;
import rmq.interop.harness5.failover.EpochFiles.Entry;

/** The epoch-file reader and the one-history check that FailoverChaos relies on can say no. */
class EpochFilesTest {
    @TempDir
    Path dir;

    /** Writes a file the way Apache's CheckpointFile does (count, CRC32 of the lines with the sign bit cleared). */
    private Path write(String name, String... lines) throws IOException {
        StringBuilder body = new StringBuilder();
        for (String l : lines) {
            body.append(l).append('\n');
        }
        CRC32 c = new CRC32();
        c.update(body.toString().getBytes(StandardCharsets.UTF_8));
        Path f = dir.resolve(name);
        Files.writeString(f, lines.length + "\n" + (c.getValue() & 0x7FFFFFFFL) + "\n" + body);
        return f;
    }

    @Test
    void readsApacheLayoutAndChecksCrc() throws IOException {
        Path f = write("a", "1-0", "2-662940", "3-3628569");
        assertEquals(List.of(new Entry(1, 0), new Entry(2, 662940), new Entry(3, 3628569)), EpochFiles.read(f));
        // the epoch file Apache 5.3.3 wrote in a chaos run (CRC as printed there)
        Path real = dir.resolve("real");
        Files.writeString(real, "3\n2033575601\n1-0\n2-662940\n3-3628569\n");
        assertEquals(3, EpochFiles.read(real).size());
        Files.writeString(real, "3\n2033575601\n1-0\n2-662941\n3-3628569\n");
        assertThrows(IOException.class, () -> EpochFiles.read(real), "a changed entry must break the CRC");
        Files.writeString(real, "4\n0\n1-0\n2-662940\n3-3628569\n");
        assertThrows(IOException.class, () -> EpochFiles.read(real), "a wrong count must be refused");
        Files.writeString(real, "2\n0\n1-0\n2-662940\n");
        assertEquals(2, EpochFiles.read(real).size(), "CRC 0 means unchecked");
        assertTrue(EpochFiles.read(dir.resolve("absent")).isEmpty());
        // CRC32("1-0\n2-5\n") = 3837134315 has its top bit set: Apache writes 1689650667 (sign bit
        // cleared); the same CRC written as a plain signed 32-bit integer (-457832981) is not Apache's
        Path masked = dir.resolve("masked");
        Files.writeString(masked, "2\n1689650667\n1-0\n2-5\n");
        assertEquals(2, EpochFiles.read(masked).size());
        Path signed = dir.resolve("signed");
        Files.writeString(signed, "2\n-457832981\n1-0\n2-5\n");
        assertThrows(IOException.class, () -> EpochFiles.read(signed));
        List<String> problems = new java.util.ArrayList<>();
        assertEquals(2, EpochFiles.parse(signed, problems).size(), "entries still usable for the comparison");
        assertEquals(1, problems.size(), problems.toString());
    }

    @Test
    void conflictsNameTheEpochWhoseStartDiffers() {
        Map<String, List<Entry>> ok = new LinkedHashMap<>();
        ok.put("b0", List.of(new Entry(1, 0), new Entry(2, 100), new Entry(3, 250)));
        ok.put("b1", List.of(new Entry(1, 0), new Entry(2, 100)));
        ok.put("b2", List.of());
        assertTrue(EpochFiles.conflicts(ok).isEmpty());

        Map<String, List<Entry>> split = new LinkedHashMap<>(ok);
        split.put("b2", List.of(new Entry(1, 0), new Entry(2, 100), new Entry(3, 260)));
        List<String> c = EpochFiles.conflicts(split);
        assertEquals(1, c.size());
        assertTrue(c.get(0).startsWith("epoch 3 "), c.get(0));
    }
}
