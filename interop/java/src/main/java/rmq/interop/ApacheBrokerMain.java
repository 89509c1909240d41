package rmq.interop;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.apache.rocketmq.broker.BrokerController;
import org.apache.rocketmq.broker.BrokerPathConfigHelper;
import org.apache.rocketmq.common.BrokerConfig;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.remoting.common.TlsMode;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyServerConfig;
import org.apache.rocketmq.remoting.netty.TlsSystemConfig;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.store.config.MessageStoreConfig;

import rmq.interop.harness.ApacheNamesrv;
import rmq.interop.harness.Ports;

/**
 * Runs Apache RocketMQ 4.9.7's broker ({@code BrokerController}) with the command-line shape and
 * boot line of our {@code mqbroker}: {@code [-c broker.conf] -n NS --listenPort N --brokerIP1 IP
 * --brokerName B --storePathRootDir DIR [--key value]...} where any other key is a BrokerConfig,
 * NettyServerConfig or MessageStoreConfig property (as in broker.conf; the command line wins
 * over the file). Prints
 * {@code The broker[B, IP:P] boot success. ... listening on IP:P} and runs until SIGTERM.
 *
 * <p>{@code --listenPort 0} picks a free port P itself such that P-2 (Apache's "VIP" fast
 * channel) and P+1 (HA, {@code haListenPort}) are free too; Apache binds all three.
 */
public final class ApacheBrokerMain {
    private ApacheBrokerMain() {
    }

    public static void main(String[] args) throws Exception {
        // as BrokerStartup does: without it every request carries version 0 and the name server
        // takes REGISTER_BROKER for a pre-3.0.11 broker (body = bare topic table: no topics registered)
        System.setProperty(RemotingCommand.REMOTING_VERSION_KEY, Integer.toString(MQVersion.CURRENT_VERSION));
        // Apache refuses every write once the partition is 90 % full, counting space reserved for
        // root as used; a crowded developer disk would then fail the suites for a reason that has
        // nothing to do with compatibility. Our broker's own guard is tested in rmq-store.
        if (System.getProperty("rocketmq.broker.diskSpaceWarningLevelRatio") == null) {
            System.setProperty("rocketmq.broker.diskSpaceWarningLevelRatio", "0.99");
            System.setProperty("rocketmq.broker.diskSpaceCleanForciblyRatio", "0.98");
        }
        Properties props = new Properties();
        Properties fileProps = new Properties();
        int port = 10911;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length || !a.startsWith("-")) {
                System.err.println("usage: ApacheBrokerMain [-c broker.conf] -n NS [--listenPort N] [--storePathRootDir DIR] [--key value]...");
                System.exit(2);
            }
            String key = a.equals("-n") ? "namesrvAddr" : a.replaceFirst("^--?", "");
            String value = args[++i];
            if (key.equals("c") || key.equals("configFile")) {
                try (java.io.Reader r = Files.newBufferedReader(Paths.get(value))) {
                    fileProps.load(r);
                }
            } else {
                props.setProperty(key, value);
            }
        }
        // as BrokerStartup: the file first, the command line wins
        fileProps.stringPropertyNames().forEach(k -> props.putIfAbsent(k, fileProps.getProperty(k).trim()));
        Object listenPort = props.remove("listenPort");
        if (listenPort != null) {
            port = Integer.parseInt(listenPort.toString().trim());
        }
        if (port == 0) {
            port = Ports.freeBrokerPort();
        }
        String ip = props.getProperty("brokerIP1", "127.0.0.1");
        Path root = Paths.get(props.getProperty("storePathRootDir",
                Paths.get(System.getProperty("java.io.tmpdir"), "apache-broker-" + ProcessHandle.current().pid()).toString()))
                .toAbsolutePath();
        Files.createDirectories(root.resolve("config"));

        BrokerConfig bc = new BrokerConfig();
        NettyServerConfig sc = new NettyServerConfig();
        NettyClientConfig cc = new NettyClientConfig();
        // as BrokerStartup: the broker's own connections (name server, master) use TLS with
        // -Dtls.enable=true, or by default when its server is in TLS enforcing mode
        cc.setUseTLS(Boolean.parseBoolean(System.getProperty(TlsSystemConfig.TLS_ENABLE,
                String.valueOf(TlsSystemConfig.tlsMode == TlsMode.ENFORCING))));
        MessageStoreConfig mc = new MessageStoreConfig();
        bc.setBrokerIP1(ip);
        bc.setBrokerIP2(ip);
        bc.setRocketmqHome(root.toString());
        sc.setListenPort(port);
        mc.setHaListenPort(port + 1);
        mc.setStorePathRootDir(root.toString());
        mc.setStorePathCommitLog(root.resolve("commitlog").toString());
        MixAll.properties2Object(props, bc);
        MixAll.properties2Object(props, sc);
        MixAll.properties2Object(props, cc);
        MixAll.properties2Object(props, mc);
        // explicit store root wins over the defaults derived above
        if (props.containsKey("storePathRootDir") && !props.containsKey("storePathCommitLog")) {
            mc.setStorePathCommitLog(root.resolve("commitlog").toString());
        }
        BrokerPathConfigHelper.setBrokerConfigPath(root.resolve("config/broker.properties").toString());

        BrokerController controller = new BrokerController(bc, sc, cc, mc);
        if (!controller.initialize()) {
            controller.shutdown();
            System.err.println("Apache BrokerController.initialize() failed");
            System.exit(1);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            controller.shutdown();
            stopped.countDown();
        }, "broker-shutdown"));
        controller.start();
        String addr = ip + ":" + port;
        System.out.println("The broker[" + bc.getBrokerName() + ", " + addr + "] boot success. serializeType=JSON and name server is "
                + bc.getNamesrvAddr() + ", listening on " + addr + " (" + ApacheNamesrv.versionLabel()
                + ", flushDiskType=" + mc.getFlushDiskType() + ")");
        System.out.flush();
        stopped.await();
    }
}
