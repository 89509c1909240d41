package rmq.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;

import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.DataVersion;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.namesrv.NamesrvUtil;
import org.apache.rocketmq.common.protocol.RequestCode;
import org.apache.rocketmq.common.protocol.ResponseCode;
import org.apache.rocketmq.common.protocol.body.ClusterInfo;
import org.apache.rocketmq.common.protocol.body.KVTable;
import org.apache.rocketmq.common.protocol.body.TopicList;
import org.apache.rocketmq.common.protocol.route.BrokerData;
import org.apache.rocketmq.common.protocol.route.QueueData;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.junit.jupiter.api.Assumptions;

import rmq.interop.harness.Await;
import rmq.interop.harness.KnownDifferences;
import rmq.interop.harness.NameServer;
import rmq.interop.harness.RawClient;
import rmq.interop.harness.SimBroker;

/**
 * What the official Java 4.9 client and admin tool must be able to do with a name server.
 * Subclasses choose the server: Apache's (proves the tests themselves) or ours.
 *
 * <p>Every test gets a fresh server with: broker-a (master + slave) and broker-b in
 * {@value #CLUSTER}, broker-c in {@value #OTHER}; registrations are made by {@link SimBroker}s that
 * keep their connections open until the test ends.
 */
@Timeout(60)
abstract class NamesrvApiContract {
    static final String CLUSTER = "InteropCluster";
    static final String OTHER = "OtherCluster";
    static final String A0 = "127.0.0.1:30911";
    static final String A0_HA = "127.0.0.1:30912";
    static final String A1 = "127.0.0.1:30921";
    static final String B0 = "127.0.0.1:31911";
    static final String C0 = "127.0.0.1:32911";

    NameServer ns;
    SimBroker a0;
    SimBroker a1;
    SimBroker b0;
    SimBroker c0;
    RemotingCommand a1RegisterResponse;
    DefaultMQAdminExt admin;

    /** True for Apache's server: the reference, to which known differences never apply. */
    abstract boolean isReference();

    /**
     * Skips the rest of a test whose expectation is a known, reported difference of our server
     * (see {@code interop/known-differences.txt}); Apache must always meet it.
     */
    void unlessKnownDifference(String testName) {
        String key = "namesrv-api:" + testName;
        KnownDifferences known = KnownDifferences.load();
        if (!isReference() && known.isKnown(key)) {
            Assumptions.abort("known difference '" + key + "': " + known.reason(key));
        }
    }

    /**
     * Starts the name server under test with extra config (NamesrvConfig keys such as
     * {@code orderMessageEnable}); an empty map means defaults.
     */
    abstract NameServer startServer(Map<String, String> config) throws Exception;

    @BeforeEach
    void setUp() throws Exception {
        ns = startServer(Map.of());
        long ts = System.currentTimeMillis();
        a0 = new SimBroker(CLUSTER, "broker-a", 0, A0, A0_HA, ts)
                .topic("TopicA", 4, 4, SimBroker.PERM_RW)
                .topic("TopicShared", 4, 4, SimBroker.PERM_RW)
                .topic("TBW102", 8, 8, SimBroker.PERM_RWX);
        a1 = new SimBroker(CLUSTER, "broker-a", 1, A1, "127.0.0.1:30922", ts)
                .topic("TopicA", 4, 4, SimBroker.PERM_RW)
                .topic("TopicShared", 4, 4, SimBroker.PERM_RW)
                .topic("TBW102", 8, 8, SimBroker.PERM_RWX);
        b0 = new SimBroker(CLUSTER, "broker-b", 0, B0, "127.0.0.1:31912", ts)
                .topic("TopicShared", 2, 2, SimBroker.PERM_RW)
                .topic("TopicB", 8, 8, SimBroker.PERM_RW);
        c0 = new SimBroker(OTHER, "broker-c", 0, C0, "127.0.0.1:32912", ts)
                .topic("TopicC", 3, 3, SimBroker.PERM_RW);
        assertEquals(ResponseCode.SUCCESS, a0.register(ns.address()).getCode(), "register broker-a master");
        a1RegisterResponse = a1.register(ns.address());
        assertEquals(ResponseCode.SUCCESS, a1RegisterResponse.getCode(), "register broker-a slave");
        assertEquals(ResponseCode.SUCCESS, b0.register(ns.address()).getCode(), "register broker-b");
        assertEquals(ResponseCode.SUCCESS, c0.register(ns.address()).getCode(), "register broker-c");

        admin = new DefaultMQAdminExt(5000);
        admin.setNamesrvAddr(ns.address());
        admin.setInstanceName("interop-admin-" + UUID.randomUUID());
        admin.start();
    }

