package rmq.interop.harness5.failover;

import rmq.interop.harness.Await;
import rmq.interop.harness.ChaosProcess;

import java.io.IOException;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.body.BrokerReplicasInfo;
import org.apache.rocketmq.remoting.protocol.header.controller.GetMetaDataResponseHeader;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.route.QueueData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

import rmq.interop.harness.Ports;

/**
 * A controller-mode broker group for the failover chaos run: three controllers (independent
 * deployment, one DLedger/Raft group), one name server and three brokers of {@code broker-a}
 * with {@code brokerId=-1} that get their role from the controllers.
 *
 * <p>Two targets with the same configuration keys (Apache 5's {@code ControllerConfig} and
 * {@code BrokerConfig}), each server started from a generated config file in its own directory:
 * {@code apache} runs Apache RocketMQ 5.3.3's {@code ControllerStartup}, {@code NamesrvStartup}
 * and {@code BrokerStartup} as child JVMs on this project's Maven classpath; {@code rmq} runs our
 * {@code mqcontroller -c}, {@code mqnamesrv} and {@code mqbroker -c} binaries. Every port is
 * chosen up front so that a killed server comes back on its address with its store.
 */
public final class FailoverCluster implements AutoCloseable {
    public static final String CLUSTER = "DefaultCluster";
    public static final String BROKER_NAME = "broker-a";
    public static final String RAFT_GROUP = "group1";
    public static final int REPLICAS = 3;

    /**
     * Controller settings for a fast failover, written identically for both targets:
     * how often a controller looks for brokers whose heartbeat expired, and how often the
     * leader looks for broker groups without a live master (e.g. after a controller change).
     */
    public static final Map<String, String> CONTROLLER_KNOBS = Map.of(
            "scanNotActiveBrokerInterval", "1000",
            "scanInactiveMasterInterval", "1000");

    /**
     * Broker settings for a fast failover, written identically for both targets: how long the
     * controller waits for a heartbeat before it declares a broker dead (the broker sends it
     * with each heartbeat), how often a broker fetches its group's replica info from the controller,
     * and how often it asks which controller leads.
     */
    public static final Map<String, String> BROKER_KNOBS = Map.of(
            "controllerHeartBeatTimeoutMills", "3000",
            "brokerHeartbeatInterval", "1000",
            "syncBrokerMetadataPeriod", "1000",
            "syncControllerMetadataPeriod", "2000");

    /**
     * Which implementation runs the servers: all Apache 5.3.3, all rmq, or one side's brokers
     * (with its name server) under the other side's controllers, which checks that the broker
     * &lt;-&gt; controller protocol is the same on both.
     */
    public enum Target {
        APACHE(true, true), RMQ(false, false),
        RMQ_BROKERS_APACHE_CONTROLLERS(true, false), APACHE_BROKERS_RMQ_CONTROLLERS(false, true);

        private final boolean apacheControllers;
        private final boolean apacheBrokers;

        Target(boolean apacheControllers, boolean apacheBrokers) {
            this.apacheControllers = apacheControllers;
            this.apacheBrokers = apacheBrokers;
        }

        /** Whether the controllers are Apache's. */
        public boolean apacheControllers() {
            return apacheControllers;
        }

        /** Whether the brokers and the name server are Apache's. */
        public boolean apacheBrokers() {
            return apacheBrokers;
        }

        /** Whether any rmq binary is needed. */
        public boolean needsRmq() {
            return !(apacheControllers && apacheBrokers);
        }

