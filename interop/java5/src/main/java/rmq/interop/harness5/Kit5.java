package rmq.interop.harness5;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.namesrv.NamesrvConfig;
import org.apache.rocketmq.namesrv.NamesrvController;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyRemotingClient;
import org.apache.rocketmq.remoting.netty.NettyServerConfig;
import org.apache.rocketmq.remoting.protocol.DataVersion;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.RequestCode;
import org.apache.rocketmq.remoting.protocol.body.ClusterInfo;
import org.apache.rocketmq.remoting.protocol.body.KVTable;
import org.apache.rocketmq.remoting.protocol.body.RegisterBrokerBody;
import org.apache.rocketmq.remoting.protocol.body.TopicConfigAndMappingSerializeWrapper;
import org.apache.rocketmq.remoting.protocol.body.TopicList;
import org.apache.rocketmq.remoting.protocol.header.namesrv.QueryDataVersionRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.namesrv.RegisterBrokerRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.namesrv.UnRegisterBrokerRequestHeader;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;

import rmq.interop.harness.Locations;
import rmq.interop.harness.NameServer;
import rmq.interop.proto.ProtocolKit;
import rmq.interop.proto.Response;

/**
 * {@link ProtocolKit} backed by the Apache RocketMQ 5.x jars: raw requests through 5.x's Netty
 * client, a simulated 5.x broker (registration header with {@code heartbeatTimeoutMillis} and
 * {@code enableActingMaster}, data version with {@code stateVersion}), and 5.x's name server.
 */
public final class Kit5 implements ProtocolKit {
    public static final Kit5 INSTANCE = new Kit5();
    private static final AtomicInteger SEQ = new AtomicInteger();

    private Kit5() {
    }

    static Response toResponse(RemotingCommand r) {
        return new Response(r.getCode(), r.getRemark(), r.getExtFields(), r.getBody());
    }

    /**
     * Shuts a 5.x client down on a background thread: its shutdown first stops a wheel timer,
     * which takes about 1.5 s, before it closes any connection.
     */
    static void shutdownInBackground(NettyRemotingClient c) {
        Thread t = new Thread(c::shutdown, "netty5-client-shutdown");
        t.setDaemon(true);
        t.start();
    }

    /** A started 5.x Netty client; one connection per server address. */
    public static NettyRemotingClient newNettyClient() {
        NettyClientConfig cfg = new NettyClientConfig();
        cfg.setClientWorkerThreads(2);
        cfg.setClientCallbackExecutorThreads(2);
        NettyRemotingClient c = new NettyRemotingClient(cfg);
        c.start();
        return c;
    }