    @AfterEach
    void tearDown() {
        if (admin != null) {
            admin.shutdown();
        }
        for (SimBroker b : new SimBroker[] {a0, a1, b0, c0}) {
            if (b != null) {
                b.close();
            }
        }
        if (ns != null) {
            ns.close();
        }
    }

    DefaultMQProducer startProducer() throws MQClientException {
        DefaultMQProducer p = new DefaultMQProducer("interop-pg-" + UUID.randomUUID().toString().substring(0, 8));
        p.setNamesrvAddr(ns.address());
        p.setInstanceName("interop-producer-" + UUID.randomUUID());
        p.start();
        return p;
    }

    static Map<String, QueueData> queuesByBroker(TopicRouteData r) {
        return r.getQueueDatas().stream().collect(Collectors.toMap(QueueData::getBrokerName, q -> q));
    }

    static Map<String, BrokerData> brokersByName(TopicRouteData r) {
        return r.getBrokerDatas().stream().collect(Collectors.toMap(BrokerData::getBrokerName, b -> b));
    }

    static int responseCode(MQClientException e) {
        return e.getResponseCode();
    }

    // ------------------------------------------------------------------ routes

    @Test
    void routeOfSharedTopicHasBothBrokersWithSlaveAddress() throws Exception {
        TopicRouteData r = admin.examineTopicRouteInfo("TopicShared");
        Map<String, BrokerData> brokers = brokersByName(r);
        assertEquals(Set.of("broker-a", "broker-b"), brokers.keySet());
        assertEquals(CLUSTER, brokers.get("broker-a").getCluster());
        assertEquals(new TreeMap<>(Map.of(0L, A0, 1L, A1)), new TreeMap<>(brokers.get("broker-a").getBrokerAddrs()));
        assertEquals(Map.of(0L, B0), brokers.get("broker-b").getBrokerAddrs());

        Map<String, QueueData> queues = queuesByBroker(r);
        assertEquals(Set.of("broker-a", "broker-b"), queues.keySet());
        QueueData qa = queues.get("broker-a");
        assertEquals(4, qa.getReadQueueNums());
        assertEquals(4, qa.getWriteQueueNums());
        assertEquals(SimBroker.PERM_RW, qa.getPerm());
        assertEquals(0, qa.getTopicSysFlag());
        QueueData qb = queues.get("broker-b");
        assertEquals(2, qb.getReadQueueNums());
        assertEquals(2, qb.getWriteQueueNums());
        assertNotNull(r.getFilterServerTable(), "filterServerTable must be present");
        assertNull(r.getOrderTopicConf());
    }

    @Test
    void routeOfTopicOnOneBrokerInOtherCluster() throws Exception {
        TopicRouteData r = admin.examineTopicRouteInfo("TopicC");
        assertEquals(1, r.getBrokerDatas().size());
        BrokerData bd = r.getBrokerDatas().get(0);
        assertEquals("broker-c", bd.getBrokerName());
        assertEquals(OTHER, bd.getCluster());
        assertEquals(Map.of(0L, C0), bd.getBrokerAddrs());
        assertEquals(3, r.getQueueDatas().get(0).getWriteQueueNums());
    }

    @Test
    void unknownTopicIsTopicNotExist() {
        MQClientException e = assertThrows(MQClientException.class, () -> admin.examineTopicRouteInfo("NoSuchTopic"));
        assertEquals(ResponseCode.TOPIC_NOT_EXIST, responseCode(e));
    }

