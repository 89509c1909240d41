package rmq.interop.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Apache RocketMQ 4.9.7's broker in a child JVM ({@link rmq.interop.ApacheBrokerMain}) with a
 * small heap, a temp store and a 64 MiB commit-log file, on a free port triple (P-2, P, P+1).
 * The reference implementation in the broker differential.
 */
public final class ApacheBroker {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private ApacheBroker() {
    }

    /** Starts the broker JVM ({@code jvmOptions}, e.g. {@code -Xmx384m}) registered with {@code namesrvAddr}. */
    public static ServerProcess start(String namesrvAddr, List<String> jvmOptions, Map<String, String> options) throws IOException {
        String label = "apache-broker-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
        Path dir = Locations.scratchDir().resolve(label);
        Files.createDirectories(dir);
        Map<String, String> opts = new LinkedHashMap<>();
        opts.put("listenPort", "0");
        opts.put("brokerIP1", "127.0.0.1");
        opts.put("brokerName", RmqBroker.BROKER_NAME);
        opts.put("brokerClusterName", RmqBroker.CLUSTER_NAME);
        opts.put("storePathRootDir", dir.resolve("store").toString());
        opts.put("mappedFileSizeCommitLog", String.valueOf(64 << 20));
        opts.putAll(options);
        List<String> args = new ArrayList<>();
        args.add("-n");
        args.add(namesrvAddr);
        opts.forEach((k, v) -> {
            args.add("--" + k);
            args.add(v);
        });
        return ServerProcess.start(label, command(jvmOptions, args), dir, dir.resolve("output.log"), Duration.ofSeconds(90));
    }

    /**
     * The command line of a broker JVM running {@link rmq.interop.ApacheBrokerMain} with
     * {@code args} (its own {@code -c}, {@code -n} and {@code --key value} options), for callers
     * that start and restart the process themselves.
     */
    public static List<String> command(List<String> jvmOptions, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        // the store unmaps files through DirectByteBuffer internals (Java 17 needs these opens)
        cmd.add("--add-opens=java.base/java.nio=ALL-UNNAMED");
        cmd.add("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED");
        cmd.add("--add-opens=java.base/java.lang=ALL-UNNAMED");
        // recovery after a crash destroys index files through jdk.internal.ref.Cleaner
        cmd.add("--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED");
        cmd.add("--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED");
        cmd.add("-Drocketmq.client.logUseSlf4j=true");
        cmd.add("-cp");
        cmd.add(ApacheNamesrv.currentClasspath());
        cmd.add("rmq.interop.ApacheBrokerMain");
        cmd.addAll(args);
        return cmd;
    }

    /** Apache's name server (in this JVM) and Apache's broker (child JVM, {@code -Xmx384m}). */
    public static BrokerStack startStack(Map<String, String> brokerOptions) throws IOException {
        return startStack(brokerOptions, List.of());
    }

    /**
     * The same with extra JVM options for the broker, e.g. {@code -Drocketmq.home.dir=HOME}: where
     * Apache's ACL reads {@code conf/plain_acl.yml} (a system property, not a broker option).
     */
    public static BrokerStack startStack(Map<String, String> brokerOptions, List<String> extraJvmOptions) throws IOException {
        ApacheNamesrv ns = ApacheNamesrv.startInProcess();
        try {
            List<String> jvm = new ArrayList<>(List.of("-Xmx384m", "-Xms128m", "-XX:+UseSerialGC"));
            jvm.addAll(extraJvmOptions);
            ServerProcess broker = start(ns.address(), jvm, brokerOptions);
            return new Stack(ns, broker);
        } catch (IOException | RuntimeException e) {
            ns.close();
            throw e;
        }
    }

    private record Stack(ApacheNamesrv ns, ServerProcess broker) implements BrokerStack {
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
            return RmqBroker.BROKER_NAME;
        }

        @Override
        public String clusterName() {
            return RmqBroker.CLUSTER_NAME;
        }

        @Override
        public String kind() {
            return ApacheNamesrv.versionLabel();
        }

        @Override
        public ServerProcess brokerProcess() {
            return broker;
        }

        @Override
        public void close() {
            try {
                broker.close();
                RmqBroker.deleteStore(broker);
            } finally {
                ns.close();
            }
        }

        @Override
        public String toString() {
            return kind() + " broker " + broker.address() + " (pid " + broker.pid() + ") + namesrv " + ns.address();
        }
    }
}
