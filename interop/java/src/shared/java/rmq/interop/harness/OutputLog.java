package rmq.interop.harness;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.Consumer;

/**
 * What a child server printed: every line copied to a log file as it comes (a failing test
 * points at the file), the last lines kept in memory for error messages. One instance per
 * server, shared by {@link ServerProcess} and {@link ChaosProcess}.
 */
final class OutputLog {
    private final int keep;
    private final Deque<String> tail = new ArrayDeque<>();

    /** Keeps the last {@code keep} lines. */
    OutputLog(int keep) {
        this.keep = keep;
    }

    /**
     * Copies {@code in} line by line to {@code logFile} (appended to, or replaced) until the
     * stream ends or fails (the pipe closes when the child dies), showing each line to
     * {@code onLine} after it is logged, e.g. to spot a boot line.
     */
    void copy(InputStream in, Path logFile, boolean append, Consumer<String> onLine) {
        StandardOpenOption[] mode = append
                ? new StandardOpenOption[] {StandardOpenOption.CREATE, StandardOpenOption.APPEND}
                : new StandardOpenOption[] {StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE};
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
             Writer w = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8, mode)) {
            String line;
            while ((line = r.readLine()) != null) {
                w.write(line);
                w.write('\n');
                w.flush();
                synchronized (tail) {
                    tail.addLast(line);
                    if (tail.size() > keep) {
                        tail.removeFirst();
                    }
                }
                onLine.accept(line);
            }
        } catch (IOException e) {
            // the stream closes when the child dies; nothing else to do
        }
    }

    /** The last lines, oldest first. */
    List<String> lines() {
        synchronized (tail) {
            return new ArrayList<>(tail);
        }
    }
}