    @Test
    void legacyVersionRouteDecodesToTheSameRoute() throws Exception {
        TopicRouteData standard = admin.examineTopicRouteInfo("TopicShared");
        try (RawClient raw = new RawClient()) {
            RemotingCommand legacy = raw.invoke(ns.address(), RequestCode.GET_ROUTEINFO_BY_TOPIC,
                    Map.of("topic", "TopicShared"), null, 317, 5000);
            assertEquals(ResponseCode.SUCCESS, legacy.getCode());
            TopicRouteData decoded = TopicRouteData.decode(legacy.getBody(), TopicRouteData.class);
            decoded.getQueueDatas().sort(Comparator.comparing(QueueData::getBrokerName));
            decoded.getBrokerDatas().sort(Comparator.comparing(BrokerData::getBrokerName));
            standard.getQueueDatas().sort(Comparator.comparing(QueueData::getBrokerName));
            standard.getBrokerDatas().sort(Comparator.comparing(BrokerData::getBrokerName));
            assertEquals(standard, decoded);
        }
    }

    @Test
    void orderTopicConfIsOffByDefault() throws Exception {
        admin.createAndUpdateKvConfig(NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG, "TopicA", "broker-a:4");
        assertNull(admin.examineTopicRouteInfo("TopicA").getOrderTopicConf(),
                "orderTopicConf must only be filled when orderMessageEnable=true");
    }

    @Test
    void orderTopicConfComesFromKvNamespaceWhenEnabled() throws Exception {
        try (NameServer ordered = startServer(Map.of("orderMessageEnable", "true"));
             SimBroker b = new SimBroker(CLUSTER, "broker-o", 0, "127.0.0.1:34911", "127.0.0.1:34912", 1L)
                     .topic("TopicO", 4, 4, SimBroker.PERM_RW)) {
            assertEquals(ResponseCode.SUCCESS, b.register(ordered.address()).getCode());
            DefaultMQAdminExt admin2 = new DefaultMQAdminExt(5000);
            admin2.setNamesrvAddr(ordered.address());
            admin2.setInstanceName("interop-admin-" + UUID.randomUUID());
            admin2.start();
            try {
                admin2.createAndUpdateKvConfig(NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG, "TopicO", "broker-o:4");
                assertEquals("broker-o:4", admin2.examineTopicRouteInfo("TopicO").getOrderTopicConf());
            } finally {
                admin2.shutdown();
            }
        }
    }

    // ------------------------------------------------------------------ cluster and topic lists

    @Test
    void clusterInfoListsBrokersAndAddresses() throws Exception {
        ClusterInfo ci = admin.examineBrokerClusterInfo();
        assertEquals(Set.of("broker-a", "broker-b"), ci.getClusterAddrTable().get(CLUSTER));
        assertEquals(Set.of("broker-c"), ci.getClusterAddrTable().get(OTHER));
        assertEquals(Set.of("broker-a", "broker-b", "broker-c"), ci.getBrokerAddrTable().keySet());
        BrokerData a = ci.getBrokerAddrTable().get("broker-a");
        assertEquals(CLUSTER, a.getCluster());
        assertEquals(new TreeMap<>(Map.of(0L, A0, 1L, A1)), new TreeMap<>(a.getBrokerAddrs()));
    }

    @Test
    void topicListsAllAndByCluster() throws Exception {
        TopicList all = admin.fetchAllTopicList();
        assertTrue(all.getTopicList().containsAll(Set.of("TopicA", "TopicShared", "TopicB", "TopicC", "TBW102")),
                () -> "all topics: " + all.getTopicList());
        TopicList mine = admin.fetchTopicsByCLuster(CLUSTER);
        assertTrue(mine.getTopicList().containsAll(Set.of("TopicA", "TopicShared", "TopicB")),
                () -> "cluster topics: " + mine.getTopicList());
        assertFalse(mine.getTopicList().contains("TopicC"), () -> "TopicC belongs to " + OTHER + ": " + mine.getTopicList());
        TopicList other = admin.fetchTopicsByCLuster(OTHER);
        assertEquals(Set.of("TopicC"), other.getTopicList());
    }

