package rmq.interop5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;

import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.ResponseCode;
import org.apache.rocketmq.remoting.protocol.body.ClusterInfo;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.route.QueueData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;
import rmq.interop.harness.NameServer;
import rmq.interop.harness5.Kit5;
import rmq.interop.proto.Codes;
import rmq.interop.proto.ProtocolKit.Broker;

/**
 * The official 5.x Java admin tool and producer against a name server (5.x clients send
 * protocol version 479 and parse 5.x route fields such as {@code enableActingMaster}).
 * Brokers register as 5.x brokers do. Subclasses pick Apache 5.x (reference) or ours.
 */
@Timeout(60)
abstract class Client5ApiContract {
    static final String CLUSTER = "Cluster5";
    static final String A0 = "127.0.0.1:40911";
    static final String A1 = "127.0.0.1:40921";
    static final String B0 = "127.0.0.1:41911";
    static final int RW = Codes.PERM_READ | Codes.PERM_WRITE;

    NameServer ns;
    Broker a0;
    Broker a1;
    Broker b0;
    DefaultMQAdminExt admin;

    abstract NameServer startServer() throws Exception;

    @BeforeEach
    void setUp() throws Exception {
        ns = startServer();
        long ts = System.currentTimeMillis();
        a0 = Kit5.INSTANCE.newBroker(CLUSTER, "broker5-a", 0, A0, "127.0.0.1:40912", ts)
                .topic("T5Shared", 4, 4, RW).topic("T5A", 8, 8, RW);
        a1 = Kit5.INSTANCE.newBroker(CLUSTER, "broker5-a", 1, A1, "127.0.0.1:40922", ts)
                .topic("T5Shared", 4, 4, RW).topic("T5A", 8, 8, RW);
        b0 = Kit5.INSTANCE.newBroker(CLUSTER, "broker5-b", 0, B0, "127.0.0.1:41912", ts)
                .topic("T5Shared", 2, 2, RW).topic("T5B", 3, 3, RW);
        for (Broker b : new Broker[] {a0, a1, b0}) {
            assertEquals(Codes.SUCCESS, b.register(ns.address()).code(), "register " + b.brokerName() + "/" + b.brokerId());
        }
        admin = new DefaultMQAdminExt(5000);
        admin.setNamesrvAddr(ns.address());
        admin.setInstanceName("interop5-admin-" + UUID.randomUUID());
        admin.start();
    }

    @AfterEach
    void tearDown() {
        if (admin != null) {
            admin.shutdown();
        }
        for (Broker b : new Broker[] {a0, a1, b0}) {
            if (b != null) {
                b.close();
            }
        }
        if (ns != null) {
            ns.close();
        }
    }

    @Test
    void routeAndClusterInfo() throws Exception {
        TopicRouteData r = admin.examineTopicRouteInfo("T5Shared");
        Map<String, BrokerData> brokers = r.getBrokerDatas().stream()
                .collect(Collectors.toMap(BrokerData::getBrokerName, b -> b));
        assertEquals(Set.of("broker5-a", "broker5-b"), brokers.keySet());
        assertEquals(new TreeMap<>(Map.of(0L, A0, 1L, A1)), new TreeMap<>(brokers.get("broker5-a").getBrokerAddrs()));
        Map<String, QueueData> queues = r.getQueueDatas().stream()
                .collect(Collectors.toMap(QueueData::getBrokerName, q -> q));
        assertEquals(4, queues.get("broker5-a").getWriteQueueNums());
        assertEquals(2, queues.get("broker5-b").getReadQueueNums());
        assertNotNull(r.getFilterServerTable());

        ClusterInfo ci = admin.examineBrokerClusterInfo();
        assertEquals(Set.of("broker5-a", "broker5-b"), ci.getClusterAddrTable().get(CLUSTER));
        assertEquals(Map.of(0L, B0), ci.getBrokerAddrTable().get("broker5-b").getBrokerAddrs());
    }

    @Test
    void topicListsAndNotExist() throws Exception {
        assertTrue(admin.fetchAllTopicList().getTopicList().containsAll(Set.of("T5Shared", "T5A", "T5B")));
        assertTrue(admin.fetchTopicsByCLuster(CLUSTER).getTopicList().containsAll(Set.of("T5Shared", "T5A", "T5B")));
        MQClientException e = assertThrows(MQClientException.class, () -> admin.examineTopicRouteInfo("NoSuchT5"));
        assertEquals(ResponseCode.TOPIC_NOT_EXIST, e.getResponseCode());
    }