        public static Target parse(String s) {
            return Target.valueOf(s.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
        }

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** Where the rmq binaries are (for every target but {@link Target#APACHE}). */
    public record Binaries(Path controller, Path namesrv, Path broker) {
    }

    private final Target target;
    private final Path root;
    private final List<ChaosProcess> controllers = new ArrayList<>();
    private final List<String> controllerAddrs = new ArrayList<>();
    private final List<ChaosProcess> brokers = new ArrayList<>();
    private final List<String> brokerAddrs = new ArrayList<>();
    private final List<Path> brokerStores = new ArrayList<>();
    private ChaosProcess namesrv;
    private String namesrvAddr;
    private DefaultMQAdminExt admin;

    private FailoverCluster(Target target, Path root) {
        this.target = target;
        this.root = root;
    }

    /**
     * Starts the controllers (and waits for a Raft leader), the name server, then the first broker
     * (and waits until it is master), then the other two brokers.
     */
    public static FailoverCluster start(Target target, Path root, Binaries bins) throws Exception {
        FailoverCluster c = new FailoverCluster(target, root);
        try {
            c.boot(bins);
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    private void boot(Binaries bins) throws Exception {
        Files.createDirectories(root);
        // the admin client talks to controllers and brokers by address; the name server comes later
        admin = new DefaultMQAdminExt(5000);
        admin.setNamesrvAddr("127.0.0.1:1");
        admin.setInstanceName("failover-admin-" + ProcessHandle.current().pid());
        admin.start();
        Set<Integer> taken = new HashSet<>();
        List<Integer> peerPorts = new ArrayList<>();
        for (int i = 0; i < REPLICAS; i++) {
            peerPorts.add(freePort(taken));
        }
        StringBuilder peers = new StringBuilder();
        for (int i = 0; i < REPLICAS; i++) {
            controllerAddrs.add("127.0.0.1:" + peerPorts.get(i));
            peers.append(i == 0 ? "" : ";").append('n').append(i).append("-127.0.0.1:").append(peerPorts.get(i));
        }
        for (int i = 0; i < REPLICAS; i++) {
            Path dir = root.resolve("controller-n" + i);
            Map<String, String> conf = new LinkedHashMap<>();
            conf.put("controllerDLegerGroup", RAFT_GROUP);
            conf.put("controllerDLegerPeers", peers.toString());
            conf.put("controllerDLegerSelfId", "n" + i);
            conf.put("controllerStorePath", dir.resolve("store").toString());
            conf.put("configStorePath", dir.resolve("controller.properties").toString());
            conf.put("enableElectUncleanMaster", "false");
            conf.put("notifyBrokerRoleChanged", "true");
            // the DLedger log's file size (Apache's default is 1 GiB per file)
            conf.put("mappedFileSize", String.valueOf(64 << 20));
            conf.putAll(CONTROLLER_KNOBS);
            Path file = writeConf(dir, "controller.conf", conf);
            List<String> cmd = target.apacheControllers()
                    ? javaCommand(dir, "256m", "controller", "org.apache.rocketmq.controller.ControllerStartup", "-c", file.toString())
                    : List.of(bins.controller().toString(), "-c", file.toString());
            controllers.add(new ChaosProcess("controller-n" + i, cmd, dir));
        }
        startAll(controllers, Duration.ofSeconds(90));
        Await.require(Duration.ofSeconds(60), "a controller leader", () -> controllerLeader() != null);

        int nsPort = freePort(taken);
        namesrvAddr = "127.0.0.1:" + nsPort;
        Path nsDir = root.resolve("namesrv");
        if (target.apacheBrokers()) {
            Map<String, String> conf = new LinkedHashMap<>();
            conf.put("listenPort", Integer.toString(nsPort));
            conf.put("kvConfigPath", nsDir.resolve("kvConfig.json").toString());
            conf.put("configStorePath", nsDir.resolve("namesrv.properties").toString());
            Path file = writeConf(nsDir, "namesrv.conf", conf);
            namesrv = new ChaosProcess("namesrv", javaCommand(nsDir, "192m", "namesrv",
                    "org.apache.rocketmq.namesrv.NamesrvStartup", "-c", file.toString()), nsDir);
        } else {
            namesrv = new ChaosProcess("namesrv", List.of(bins.namesrv().toString(), "--listenPort",
                    Integer.toString(nsPort), "--kvConfigPath", nsDir.resolve("kvConfig.json").toString()), nsDir);
        }
        namesrv.start(Duration.ofSeconds(60));

        admin.setNamesrvAddr(namesrvAddr);
        admin.getDefaultMQAdminExtImpl().getMqClientInstance().getMQClientAPIImpl().updateNameServerAddressList(namesrvAddr);

        String controllerAddr = String.join(";", controllerAddrs);
        for (int i = 0; i < REPLICAS; i++) {
            int port;
            do {
                port = Ports.freeBrokerPort();
            } while (taken.contains(port - 2) || taken.contains(port) || taken.contains(port + 1));
            taken.add(port - 2);
            taken.add(port);
            taken.add(port + 1);
            Path dir = root.resolve("broker-" + i);
            Path store = dir.resolve("store");
            Map<String, String> conf = new LinkedHashMap<>();
            conf.put("brokerClusterName", CLUSTER);
            conf.put("brokerName", BROKER_NAME);
            conf.put("brokerId", "-1");
            conf.put("brokerRole", "SLAVE");
            conf.put("enableControllerMode", "true");
            conf.put("controllerAddr", controllerAddr);
            conf.put("namesrvAddr", namesrvAddr);
            conf.put("allAckInSyncStateSet", "true");
            conf.put("flushDiskType", "ASYNC_FLUSH");
            conf.put("brokerIP1", "127.0.0.1");
            conf.put("brokerIP2", "127.0.0.1");
            conf.put("listenPort", Integer.toString(port));
            conf.put("haListenPort", Integer.toString(port + 1));
            conf.put("storePathRootDir", store.toString());
            conf.put("storePathCommitLog", store.resolve("commitlog").toString());
            conf.put("mappedFileSizeCommitLog", String.valueOf(64 << 20));
            conf.put("deleteWhen", "04");
            conf.put("fileReservedTime", "48");
            conf.putAll(BROKER_KNOBS);
            Path file = writeConf(dir, "broker.conf", conf);
            List<String> cmd = target.apacheBrokers()
                    ? javaCommand(dir, "512m", "broker", "org.apache.rocketmq.broker.BrokerStartup", "-c", file.toString())
                    : List.of(bins.broker().toString(), "-c", file.toString());
            brokers.add(new ChaosProcess("broker-" + i, cmd, dir));
            brokerAddrs.add("127.0.0.1:" + port);
            brokerStores.add(store);
        }
        // the first broker becomes master alone, so the group's first epoch is deterministic
        brokers.get(0).start(Duration.ofSeconds(90));
        Await.require(Duration.ofSeconds(60), "broker-0 elected master", () -> brokerAddrs.get(0).equals(masterAddress()));
        startAll(brokers.subList(1, REPLICAS), Duration.ofSeconds(90));
    }

    private static void startAll(List<ChaosProcess> procs, Duration timeout) throws Exception {
        ExecutorService ex = Executors.newFixedThreadPool(procs.size());
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (ChaosProcess p : procs) {
                fs.add(ex.submit(() -> {
                    p.start(timeout);
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof Exception ce ? ce : e;
                }
            }
        } finally {
            ex.shutdownNow();
        }
    }

    /** A port that is free now and not handed out before in this cluster. */
    private static int freePort(Set<Integer> taken) throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            int p;
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress("0.0.0.0", 0));
                p = s.getLocalPort();
            }
            if (taken.add(p)) {
                return p;
            }
        }
        throw new IOException("no free port");
    }

    private static Path writeConf(Path dir, String name, Map<String, String> conf) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(name);
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write("# generated by FailoverCluster\n");
            for (Map.Entry<String, String> e : conf.entrySet()) {
                w.write(e.getKey() + "=" + e.getValue() + "\n");
            }
        }
        return file;
    }

