package rmq.interop.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.namesrv.NamesrvConfig;
import org.apache.rocketmq.namesrv.NamesrvController;
import org.apache.rocketmq.remoting.netty.NettyServerConfig;

/**
 * Apache RocketMQ's own name server (from Maven Central), used as the reference implementation
 * in differential tests and as a side-by-side baseline for benchmarks.
 *
 * <p>Two ways to run it: {@link #startInProcess} (fast, shares the test JVM) and
 * {@link #startChildJvm} (its own JVM with a small heap, stopped with SIGTERM like our binaries).
 */
public final class ApacheNamesrv implements NameServer {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private final NamesrvController controller;
    private final ServerProcess child;
    private final String address;
    private final Path dataDir;

    private ApacheNamesrv(NamesrvController controller, ServerProcess child, String address, Path dataDir) {
        this.controller = controller;
        this.child = child;
        this.address = address;
        this.dataDir = dataDir;
    }

    /** Version label of the Apache jars on the classpath, e.g. {@code apache-V4_9_7}. */
    public static String versionLabel() {
        return "apache-" + MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION);
    }

    /**
     * Builds an Apache controller: port {@code listenPort} (0 = ephemeral), KV file and config
     * store inside {@code dataDir}, plus any overrides in {@code props} (NamesrvConfig and
     * NettyServerConfig property names).
     */
    public static NamesrvController createController(int listenPort, Path dataDir, Properties props) throws IOException {
        Files.createDirectories(dataDir);
        NamesrvConfig nc = new NamesrvConfig();
        nc.setKvConfigPath(dataDir.resolve("kvConfig.json").toString());
        nc.setConfigStorePath(dataDir.resolve("namesrv.properties").toString());
        NettyServerConfig sc = new NettyServerConfig();
        sc.setListenPort(listenPort);
        if (props != null && !props.isEmpty()) {
            MixAll.properties2Object(props, nc);
            MixAll.properties2Object(props, sc);
        }
        NamesrvController c = new NamesrvController(nc, sc);
        if (!c.initialize()) {
            c.shutdown();
            throw new IOException("Apache NamesrvController.initialize() failed");
        }
        return c;
    }

    /** Starts Apache's name server inside this JVM on an ephemeral port. */
    public static ApacheNamesrv startInProcess() throws IOException {
        return startInProcess(new Properties());
    }

    /** Starts Apache's name server inside this JVM on an ephemeral port with config overrides. */
    public static ApacheNamesrv startInProcess(Properties props) throws IOException {
        Path dir = Locations.scratchDir().resolve("apache-namesrv-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet());
        NamesrvController c = createController(0, dir, props);
        try {
            c.start();
        } catch (Exception e) {
            c.shutdown();
            throw new IOException("Apache NamesrvController.start() failed", e);
        }
        int port = c.getRemotingServer().localListenPort();
        return new ApacheNamesrv(c, null, "127.0.0.1:" + port, dir);
    }

    /**
     * Starts Apache's name server in a child JVM ({@code -Xmx256m}) running
     * {@link rmq.interop.ApacheNamesrvMain} on an ephemeral port, with this JVM's classpath.
     */
    public static ApacheNamesrv startChildJvm(Map<String, String> options) throws IOException {
        String label = "apache-namesrv-jvm-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
        Path dir = Locations.scratchDir().resolve(label);
        Files.createDirectories(dir);
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx256m");
        cmd.add("-Xms64m");
        cmd.add("-cp");
        cmd.add(currentClasspath());
        cmd.add("rmq.interop.ApacheNamesrvMain");
        cmd.add("--listenPort");
        cmd.add("0");
        cmd.add("--kvConfigPath");
        cmd.add(dir.resolve("kvConfig.json").toString());
        options.forEach((k, v) -> {
            cmd.add("--" + k);
            cmd.add(v);
        });
        ServerProcess sp = ServerProcess.start(label, cmd, dir, dir.resolve("output.log"), Duration.ofSeconds(60));
        return new ApacheNamesrv(null, sp, sp.address(), dir);
    }

    /**
     * The classpath of this JVM. Under Surefire the real classpath is in
     * {@code surefire.test.class.path}; {@code java.class.path} may only hold a booter jar.
     */
    public static String currentClasspath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) {
            cp = System.getProperty("java.class.path");
        }
        return cp;
    }

    @Override
    public String address() {
        return address;
    }

    @Override
    public String kind() {
        return versionLabel() + (child != null ? "-jvm" : "");
    }

    /** The in-process controller, or null for a child JVM. */
    public NamesrvController controller() {
        return controller;
    }

    /** The child process, or null when in-process. */
    public ServerProcess child() {
        return child;
    }

    public Path dataDir() {
        return dataDir;
    }

    /**
     * Stops the server. An in-process controller needs about 3 s to shut down, so it is stopped
     * on a background thread (its port is ephemeral, nothing waits for it); use
     * {@link #closeAndWait()} when the shutdown itself matters.
     */
    @Override
    public void close() {
        if (controller != null) {
            Thread t = new Thread(controller::shutdown, "apache-namesrv-shutdown");
            t.setDaemon(true);
            t.start();
        }
        if (child != null) {
            child.close();
        }
    }

    /** Stops the server and returns once it is down. */
    public void closeAndWait() {
        if (controller != null) {
            controller.shutdown();
        }
        if (child != null) {
            child.close();
        }
    }

    @Override
    public String toString() {
        return kind() + " namesrv at " + address;
    }
}
