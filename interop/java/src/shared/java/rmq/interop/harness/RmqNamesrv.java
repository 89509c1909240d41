package rmq.interop.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Our name server binary started as a child process on an ephemeral port.
 *
 * <p>Command-line contract: {@code mqnamesrv --listenPort 0 --kvConfigPath FILE [--key value]...};
 * the binary prints {@code ... listening on HOST:PORT} once bound and exits on SIGTERM.
 */
public final class RmqNamesrv implements NameServer {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private final ServerProcess process;
    private final Path dataDir;

    private RmqNamesrv(ServerProcess process, Path dataDir) {
        this.process = process;
        this.dataDir = dataDir;
    }

    /** Starts {@code binary} with a fresh data directory under {@link Locations#scratchDir()}. */
    public static RmqNamesrv start(Path binary) throws IOException {
        return start(binary, Map.of());
    }

    /**
     * Starts {@code binary} on port 0 with extra {@code --key value} options.
     */
    public static RmqNamesrv start(Path binary, Map<String, String> extraOptions) throws IOException {
        if (!Files.isExecutable(binary)) {
            throw new IOException("name server binary not found or not executable: " + binary);
        }
        String label = "rmq-namesrv-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
        Path dir = Locations.scratchDir().resolve(label);
        Files.createDirectories(dir);
        List<String> cmd = new ArrayList<>();
        cmd.add(binary.toAbsolutePath().toString());
        cmd.add("--listenPort");
        cmd.add("0");
        cmd.add("--kvConfigPath");
        cmd.add(dir.resolve("kvConfig.json").toString());
        extraOptions.forEach((k, v) -> {
            cmd.add("--" + k);
            cmd.add(v);
        });
        ServerProcess sp = ServerProcess.start(label, cmd, dir, dir.resolve("output.log"), Duration.ofSeconds(30));
        return new RmqNamesrv(sp, dir);
    }

    @Override
    public String address() {
        return process.address();
    }

    @Override
    public String kind() {
        return "rmq";
    }

    public ServerProcess process() {
        return process;
    }

    public Path dataDir() {
        return dataDir;
    }

    @Override
    public void close() {
        process.close();
    }

    @Override
    public String toString() {
        return "rmq namesrv at " + address() + " (pid " + process.pid() + ")";
    }
}