    @Test
    void kvConfig() throws Exception {
        admin.createAndUpdateKvConfig("interop5", "k", "v");
        assertEquals("v", admin.getKVConfig("interop5", "k"));
        assertEquals(Map.of("k", "v"), admin.getKVListByNamespace("interop5").getTable());
        admin.deleteKvConfig("interop5", "k");
        MQClientException e = assertThrows(MQClientException.class, () -> admin.getKVConfig("interop5", "k"));
        assertEquals(ResponseCode.QUERY_NOT_FOUND, e.getResponseCode());
    }

    @Test
    void producerQueuesFollowWritePermission() throws Exception {
        DefaultMQProducer p = new DefaultMQProducer("interop5-pg-" + UUID.randomUUID().toString().substring(0, 8));
        p.setNamesrvAddr(ns.address());
        p.setInstanceName("interop5-producer-" + UUID.randomUUID());
        p.start();
        try {
            List<MessageQueue> mqs = p.fetchPublishMessageQueues("T5Shared");
            assertEquals(6, mqs.size(), () -> "queues: " + mqs);
            assertEquals(3, admin.wipeWritePermOfBroker(ns.address(), "broker5-b") + 1, "broker5-b has 2 topics");
            assertEquals(Codes.PERM_READ, admin.examineTopicRouteInfo("T5B").getQueueDatas().get(0).getPerm());
            assertEquals(2, admin.addWritePermOfBroker(ns.address(), "broker5-b"));
            assertEquals(RW, admin.examineTopicRouteInfo("T5B").getQueueDatas().get(0).getPerm());
        } finally {
            p.shutdown();
        }
    }

    @Test
    void deleteUnregisterAndDisconnect() throws Exception {
        // 5.x DefaultMQAdminExt takes (addrs, clusterName, topic); 4.9.7 took (addrs, topic, clusterName)
        admin.deleteTopicInNameServer(Set.of(ns.address()), CLUSTER, "T5A");
        MQClientException e = assertThrows(MQClientException.class, () -> admin.examineTopicRouteInfo("T5A"));
        assertEquals(ResponseCode.TOPIC_NOT_EXIST, e.getResponseCode());

        assertEquals(Codes.SUCCESS, b0.unregister(ns.address()).code());
        // Apache 5.x applies unregistrations asynchronously
        assertTrue(Await.until(Duration.ofSeconds(10), () -> {
            try {
                return !admin.examineBrokerClusterInfo().getBrokerAddrTable().containsKey("broker5-b");
            } catch (Exception ex) {
                return false;
            }
        }), "broker5-b still listed 10 s after UNREGISTER_BROKER");

        a1.close();
        assertTrue(Await.until(Duration.ofSeconds(10), () -> {
            try {
                return !admin.examineTopicRouteInfo("T5Shared").getBrokerDatas().get(0).getBrokerAddrs().containsKey(1L);
            } catch (Exception ex) {
                return false;
            }
        }), "slave still routed 10 s after its connection closed");
    }

    /**
     * {@code mqadmin getNamesrvConfig} / {@code updateNamesrvConfig}: the settings come back as
     * properties, {@code configStorePath} (CVE-2023-37582) is refused with NO_PERMISSION, and an
     * allowed key is accepted.
     */
    @Test
    void nameServerConfigIsReadAndItsPathsAreRefused() throws Exception {
        List<String> servers = List.of(ns.address());
        Properties now = admin.getNameServerConfig(servers).get(ns.address());
        assertNotNull(now, "no answer from " + ns.address());
        assertTrue(now.containsKey("kvConfigPath") && now.containsKey("enableAllTopicList"), now.toString());
        Properties path = new Properties();
        path.setProperty("configStorePath", "/tmp/rmq-interop5-never-written/namesrv.properties");
        MQClientException refused = assertThrows(MQClientException.class, () -> admin.updateNameServerConfig(path, servers));
        assertEquals(ResponseCode.NO_PERMISSION, refused.getResponseCode(), refused.getMessage());
        Properties allowed = new Properties();
        allowed.setProperty("enableAllTopicList", "true");
        admin.updateNameServerConfig(allowed, servers);
        assertEquals("true", admin.getNameServerConfig(servers).get(ns.address()).getProperty("enableAllTopicList"));
    }
}