    /**
     * {@code java ... MAIN ARGS} for an Apache server: its own {@code user.home} (Apache writes
     * logs and default stores under it) and {@code rocketmq.home.dir}, its role's logback
     * configuration, a fixed small heap, Serial
     * GC (two cores serve seven JVMs), and the {@code --add-opens} Java 17 needs for Apache's
     * reflective access to buffers, channels and collections.
     */
    private static List<String> javaCommand(Path dir, String heap, String role, String main, String... args) throws IOException {
        Path home = dir.resolve("home");
        Files.createDirectories(home);
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xms" + heap);
        cmd.add("-Xmx" + heap);
        cmd.add("-XX:MaxDirectMemorySize=256m");
        cmd.add("-XX:+UseSerialGC");
        for (String pkg : List.of("java.lang", "java.lang.reflect", "java.lang.invoke", "java.io", "java.net", "java.nio",
                "sun.nio.ch", "java.util", "java.util.concurrent", "java.util.concurrent.atomic", "jdk.internal.misc",
                "jdk.internal.ref", "sun.nio.fs", "java.math", "java.text", "java.security")) {
            cmd.add("--add-opens=java.base/" + pkg + "=ALL-UNNAMED");
        }
        cmd.add("-Duser.home=" + home);
        cmd.add("-Drocketmq.home.dir=" + dir);
        // every server's jar carries its logback file; the first one on the classpath would win
        cmd.add("-Drmq.logback.configurationFile=rmq." + role + ".logback.xml");
        // Apache refuses writes when the disk is 90 % full counting root's reserve; not our subject
        cmd.add("-Drocketmq.broker.diskSpaceWarningLevelRatio=0.99");
        cmd.add("-Drocketmq.broker.diskSpaceCleanForciblyRatio=0.98");
        cmd.add("-cp");
        cmd.add(classpath());
        cmd.add(main);
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** This JVM's classpath (under Surefire the real one is in {@code surefire.test.class.path}). */
    static String classpath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp == null || cp.isBlank() ? System.getProperty("java.class.path") : cp;
    }

