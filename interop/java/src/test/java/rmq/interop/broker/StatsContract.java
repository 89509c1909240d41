package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.admin.ConsumeStats;
import org.apache.rocketmq.common.admin.OffsetWrapper;
import org.apache.rocketmq.common.admin.TopicOffset;
import org.apache.rocketmq.common.admin.TopicStatsTable;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.protocol.body.Connection;
import org.apache.rocketmq.common.protocol.body.ConsumerConnection;
import org.apache.rocketmq.common.protocol.body.GroupList;
import org.apache.rocketmq.common.protocol.heartbeat.ConsumeType;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.common.protocol.heartbeat.SubscriptionData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;
import rmq.interop.harness.BrokerStack;

/**
 * The statistics a client or {@code mqadmin} reads, after one fixed scenario run on a fresh
 * broker: 40 messages sent to 4 queues (10 each) and consumed by one clustering group, then 6
 * more sent while the group is offline. Values that follow from the scenario (offsets, counts,
 * diffs, connections, subscriptions) must match Apache 4.9.7; measured rates must be non-zero
 * where Apache's are (a placeholder of ours is a listed difference, never an asserted constant).
 * The tests run in order on one scenario.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class StatsContract {
    /** What {@code fetchBrokerRuntimeStats} holds on Apache 4.9.7 (a fresh master, no slave). */
    static final SortedSet<String> RUNTIME_KEYS = new TreeSet<>(List.of(
            "EndTransactionQueueSize", "EndTransactionThreadPoolQueueCapacity", "bootTimestamp", "brokerVersion", "brokerVersionDesc", "commitLogDirCapacity", "commitLogDiskRatio",
            "commitLogMaxOffset", "commitLogMinOffset", "consumeQueueDiskRatio", "dispatchBehindBytes",
            "dispatchMaxBuffer", "earliestMessageTimeStamp", "getFoundTps", "getMessageEntireTimeMax", "getMissTps",
            "getTotalTps", "getTransferedTps", "msgGetTotalTodayMorning", "msgGetTotalTodayNow",
            "msgGetTotalYesterdayMorning", "msgPutTotalTodayMorning", "msgPutTotalTodayNow",
            "msgPutTotalYesterdayMorning", "pageCacheLockTimeMills", "pullThreadPoolQueueCapacity",
            "pullThreadPoolQueueHeadWaitTimeMills", "pullThreadPoolQueueSize", "putMessageAverageSize",
            "putLatency99", "putLatency999", "putMessageDistributeTime", "putMessageEntireTimeMax", "putMessageFailedTimes", "putMessageSizeTotal",
            "putMessageTimesTotal", "putTps", "queryThreadPoolQueueCapacity", "queryThreadPoolQueueHeadWaitTimeMills",
            "queryThreadPoolQueueSize", "remainHowManyDataToFlush", "remainTransientStoreBufferNumbs",
            "runtime", "sendThreadPoolQueueCapacity", "sendThreadPoolQueueHeadWaitTimeMills",
            "sendThreadPoolQueueSize", "startAcceptSendRequestTimeStamp"));

    static final int QUEUES = 4;
    static final int CONSUMED = 40;
    static final int BACKLOG = 6;

    BrokerStack stack;
    Clients clients;
    String topic;
    String group;
    DefaultMQPushConsumer consumer;
    final ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
    SendResult lastSent;

    abstract BrokerStack startStack() throws Exception;

    @BeforeAll
    void runTheScenario() throws Exception {
        stack = startStack();
        clients = new Clients(stack);
        topic = clients.createTopic("Stats", QUEUES);
        group = Clients.unique("statsg");
        consumer = clients.pushConsumer(group, topic, "*", MessageModel.CLUSTERING);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            got.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        DefaultMQProducer p = clients.producer();
        for (int i = 0; i < CONSUMED; i++) {
            lastSent = p.send(new Message(topic, "t", "k" + i, ("s-" + i).getBytes(StandardCharsets.UTF_8)),
                    new MessageQueue(topic, stack.brokerName(), i % QUEUES));
        }
        assertTrue(Await.until(Duration.ofSeconds(20), () -> got.size() >= CONSUMED), "consumed " + got.size() + " of " + CONSUMED);
        assertTrue(Await.until(Duration.ofSeconds(15), () -> {
            ConsumeStats s = consumeStats();
            return s != null && s.computeTotalDiff() == 0 && s.getOffsetTable().size() == QUEUES;
        }), "the group's committed offsets never reached the queue ends");
    }

    @AfterAll
    void stopServers() {
        if (clients != null) {
            clients.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    /** The group's progress in the scenario's topic (its %RETRY% queue left out), or null. */
    ConsumeStats consumeStats() {
        try {
            ConsumeStats s = clients.admin.examineConsumeStats(group);
            s.getOffsetTable().keySet().removeIf(mq -> !mq.getTopic().equals(topic));
            return s;
        } catch (Exception e) {
            return null;
        }
    }

    @Test
    @Order(1)
    void everyMessageWasConsumedOnce() {
        Map<String, Integer> counts = new TreeMap<>(Clients.countBy(got, m -> new String(m.getBody(), StandardCharsets.UTF_8)));
        assertEquals(CONSUMED, counts.size(), "distinct messages " + counts);
        assertTrue(counts.values().stream().allMatch(n -> n == 1), "a message was delivered twice: " + counts);
    }

    @Test
    @Order(2)
    void consumerConnectionsAndSubscriptions() throws Exception {
        ConsumerConnection cc = clients.admin.examineConsumerConnectionInfo(group);
        assertEquals(1, cc.getConnectionSet().size(), "connections " + cc.getConnectionSet());
        Connection c = cc.getConnectionSet().iterator().next();
        assertEquals(consumer.getDefaultMQPushConsumerImpl().getmQClientFactory().getClientId(), c.getClientId());
        assertEquals("JAVA", c.getLanguage().name());
        assertTrue(c.getVersion() > 0, "client version " + c.getVersion());
        assertEquals(ConsumeType.CONSUME_PASSIVELY, cc.getConsumeType());
        assertEquals(MessageModel.CLUSTERING, cc.getMessageModel());
        assertEquals(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET, cc.getConsumeFromWhere());
        assertEquals(Set.of(topic, MixAll.getRetryTopic(group)), cc.getSubscriptionTable().keySet());
        SubscriptionData sd = cc.getSubscriptionTable().get(topic);
        assertEquals("*", sd.getSubString());
        assertEquals("TAG", sd.getExpressionType());
        GroupList who = clients.admin.queryTopicConsumeByWho(topic);
        assertTrue(who.getGroupList().contains(group), "queryTopicConsumeByWho " + who.getGroupList());
    }

    @Test
    @Order(3)
    void topicStatsCountEveryMessage() throws Exception {
        TopicStatsTable stats = clients.admin.examineTopicStats(topic);
        assertEquals(QUEUES, stats.getOffsetTable().size(), "queues " + stats.getOffsetTable());
        for (Map.Entry<MessageQueue, TopicOffset> e : stats.getOffsetTable().entrySet()) {
            assertEquals(0, e.getValue().getMinOffset(), e.getKey().toString());
            assertEquals(CONSUMED / QUEUES, e.getValue().getMaxOffset(), e.getKey().toString());
            assertTrue(e.getValue().getLastUpdateTimestamp() > 0, "lastUpdateTimestamp of " + e.getKey());
        }
        MessageExt viewed = clients.admin.viewMessage(lastSent.getOffsetMsgId());
        assertEquals(lastSent.getMsgId(), viewed.getMsgId());
        assertEquals(lastSent.getQueueOffset(), viewed.getQueueOffset());
        assertEquals(lastSent.getMessageQueue().getQueueId(), viewed.getQueueId());
        assertEquals("k" + (CONSUMED - 1), viewed.getKeys());
        assertEquals(stack.clusterName(), viewed.getProperty("CLUSTER"));
        assertTrue(viewed.getStoreSize() > 0 && viewed.getCommitLogOffset() >= 0, "size/offset of " + viewed);
    }

    @Test
    @Order(4)
    void runtimeStatsHaveApachesKeysAndCountThePuts() throws Exception {
        Map<String, String> t = clients.admin.fetchBrokerRuntimeStats(stack.brokerAddr()).getTable();
        System.out.println("runtime stats on " + stack.kind() + ": " + new TreeMap<>(t));
        SortedSet<String> missing = new TreeSet<>(RUNTIME_KEYS);
        missing.removeAll(t.keySet());
        clients.check("stats", "runtime-keys", missing.isEmpty(), "fetchBrokerRuntimeStats lacks " + missing);
        // the scenario's 40 sends are all the puts so far, its 40 deliveries all the gets
        assertEquals(String.valueOf(CONSUMED), t.get("msgPutTotalTodayNow"), "msgPutTotalTodayNow");
        assertEquals(String.valueOf(CONSUMED), t.get("putMessageTimesTotal"), "putMessageTimesTotal");
        assertTrue(Long.parseLong(t.get("commitLogMaxOffset")) > 0, "commitLogMaxOffset " + t.get("commitLogMaxOffset"));
        clients.check("stats", "msg-get-total", String.valueOf(CONSUMED).equals(t.get("msgGetTotalTodayNow")),
                "msgGetTotalTodayNow " + t.get("msgGetTotalTodayNow") + " after " + CONSUMED + " messages were pulled");
        // Rates (putTps, getTransferedTps, ...) are not compared: a fresh Apache broker leaves
        // them blank until its samples cover the window (see known-differences.txt).
    }

    /** consumeTps is sampled every 10 s by Apache: non-zero within 15 s of the consumption. */
    @Test
    @Order(5)
    void consumeTpsIsMeasured() {
        Duration wait = clients.expectsDifference("stats", "consume-tps") ? Duration.ofSeconds(2) : Duration.ofSeconds(15);
        AtomicReference<Double> tps = new AtomicReference<>(0.0);
        boolean measured = Await.until(wait, () -> {
            ConsumeStats s = consumeStats();
            tps.set(s == null ? 0.0 : s.getConsumeTps());
            return tps.get() > 0;
        });
        clients.check("stats", "consume-tps", measured, "examineConsumeStats consumeTps after consuming " + CONSUMED + ": " + tps.get());
    }

    @Test
    @Order(6)
    void consumeStatsShowTheBacklogOfAnOfflineGroup() throws Exception {
        consumer.shutdown(); // persists its offsets and unregisters
        DefaultMQProducer p = clients.producer();
        for (int i = 0; i < BACKLOG; i++) {
            p.send(new Message(topic, "t", ("b-" + i).getBytes(StandardCharsets.UTF_8)),
                    new MessageQueue(topic, stack.brokerName(), i % QUEUES));
        }
        AtomicReference<ConsumeStats> cs = new AtomicReference<>();
        assertTrue(Await.until(Duration.ofSeconds(10), () -> {
            cs.set(consumeStats());
            return cs.get() != null && cs.get().computeTotalDiff() == BACKLOG;
        }), "diff " + (cs.get() == null ? "none" : BrokerClientContract.describe(cs.get())));
        for (Map.Entry<MessageQueue, OffsetWrapper> e : cs.get().getOffsetTable().entrySet()) {
            int q = e.getKey().getQueueId();
            long extra = BACKLOG / QUEUES + (q < BACKLOG % QUEUES ? 1 : 0);
            assertEquals(CONSUMED / QUEUES + extra, e.getValue().getBrokerOffset(), "broker offset of queue " + q);
            assertEquals(CONSUMED / QUEUES, e.getValue().getConsumerOffset(), "consumer offset of queue " + q);
            assertTrue(e.getValue().getLastTimestamp() > 0, "lastTimestamp of queue " + q);
        }
        // an offline group with offsets is still a consumer of the topic
        GroupList who = clients.admin.queryTopicConsumeByWho(topic);
        assertTrue(who.getGroupList().contains(group), "queryTopicConsumeByWho after the group left: " + who.getGroupList());
        assertNotNull(clients.admin.examineBrokerClusterInfo().getBrokerAddrTable().get(stack.brokerName()));
    }
}
