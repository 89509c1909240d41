package rmq.interop.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Our broker binary started as a child process on an ephemeral port, registered with a name server.
 *
 * <p>Command-line contract: {@code mqbroker -n NS --listenPort 0 --brokerIP1 IP --brokerName B
 * --storePathRootDir DIR [--key value]...}; once bound it prints
 * {@code The broker[B, IP:P] boot success. ... listening on IP:P} and it stops on SIGTERM.
 */
public final class RmqBroker {
    private static final AtomicInteger SEQ = new AtomicInteger();

    /** Broker name and cluster every stack in the interop suites uses (Apache's defaults). */
    public static final String BROKER_NAME = "broker-a";
    public static final String CLUSTER_NAME = "DefaultCluster";

    private RmqBroker() {
    }

    /**
     * Starts {@code binary} against {@code namesrvAddr} with a fresh store directory, a 64 MiB
     * commit-log file size, and extra {@code --key value} options (they win over the defaults).
     */
    public static ServerProcess start(Path binary, String namesrvAddr, Map<String, String> options) throws IOException {
        if (!Files.isExecutable(binary)) {
            throw new IOException("broker binary not found or not executable: " + binary);
        }
        String label = "rmq-broker-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
        Path dir = Locations.scratchDir().resolve(label);
        Files.createDirectories(dir);
        Map<String, String> opts = new LinkedHashMap<>();
        opts.put("listenPort", "0");
        opts.put("brokerIP1", "127.0.0.1");
        opts.put("brokerName", BROKER_NAME);
        opts.put("storePathRootDir", dir.resolve("store").toString());
        opts.put("mappedFileSizeCommitLog", String.valueOf(64 << 20));
        opts.putAll(options);
        List<String> cmd = new ArrayList<>();
        cmd.add(binary.toAbsolutePath().toString());
        cmd.add("-n");
        cmd.add(namesrvAddr);
        opts.forEach((k, v) -> {
            cmd.add("--" + k);
            cmd.add(v);
        });
        return ServerProcess.start(label, cmd, dir, dir.resolve("output.log"), Duration.ofSeconds(30));
    }

    /** Our name server and our broker, both binaries, on ephemeral ports. */
    public static Stack startStack(Path namesrvBinary, Path brokerBinary, Map<String, String> brokerOptions)
            throws IOException {
        RmqNamesrv ns = RmqNamesrv.start(namesrvBinary);
        try {
            return new Stack(ns, brokerBinary, brokerOptions, start(brokerBinary, ns.address(), brokerOptions));
        } catch (IOException | RuntimeException e) {
            ns.close();
            throw e;
        }
    }

    /**
     * Deletes the store of a stopped broker (its commit-log files are 64 MiB each); the output log
     * next to it stays for debugging.
     */
    public static void deleteStore(ServerProcess broker) {
        if (broker.isAlive()) {
            return;
        }
        deleteTree(broker.logFile().toAbsolutePath().getParent().resolve("store"));
    }

    /** Deletes a directory and everything in it, best effort (a store under target/ is scratch). */
    public static void deleteTree(Path store) {
        if (!Files.isDirectory(store)) {
            return;
        }
        try (java.util.stream.Stream<Path> walk = Files.walk(store)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: the scratch directory is under target/
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    /** A {@link BrokerStack} of our binaries whose broker can be restarted on its port and store. */
    public static final class Stack implements BrokerStack {
        private final RmqNamesrv ns;
        private final Path binary;
        private final Map<String, String> options;
        /** The first broker: its scratch directory holds the store every restart reuses. */
        private final ServerProcess first;
        private ServerProcess broker;

        private Stack(RmqNamesrv ns, Path binary, Map<String, String> options, ServerProcess first) {
            this.ns = ns;
            this.binary = binary;
            this.options = options;
            this.first = first;
            this.broker = first;
        }

        /** Stops the broker (SIGTERM) and starts it again on its port with its store. */
        public void restartBroker() throws IOException {
            Path store = first.logFile().toAbsolutePath().getParent().resolve("store");
            int port = broker.port();
            broker.stop(Duration.ofSeconds(10));
            Map<String, String> opts = new LinkedHashMap<>(options);
            opts.put("listenPort", Integer.toString(port));
            opts.put("storePathRootDir", store.toString());
            broker = start(binary, ns.address(), opts);
        }

        @Override
        public String namesrvAddr() {
            return ns.address();
        }

        @Override
        public String brokerAddr() {
            return broker.address();
        }

        @Override
        public String brokerName() {
            return BROKER_NAME;
        }

        @Override
        public String clusterName() {
            return CLUSTER_NAME;
        }

        @Override
        public String kind() {
            return "rmq";
        }

        @Override
        public ServerProcess brokerProcess() {
            return broker;
        }

        @Override
        public void close() {
            try {
                broker.close();
                deleteStore(first);
            } finally {
                ns.close();
            }
        }

        @Override
        public String toString() {
            return "rmq broker " + broker.address() + " (pid " + broker.pid() + ") + namesrv " + ns.address();
        }
    }
}