    // ------------------------------------------------------------------ observation

    /** The Raft leader's address as some live controller reports it, or null while there is none. */
    public String controllerLeader() {
        for (int i = 0; i < REPLICAS; i++) {
            ChaosProcess c = controllers.get(i);
            if (!c.isAlive() || c.isFrozen()) {
                continue;
            }
            try {
                GetMetaDataResponseHeader h = admin().getControllerMetaData(controllerAddrs.get(i));
                if (h.getControllerLeaderAddress() != null && !h.getControllerLeaderAddress().isBlank()) {
                    return h.getControllerLeaderAddress();
                }
            } catch (Exception | AssertionError e) {
                // dead, not yet booted, or no leader known: ask the next one
            }
        }
        return null;
    }

    /** The controller's view of {@code broker-a} (master, epoch, sync state set), or null if unreachable. */
    public BrokerReplicasInfo.ReplicasInfo replicaInfo() {
        for (int i = 0; i < REPLICAS; i++) {
            ChaosProcess c = controllers.get(i);
            if (!c.isAlive() || c.isFrozen()) {
                continue;
            }
            try {
                BrokerReplicasInfo info = admin().getInSyncStateData(controllerAddrs.get(i), List.of(BROKER_NAME));
                BrokerReplicasInfo.ReplicasInfo r = info.getReplicasInfoTable().get(BROKER_NAME);
                if (r != null) {
                    return r;
                }
            } catch (Exception | AssertionError e) {
                // try the next controller
            }
        }
        return null;
    }

    /** The master's address according to the controllers, or null (no master, or no leader). */
    public String masterAddress() {
        BrokerReplicasInfo.ReplicasInfo r = replicaInfo();
        if (r == null || r.getMasterAddress() == null || r.getMasterAddress().isBlank()) {
            return null;
        }
        return r.getMasterAddress();
    }

    /** The address the name server lists as brokerId 0 of {@code broker-a} for {@code topic}, or null. */
    public String routeMaster(String topic) {
        try {
            TopicRouteData route = admin().examineTopicRouteInfo(topic);
            for (BrokerData bd : route.getBrokerDatas()) {
                if (BROKER_NAME.equals(bd.getBrokerName())) {
                    return bd.getBrokerAddrs().get(0L);
                }
            }
        } catch (Exception e) {
            // no route yet
        }
        return null;
    }

    /** Write queues the name server announces for {@code topic} on {@code broker-a}. */
    public int routeWriteQueues(String topic) {
        try {
            TopicRouteData route = admin().examineTopicRouteInfo(topic);
            for (QueueData qd : route.getQueueDatas()) {
                if (BROKER_NAME.equals(qd.getBrokerName())) {
                    return qd.getWriteQueueNums();
                }
            }
        } catch (Exception e) {
            // no route yet
        }
        return 0;
    }

    /**
     * Creates {@code topic} with {@code queues} read and write queues on every broker of the
     * group (as {@code mqadmin updateTopic -c} does per broker); a slave may refuse, the master's
     * copy then reaches it by metadata sync.
     */
    public void createTopic(String topic, int queues) {
        TopicConfig tc = new TopicConfig(topic, queues, queues, 6);
        for (String addr : brokerAddrs) {
            try {
                admin().createAndUpdateTopicConfig(addr, tc);
            } catch (Exception | AssertionError e) {
                System.out.println("[failover] createTopic on " + addr + ": " + e);
            }
        }
    }

