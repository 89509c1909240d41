package rmq.interop.harness;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One server of a chaos run (controller, name server or broker, Apache's JVM or our binary) that
 * the run kills, freezes and restarts on the same configuration and store: the failover chaos of
 * {@code ../java5} and the single-broker chaos of this project share it.
 *
 * <p>Unlike {@link ServerProcess} the ports are chosen up front (a restarted
 * replica must come back on its address), so readiness is any line containing
 * {@code boot success} (what Apache's {@code ControllerStartup}, {@code NamesrvStartup} and
 * {@code BrokerStartup} print, and our binaries too) or {@code listening on}. Every generation of
 * the process appends to the same log file, with a separator line per start.
 */
public final class ChaosProcess {
    private static final int TAIL_LINES = 100;

    private final String name;
    private final List<String> command;
    private final Path workDir;
    private final Path logFile;
    private final OutputLog output = new OutputLog(TAIL_LINES);
    private volatile Process process;
    private volatile boolean stopped;
    private int generation;

    /** Describes a server; nothing runs until {@link #start(Duration)}. */
    public ChaosProcess(String name, List<String> command, Path workDir) {
        this.name = name;
        this.command = List.copyOf(command);
        this.workDir = workDir;
        this.logFile = workDir.resolve("output.log");
    }

    /** Starts (or restarts) the command and waits until it reports that it booted. */
    public synchronized void start(Duration bootTimeout) throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is already running (pid " + process.pid() + ")");
        }
        Files.createDirectories(workDir);
        generation++;
        try (Writer w = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            w.write("==== start #" + generation + " at " + java.time.Instant.now() + ": " + command + "\n");
        }
        ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true);
        pb.environment().putIfAbsent("RUST_BACKTRACE", "1");
        Process p = pb.start();
        process = p;
        stopped = false;
        CompletableFuture<Void> booted = new CompletableFuture<>();
        Thread pump = new Thread(() -> pump(p, booted), "out-" + name + "-" + generation);
        pump.setDaemon(true);
        pump.start();
        try {
            booted.get(bootTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            kill9();
            throw new IOException(name + " did not report 'boot success' within " + bootTimeout + "\n" + describeTail());
        } catch (ExecutionException e) {
            kill9();
            throw new IOException(name + " failed to boot: " + e.getCause().getMessage() + "\n" + describeTail());
        } catch (InterruptedException e) {
            kill9();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting " + name, e);
        }
    }

    private void pump(Process p, CompletableFuture<Void> booted) {
        try {
            output.copy(p.getInputStream(), logFile, true, line -> {
                if (!booted.isDone() && (line.contains("boot success") || line.contains("listening on "))) {
                    booted.complete(null);
                }
            });
        } finally {
            if (!booted.isDone()) {
                String why;
                try {
                    why = "exited with code " + p.waitFor();
                } catch (InterruptedException e) {
                    why = "output closed";
                }
                booted.completeExceptionally(new IOException(why));
            }
        }
    }

    /** {@code kill -9}: the process dies at once, no shutdown hook, no flush of anything. */
    public synchronized void kill9() {
        Process p = process;
        if (p == null) {
            return;
        }
        if (stopped) {
            signal("CONT"); // a frozen process dies just as well, but leave no zombie state behind
        }
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        stopped = false;
    }

    /** {@code kill -STOP}: the process freezes with its sockets open (a long GC pause or a hung host). */
    public synchronized void freeze() {
        signal("STOP");
        stopped = true;
    }

    /** {@code kill -CONT}: a frozen process carries on where it stopped. */
    public synchronized void thaw() {
        signal("CONT");
        stopped = false;
    }

    private void signal(String sig) {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return;
        }
        try {
            Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).inheritIO().start();
            if (!k.waitFor(5, TimeUnit.SECONDS) || k.exitValue() != 0) {
                throw new IllegalStateException("kill -" + sig + " " + p.pid() + " failed");
            }
        } catch (IOException e) {
            throw new IllegalStateException("kill -" + sig + " " + p.pid() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGTERM, then SIGKILL after {@code grace}: the orderly end of a run. */
    public synchronized void stop(Duration grace) {
        Process p = process;
        if (p == null) {
            return;
        }
        if (stopped) {
            thaw();
        }
        p.toHandle().destroy();
        try {
            if (!p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    public boolean isAlive() {
        Process p = process;
        return p != null && p.isAlive();
    }

    public boolean isFrozen() {
        return stopped;
    }

    public String name() {
        return name;
    }

    public Path workDir() {
        return workDir;
    }

    public Path logFile() {
        return logFile;
    }

    public long pid() {
        Process p = process;
        return p == null ? -1 : p.pid();
    }

    /** The last lines of output, for failure messages. */
    public String describeTail() {
        List<String> lines = output.lines();
        StringBuilder sb = new StringBuilder("--- last output of ").append(name).append(" (log ").append(logFile).append(") ---\n");
        lines.forEach(l -> sb.append(l).append('\n'));
        return sb.append("---").toString();
    }
}