    @Override
    public String release() {
        return MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION).replace("V", "").replace('_', '.');
    }

    @Override
    public int currentVersion() {
        return MQVersion.CURRENT_VERSION;
    }

    @Override
    public Requester newRequester() {
        NettyRemotingClient client = newNettyClient();
        return new Requester() {
            @Override
            public Response invoke(String addr, int code, Map<String, String> ext, byte[] body, Integer version,
                                   long timeoutMillis) throws Exception {
                RemotingCommand req = RemotingCommand.createRequestCommand(code, null);
                if (ext != null && !ext.isEmpty()) {
                    req.setExtFields(new HashMap<>(ext));
                }
                req.setVersion(version != null ? version : MQVersion.CURRENT_VERSION);
                req.setBody(body);
                return toResponse(client.invokeSync(addr, req, timeoutMillis));
            }

            @Override
            public void close() {
                shutdownInBackground(client);
            }
        };
    }

    @Override
    public Broker newBroker(String cluster, String brokerName, long brokerId, String brokerAddr, String haServerAddr,
                            long timestamp) {
        return new SimBroker5(cluster, brokerName, brokerId, brokerAddr, haServerAddr, timestamp);
    }

    /** A 5.x broker as the name server sees it. */
    public static final class SimBroker5 implements Broker {
        private final String cluster;
        private final String name;
        private final long id;
        private final String addr;
        private final String haAddr;
        private final Map<String, TopicConfig> topics = new LinkedHashMap<>();
        private final DataVersion dataVersion = new DataVersion();
        private boolean compressed;
        private NettyRemotingClient conn;
        private final Set<String> peers = new java.util.LinkedHashSet<>();

        SimBroker5(String cluster, String name, long id, String addr, String haAddr, long timestamp) {
            this.cluster = cluster;
            this.name = name;
            this.id = id;
            this.addr = addr;
            this.haAddr = haAddr;
            dataVersion.setTimestamp(timestamp);
            dataVersion.setCounter(new AtomicLong(1));
            dataVersion.setStateVersion(0);
        }

        private NettyRemotingClient conn(String nsAddr) {
            peers.add(nsAddr);
            if (conn == null) {
                conn = newNettyClient();
            }
            return conn;
        }

        private DataVersion copy() {
            DataVersion d = new DataVersion();
            d.assignNewOne(dataVersion);
            return d;
        }

        @Override
        public Broker topic(String topic, int readQueues, int writeQueues, int perm) {
            topics.put(topic, new TopicConfig(topic, readQueues, writeQueues, perm));
            return this;
        }

        @Override
        public Broker removeTopic(String topic) {
            topics.remove(topic);
            return this;
        }

        @Override
        public Broker compressed(boolean on) {
            compressed = on;
            return this;
        }

        @Override
        public Broker bumpDataVersion() {
            dataVersion.getCounter().incrementAndGet();
            return this;
        }

        @Override
        public String brokerName() {
            return name;
        }

        @Override
        public long brokerId() {
            return id;
        }

        @Override
        public Set<String> topicNames() {
            return topics.keySet();
        }

        @Override
        public long dataVersionCounter() {
            return dataVersion.getCounter().get();
        }

        @Override
        public Response register(String nsAddr) throws Exception {
            TopicConfigAndMappingSerializeWrapper wrapper = new TopicConfigAndMappingSerializeWrapper();
            wrapper.setTopicConfigTable(new ConcurrentHashMap<>(topics));
            wrapper.setDataVersion(copy());
            RegisterBrokerBody body = new RegisterBrokerBody();
            body.setTopicConfigSerializeWrapper(wrapper);
            body.setFilterServerList(new ArrayList<>());
            byte[] bytes = body.encode(compressed);
            CRC32 crc = new CRC32();
            crc.update(bytes);

            RegisterBrokerRequestHeader h = new RegisterBrokerRequestHeader();
            h.setBrokerName(name);
            h.setBrokerAddr(addr);
            h.setClusterName(cluster);
            h.setHaServerAddr(haAddr);
            h.setBrokerId(id);
            h.setCompressed(compressed);
            h.setBodyCrc32((int) (crc.getValue() & 0x7FFFFFFF));
            h.setHeartbeatTimeoutMillis(120_000L);
            h.setEnableActingMaster(false);
            RemotingCommand req = RemotingCommand.createRequestCommand(RequestCode.REGISTER_BROKER, h);
            req.setBody(bytes);
            req.setVersion(MQVersion.CURRENT_VERSION);
            return toResponse(conn(nsAddr).invokeSync(nsAddr, req, 5000));
        }

        @Override
        public Response unregister(String nsAddr) throws Exception {
            UnRegisterBrokerRequestHeader h = new UnRegisterBrokerRequestHeader();
            h.setBrokerName(name);
            h.setBrokerAddr(addr);
            h.setClusterName(cluster);
            h.setBrokerId(id);
            RemotingCommand req = RemotingCommand.createRequestCommand(RequestCode.UNREGISTER_BROKER, h);
            req.setVersion(MQVersion.CURRENT_VERSION);
            return toResponse(conn(nsAddr).invokeSync(nsAddr, req, 5000));
        }

        @Override
        public Response queryDataVersion(String nsAddr, long counterDelta) throws Exception {
            QueryDataVersionRequestHeader h = new QueryDataVersionRequestHeader();
            h.setBrokerName(name);
            h.setBrokerAddr(addr);
            h.setClusterName(cluster);
            h.setBrokerId(id);
            RemotingCommand req = RemotingCommand.createRequestCommand(RequestCode.QUERY_DATA_VERSION, h);
            DataVersion dv = copy();
            dv.getCounter().addAndGet(counterDelta);
            req.setBody(dv.encode());
            req.setVersion(MQVersion.CURRENT_VERSION);
            return toResponse(conn(nsAddr).invokeSync(nsAddr, req, 5000));
        }

        @Override
        public void close() {
            if (conn != null) {
                // close the registering connections now (that is what the name server must
                // notice); the rest of the client's shutdown is slow and can finish later
                conn.closeChannels(new ArrayList<>(peers));
                shutdownInBackground(conn);
                conn = null;
                peers.clear();
            }
        }
    }

    @Override
    public Class<?> topicRouteDataClass() {
        return TopicRouteData.class;
    }

    @Override
    public Class<?> clusterInfoClass() {
        return ClusterInfo.class;
    }

    @Override
    public Class<?> topicListClass() {
        return TopicList.class;
    }

    @Override
    public Class<?> kvTableClass() {
        return KVTable.class;
    }

    @Override
    public Class<?> dataVersionClass() {
        return DataVersion.class;
    }

    @Override
    public NameServer startApacheNamesrv(Properties config) throws IOException {
        Path dir = Locations.scratchDir().resolve("apache5-namesrv-" + ProcessHandle.current().pid() + "-"
                + SEQ.incrementAndGet());
        Files.createDirectories(dir);
        NamesrvConfig nc = new NamesrvConfig();
        nc.setKvConfigPath(dir.resolve("kvConfig.json").toString());
        nc.setConfigStorePath(dir.resolve("namesrv.properties").toString());
        NettyServerConfig sc = new NettyServerConfig();
        sc.setListenPort(0);
        if (config != null && !config.isEmpty()) {
            MixAll.properties2Object(config, nc);
            MixAll.properties2Object(config, sc);
        }
        NamesrvController c = new NamesrvController(nc, sc, new NettyClientConfig());
        if (!c.initialize()) {
            c.shutdown();
            throw new IOException("Apache 5.x NamesrvController.initialize() failed");
        }
        try {
            c.start();
        } catch (Exception e) {
            c.shutdown();
            throw new IOException("Apache 5.x NamesrvController.start() failed", e);
        }
        String address = "127.0.0.1:" + c.getRemotingServer().localListenPort();
        String kind = "apache-" + MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION);
        return new NameServer() {
            @Override
            public String address() {
                return address;
            }

            @Override
            public String kind() {
                return kind;
            }

            @Override
            public void close() {
                // shutdown takes seconds; the port is ephemeral, so nothing waits for it
                Thread t = new Thread(c::shutdown, "apache5-namesrv-shutdown");
                t.setDaemon(true);
                t.start();
            }
        };
    }
}
