package rmq.interop.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A server started as a child process that announces its address on stdout.
 *
 * <p>Every server in this project (and {@link rmq.interop.ApacheNamesrvMain}) prints one line
 * containing {@code listening on HOST:PORT} once its socket is bound, so tests can start it on
 * port 0 and learn the real port. Everything the child writes is copied to a log file so that a
 * failing test can point at it; the last lines are also kept in memory for error messages.
 *
 * <p>{@link #close()} sends SIGTERM (what {@link Process#destroy()} does on Unix), waits, and
 * only then escalates to SIGKILL. A JVM shutdown hook kills children left behind by a crashed test.
 */
public final class ServerProcess implements AutoCloseable {
    /** The marker every server prints before its address. */
    public static final String LISTENING_MARKER = "listening on ";

    private static final int TAIL_LINES = 200;

    private final String name;
    private final Process process;
    private final Path logFile;
    private final OutputLog output = new OutputLog(TAIL_LINES);
    private final CompletableFuture<String> address = new CompletableFuture<>();
    private final Thread shutdownHook;
    private volatile Integer exitCode;
    private Thread pumpThread;

    private ServerProcess(String name, Process process, Path logFile) {
        this.name = name;
        this.process = process;
        this.logFile = logFile;
        this.shutdownHook = new Thread(() -> killTree(process), "kill-" + name);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Starts {@code command} and waits until it prints its listening address.
     *
     * @param name    short label used in thread names and messages
     * @param command program and arguments
     * @param workDir working directory of the child (created if missing)
     * @param logFile file receiving the child's stdout and stderr
     * @param bootTimeout how long to wait for the address line
     */
    public static ServerProcess start(String name, List<String> command, Path workDir, Path logFile,
                                      Duration bootTimeout) throws IOException {
        Files.createDirectories(workDir);
        Files.createDirectories(logFile.toAbsolutePath().getParent());
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true);
        // a Rust server that panics should say where
        pb.environment().putIfAbsent("RUST_BACKTRACE", "1");
        Process p = pb.start();
        ServerProcess sp = new ServerProcess(name, p, logFile);
        Thread pump = new Thread(sp::pump, "stdout-" + name);
        pump.setDaemon(true);
        sp.pumpThread = pump;
        pump.start();
        try {
            sp.address.get(bootTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            sp.close();
            throw new IOException(name + " printed no '" + LISTENING_MARKER + "' line within " + bootTimeout
                    + "; command: " + command + "\n" + sp.describeTail());
        } catch (ExecutionException e) {
            sp.close();
            throw new IOException(name + " failed to boot (" + e.getCause().getMessage() + "); command: "
                    + command + "\n" + sp.describeTail());
        } catch (InterruptedException e) {
            sp.close();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting " + name, e);
        }
        return sp;
    }

    /** Extracts {@code HOST:PORT} from a boot line, or returns null if the line has no marker. */
    public static String parseListeningAddress(String line) {
        int i = line.indexOf(LISTENING_MARKER);
        if (i < 0) {
            return null;
        }
        String rest = line.substring(i + LISTENING_MARKER.length()).trim();
        int space = rest.indexOf(' ');
        String addr = space < 0 ? rest : rest.substring(0, space);
        // tolerate a trailing punctuation mark such as "127.0.0.1:9876."
        while (!addr.isEmpty() && !Character.isDigit(addr.charAt(addr.length() - 1))) {
            addr = addr.substring(0, addr.length() - 1);
        }
        int colon = addr.lastIndexOf(':');
        if (colon <= 0 || colon == addr.length() - 1) {
            return null;
        }
        return addr;
    }

    private void pump() {
        try {
            output.copy(process.getInputStream(), logFile, false, line -> {
                if (!address.isDone()) {
                    String addr = parseListeningAddress(line);
                    if (addr != null) {
                        address.complete(addr);
                    }
                }
            });
        } finally {
            if (!address.isDone()) {
                String why;
                try {
                    why = "exited with code " + process.waitFor();
                } catch (InterruptedException e) {
                    why = "stdout closed";
                }
                address.completeExceptionally(new IOException(why));
            }
        }
    }

    /** The {@code HOST:PORT} the server announced. */
    public String address() {
        return address.join();
    }

    /** The TCP port the server announced. */
    public int port() {
        String a = address();
        return Integer.parseInt(a.substring(a.lastIndexOf(':') + 1));
    }

    public String name() {
        return name;
    }

    public Path logFile() {
        return logFile;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** The last lines the child printed, for error messages. */
    public List<String> tail() {
        return output.lines();
    }

    public String describeTail() {
        StringBuilder sb = new StringBuilder("--- last output of ").append(name).append(" (full log: ")
                .append(logFile).append(") ---\n");
        for (String l : tail()) {
            sb.append(l).append('\n');
        }
        return sb.append("---").toString();
    }

    /**
     * Sends SIGTERM and waits up to {@code grace} for the child to exit.
     *
     * @return the exit code, or null if the child had to be killed with SIGKILL
     */
    public Integer stop(Duration grace) {
        if (exitCode != null) {
            return exitCode;
        }
        // SIGTERM through the process handle: Process.destroy() would also close our end of the
        // child's stdout pipe at once, so its last log lines would hit a broken pipe
        process.toHandle().destroy();
        try {
            if (process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                exitCode = process.exitValue();
                // let the pump copy the last lines (e.g. a panic message) before anyone reads the tail
                pumpThread.join(2000);
                return exitCode;
            }
            killTree(process);
            process.waitFor(5, TimeUnit.SECONDS);
            return null;
        } catch (InterruptedException e) {
            killTree(process);
            Thread.currentThread().interrupt();
            return null;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException ignored) {
                // JVM already shutting down
            }
        }
    }

    /**
     * {@code kill -9}: SIGKILL to the child alone, as a crashed machine or the OOM killer would
     * end it (no shutdown hook, no flush, sockets reset), then waits for it to be gone.
     *
     * @return the exit code the OS reported (137-style codes are JVM-specific; Unix gives 137 or -9)
     */
    public Integer kill() {
        if (exitCode != null) {
            return exitCode;
        }
        process.destroyForcibly();
        try {
            if (process.waitFor(10, TimeUnit.SECONDS)) {
                exitCode = process.exitValue();
                pumpThread.join(2000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException ignored) {
                // JVM already shutting down
            }
        }
        return exitCode;
    }

    /**
     * Closes our end of the child's stdout/stderr pipe while it keeps running, as a supervisor
     * that goes away (or {@code | head}) does; later writes of the child fail with EPIPE.
     */
    public void closeOutput() {
        try {
            process.getInputStream().close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    /** SIGKILL to the child and everything it started (a wrapper script may not exec). */
    private static void killTree(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    /** SIGTERM with a 10 s grace period. */
    @Override
    public void close() {
        stop(Duration.ofSeconds(10));
    }
}
