package rmq.interop;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.apache.rocketmq.namesrv.NamesrvController;

import rmq.interop.harness.ApacheNamesrv;

/**
 * Runs Apache's name server standalone with the same command-line shape and boot line as our
 * {@code mqnamesrv}: {@code --listenPort N} (0 = ephemeral), {@code --kvConfigPath FILE}, any other
 * NamesrvConfig/NettyServerConfig key as {@code --key value}. Prints
 * {@code The Name Server boot success. serializeType=JSON, listening on 127.0.0.1:PORT} and runs
 * until SIGTERM. Used by {@code interop/apache-namesrv.sh} and by the child-JVM harness.
 */
public final class ApacheNamesrvMain {
    private ApacheNamesrvMain() {
    }

    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        int port = 9876;
        Path dataDir = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || i + 1 >= args.length) {
                System.err.println("usage: ApacheNamesrvMain [--listenPort N] [--kvConfigPath FILE] [--key value]...");
                System.exit(2);
            }
            String key = a.substring(2);
            String value = args[++i];
            if (key.equals("listenPort")) {
                port = Integer.parseInt(value);
            } else {
                props.setProperty(key, value);
            }
        }
        String kv = props.getProperty("kvConfigPath");
        if (kv != null) {
            dataDir = Paths.get(kv).toAbsolutePath().getParent();
        } else {
            dataDir = Paths.get(System.getProperty("java.io.tmpdir"), "apache-namesrv-" + ProcessHandle.current().pid());
        }
        NamesrvController controller = ApacheNamesrv.createController(port, dataDir, props);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            controller.shutdown();
            stopped.countDown();
        }, "namesrv-shutdown"));
        controller.start();
        int actual = controller.getRemotingServer().localListenPort();
        System.out.println("The Name Server boot success. serializeType=JSON, listening on 127.0.0.1:" + actual
                + " (" + ApacheNamesrv.versionLabel() + ")");
        System.out.flush();
        stopped.await();
    }
}