    // ------------------------------------------------------------------ KV config

    @Test
    void kvConfigPutGetListDelete() throws Exception {
        admin.createAndUpdateKvConfig("interop", "k1", "v1");
        admin.createAndUpdateKvConfig("interop", "k2", "v2");
        assertEquals("v1", admin.getKVConfig("interop", "k1"));
        admin.createAndUpdateKvConfig("interop", "k1", "v1b");
        assertEquals("v1b", admin.getKVConfig("interop", "k1"));
        KVTable table = admin.getKVListByNamespace("interop");
        assertEquals(Map.of("k1", "v1b", "k2", "v2"), table.getTable());

        admin.deleteKvConfig("interop", "k1");
        MQClientException e = assertThrows(MQClientException.class, () -> admin.getKVConfig("interop", "k1"));
        assertEquals(ResponseCode.QUERY_NOT_FOUND, responseCode(e));
        MQClientException e2 = assertThrows(MQClientException.class, () -> admin.getKVListByNamespace("nothing-here"));
        assertEquals(ResponseCode.QUERY_NOT_FOUND, responseCode(e2));
    }

    // ------------------------------------------------------------------ write permission

    @Test
    void wipeAndAddWritePermOfBroker() throws Exception {
        int wiped = admin.wipeWritePermOfBroker(ns.address(), "broker-a");
        assertEquals(3, wiped, "broker-a has 3 topics");
        assertEquals(SimBroker.PERM_R, queuesByBroker(admin.examineTopicRouteInfo("TopicA")).get("broker-a").getPerm());
        assertEquals(5, queuesByBroker(admin.examineTopicRouteInfo("TBW102")).get("broker-a").getPerm());
        assertEquals(SimBroker.PERM_RW, queuesByBroker(admin.examineTopicRouteInfo("TopicShared")).get("broker-b").getPerm());

        DefaultMQProducer p = startProducer();
        try {
            List<MessageQueue> mqs = p.fetchPublishMessageQueues("TopicShared");
            assertEquals(Set.of("broker-b"), mqs.stream().map(MessageQueue::getBrokerName).collect(Collectors.toSet()),
                    "a producer must not publish to a broker without write permission: " + mqs);
        } finally {
            p.shutdown();
        }

        int added = admin.addWritePermOfBroker(ns.address(), "broker-a");
        assertEquals(3, added);
        assertEquals(SimBroker.PERM_RW, queuesByBroker(admin.examineTopicRouteInfo("TopicA")).get("broker-a").getPerm());
    }

    @Test
    void addWritePermSetsExactlyReadWrite() throws Exception {
        unlessKnownDifference("addWritePermSetsExactlyReadWrite");
        admin.wipeWritePermOfBroker(ns.address(), "broker-a");
        admin.addWritePermOfBroker(ns.address(), "broker-a");
        // Apache 4.9.7 sets READ|WRITE (6), dropping the INHERIT bit TBW102 was registered with (7)
        assertEquals(SimBroker.PERM_RW, queuesByBroker(admin.examineTopicRouteInfo("TBW102")).get("broker-a").getPerm());
    }

    // ------------------------------------------------------------------ producer

    @Test
    void producerFetchesPublishQueuesFromBothBrokers() throws Exception {
        DefaultMQProducer p = startProducer();
        try {
            List<MessageQueue> mqs = p.fetchPublishMessageQueues("TopicShared");
            Map<String, Set<Integer>> byBroker = mqs.stream().collect(Collectors.groupingBy(MessageQueue::getBrokerName,
                    Collectors.mapping(MessageQueue::getQueueId, Collectors.toSet())));
            assertEquals(Map.of("broker-a", Set.of(0, 1, 2, 3), "broker-b", Set.of(0, 1)), byBroker);
            assertTrue(mqs.stream().allMatch(mq -> mq.getTopic().equals("TopicShared")));
            assertThrows(MQClientException.class, () -> p.fetchPublishMessageQueues("NoSuchTopic"));
        } finally {
            p.shutdown();
        }
    }