    /** {@code commitLogMaxOffset} from a broker's runtime stats, or -1 if it does not answer. */
    public long commitLogMaxOffset(int broker) {
        try {
            String v = admin().fetchBrokerRuntimeStats(brokerAddrs.get(broker)).getTable().get("commitLogMaxOffset");
            return v == null ? -1 : Long.parseLong(v.trim());
        } catch (Exception e) {
            return -1;
        }
    }

    /** One line per server and the controllers' view of the group, for failure messages. */
    public String describe(String topic) {
        StringBuilder sb = new StringBuilder();
        for (ChaosProcess p : controllers) {
            sb.append(p.name()).append(p.isAlive() ? " up" : " DOWN").append("; ");
        }
        for (int i = 0; i < brokers.size(); i++) {
            ChaosProcess p = brokers.get(i);
            sb.append(p.name()).append(' ').append(brokerAddrs.get(i))
                    .append(p.isFrozen() ? " FROZEN" : p.isAlive() ? " up" : " DOWN").append("; ");
        }
        sb.append("controller leader ").append(controllerLeader());
        BrokerReplicasInfo.ReplicasInfo r = replicaInfo();
        if (r != null) {
            sb.append("; master ").append(r.getMasterAddress()).append(" epoch ").append(r.getMasterEpoch())
                    .append(" inSync ").append(r.getInSyncReplicas()).append(" notInSync ").append(r.getNotInSyncReplicas());
        }
        sb.append("; route master ").append(routeMaster(topic));
        return sb.toString();
    }

    public DefaultMQAdminExt admin() {
        return admin;
    }

    public Target target() {
        return target;
    }

    public Path root() {
        return root;
    }

    public String namesrvAddr() {
        return namesrvAddr;
    }

    public List<ChaosProcess> controllers() {
        return controllers;
    }

    public List<String> controllerAddrs() {
        return controllerAddrs;
    }

    public List<ChaosProcess> brokers() {
        return brokers;
    }

    public List<String> brokerAddrs() {
        return brokerAddrs;
    }

    /** The epoch file of broker {@code i} ({@code <storePathRootDir>/epochFileCheckpoint}). */
    public Path epochFile(int i) {
        return brokerStores.get(i).resolve("epochFileCheckpoint");
    }

    public Path brokerStore(int i) {
        return brokerStores.get(i);
    }

    /** Index of the broker listening on {@code addr}, or -1. */
    public int brokerIndex(String addr) {
        return brokerAddrs.indexOf(addr);
    }

    /** Index of the controller whose peer address is {@code addr}, or -1. */
    public int controllerIndex(String addr) {
        return controllerAddrs.indexOf(addr);
    }

    /** Stops everything (brokers first, SIGTERM with a grace period); stores stay for inspection. */
    @Override
    public void close() {
        if (admin != null) {
            try {
                admin.shutdown();
            } catch (RuntimeException ignored) {
                // best effort
            }
        }
        for (ChaosProcess b : brokers) {
            b.stop(Duration.ofSeconds(15));
        }
        if (namesrv != null) {
            namesrv.stop(Duration.ofSeconds(10));
        }
        for (ChaosProcess c : controllers) {
            c.stop(Duration.ofSeconds(10));
        }
    }

    /** Deletes every store (commit-log files are 64 MiB each) but keeps configs and logs. */
    public void deleteStores() {
        List<Path> stores = new ArrayList<>(brokerStores);
        for (int i = 0; i < REPLICAS; i++) {
            stores.add(root.resolve("controller-n" + i).resolve("store"));
        }
        for (Path s : stores) {
            if (!Files.isDirectory(s)) {
                continue;
            }
            try (java.util.stream.Stream<Path> walk = Files.walk(s)) {
                walk.sorted(java.util.Comparator.reverseOrder())
                        .filter(p -> !p.getFileName().toString().equals("epochFileCheckpoint")
                                && !p.equals(s))
                        .forEach(p -> {
                            try {
                                Files.deleteIfExists(p);
                            } catch (IOException ignored) {
                                // a non-empty directory that holds the kept epoch file
                            }
                        });
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