    // ------------------------------------------------------------------ deletion, unregistration, disconnect

    @Test
    void deleteTopicInNameServerScopedToOtherClusterKeepsIt() throws Exception {
        // DefaultMQAdminExt 4.9.7 takes (addrs, topic, clusterName)
        admin.deleteTopicInNameServer(Set.of(ns.address()), "TopicB", OTHER);
        assertEquals(Set.of("broker-b"), brokersByName(admin.examineTopicRouteInfo("TopicB")).keySet());
    }

    @Test
    void deleteTopicInNameServer() throws Exception {
        admin.deleteTopicInNameServer(Set.of(ns.address()), "TopicB", CLUSTER);
        MQClientException e = assertThrows(MQClientException.class, () -> admin.examineTopicRouteInfo("TopicB"));
        assertEquals(ResponseCode.TOPIC_NOT_EXIST, responseCode(e));
        assertFalse(admin.fetchAllTopicList().getTopicList().contains("TopicB"));
        assertEquals(2, admin.examineTopicRouteInfo("TopicShared").getBrokerDatas().size(), "other topics untouched");
    }

    @Test
    void unregisteredBrokerDisappears() throws Exception {
        assertEquals(ResponseCode.SUCCESS, b0.unregister(ns.address()).getCode());
        MQClientException e = assertThrows(MQClientException.class, () -> admin.examineTopicRouteInfo("TopicB"));
        assertEquals(ResponseCode.TOPIC_NOT_EXIST, responseCode(e));
        assertEquals(Set.of("broker-a"), brokersByName(admin.examineTopicRouteInfo("TopicShared")).keySet());
        ClusterInfo ci = admin.examineBrokerClusterInfo();
        assertFalse(ci.getBrokerAddrTable().containsKey("broker-b"), () -> "cluster info still has broker-b: " + ci.getBrokerAddrTable());
    }

    @Test
    void brokerWhoseConnectionClosesDisappears() throws Exception {
        b0.close();
        boolean gone = Await.until(Duration.ofSeconds(10), () -> {
            try {
                admin.examineTopicRouteInfo("TopicB");
                return false;
            } catch (MQClientException e) {
                return e.getResponseCode() == ResponseCode.TOPIC_NOT_EXIST;
            } catch (Exception e) {
                return false;
            }
        });
        assertTrue(gone, "TopicB still routed 10 s after broker-b's registering connection closed");
        assertEquals(Set.of("broker-a"), brokersByName(admin.examineTopicRouteInfo("TopicShared")).keySet());

        a1.close();
        boolean slaveGone = Await.until(Duration.ofSeconds(10), () -> {
            try {
                return !admin.examineBrokerClusterInfo().getBrokerAddrTable().get("broker-a").getBrokerAddrs().containsKey(1L);
            } catch (Exception e) {
                return false;
            }
        });
        assertTrue(slaveGone, "slave address still listed 10 s after its connection closed");
    }

    // ------------------------------------------------------------------ broker-facing answers

    @Test
    void slaveRegistrationLearnsMasterAndHaAddress() {
        Map<String, String> ext = a1RegisterResponse.getExtFields();
        assertNotNull(ext, "register response of a slave must carry headers");
        assertEquals(A0, ext.get("masterAddr"));
        assertEquals(A0_HA, ext.get("haServerAddr"));
    }

    @Test
    void queryDataVersionReportsChanges() throws Exception {
        RemotingCommand same = a0.queryDataVersion(ns.address(), null);
        assertEquals(ResponseCode.SUCCESS, same.getCode());
        assertEquals("false", same.getExtFields().get("changed"));
        assertEquals(a0.dataVersion(), DataVersion.decode(same.getBody(), DataVersion.class));

        DataVersion newer = a0.dataVersion();
        newer.nextVersion();
        RemotingCommand changed = a0.queryDataVersion(ns.address(), newer);
        assertEquals("true", changed.getExtFields().get("changed"));
    }
}
