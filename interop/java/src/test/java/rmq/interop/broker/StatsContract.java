package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
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
import java.util.stream.Collectors;

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
import org.apache.rocketmq.common.protocol.body.BrokerStatsData;
import org.apache.rocketmq.common.protocol.body.Connection;
import org.apache.rocketmq.common.protocol.body.ConsumeStatsList;
import org.apache.rocketmq.common.protocol.body.ConsumerConnection;
import org.apache.rocketmq.common.protocol.body.GroupList;
import org.apache.rocketmq.common.protocol.heartbeat.ConsumeType;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.common.protocol.heartbeat.SubscriptionData;
import org.apache.rocketmq.common.stats.Stats;
import org.apache.rocketmq.tools.command.stats.StatsAllSubCommand;
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
 * diffs, connections, subscriptions, the statistics' sums) must match Apache 4.9.7; measured rates
 * must be non-zero where Apache's are, and blank where Apache leaves them blank.
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

    /**
     * {@code mqadmin statsAll}'s figures (VIEW_BROKER_STATS_DATA, 315) once the 10 s sampler has
     * taken the scenario in: the minute window holds the 40 puts and the 40 deliveries, the hour
     * and day windows nothing yet (a fresh broker samples them 10 min and 1 h after it starts).
     */
    @Test
    @Order(4)
    void statsAllCountsThePutsAndGets() throws Exception {
        String getKey = topic + "@" + group;
        AtomicReference<String> seen = new AtomicReference<>("nothing");
        boolean sampled = Await.until(Duration.ofSeconds(25), () -> {
            BrokerStatsData put = statsData(Stats.TOPIC_PUT_NUMS, topic);
            BrokerStatsData get = statsData(Stats.GROUP_GET_NUMS, getKey);
            seen.set(describe(put) + " / " + describe(get));
            return put != null && get != null && put.getStatsMinute().getSum() == CONSUMED
                    && get.getStatsMinute().getSum() == CONSUMED;
        });
        assertTrue(sampled, "TOPIC_PUT_NUMS / GROUP_GET_NUMS minute sums: " + seen.get());
        BrokerStatsData put = statsData(Stats.TOPIC_PUT_NUMS, topic);
        BrokerStatsData get = statsData(Stats.GROUP_GET_NUMS, getKey);
        BrokerStatsData putSize = statsData(Stats.TOPIC_PUT_SIZE, topic);
        BrokerStatsData brokerPut = statsData(Stats.BROKER_PUT_NUMS, stack.clusterName());
        BrokerStatsData brokerGet = statsData(Stats.BROKER_GET_NUMS, stack.clusterName());
        System.out.println("315 on " + stack.kind() + ": put " + describe(put) + ", get " + describe(get)
                + ", put size " + describe(putSize) + ", broker put " + describe(brokerPut) + ", broker get " + describe(brokerGet));
        assertTrue(put.getStatsMinute().getTps() > 0 && get.getStatsMinute().getTps() > 0, "minute tps " + seen.get());
        assertEquals(1.0, put.getStatsMinute().getAvgpt(), "one send request per message");
        assertTrue(get.getStatsMinute().getAvgpt() >= 1.0, "messages per found pull " + describe(get));
        assertTrue(putSize.getStatsMinute().getSum() > CONSUMED, "bytes put " + describe(putSize));
        assertEquals(CONSUMED, brokerPut.getStatsMinute().getSum(), "BROKER_PUT_NUMS " + describe(brokerPut));
        assertEquals(0.0, brokerPut.getStatsMinute().getAvgpt(), "BROKER_PUT_NUMS counts no calls");
        assertEquals(CONSUMED, brokerGet.getStatsMinute().getSum(), "BROKER_GET_NUMS " + describe(brokerGet));
        for (BrokerStatsData d : List.of(put, get, putSize, brokerPut, brokerGet)) {
            assertEquals(0, d.getStatsHour().getSum(), "hour window of a fresh broker " + describe(d));
            assertEquals(0, d.getStatsDay().getSum(), "day window of a fresh broker " + describe(d));
        }
        for (int q = 0; q < QUEUES; q++) {
            String latencyKey = q + "@" + topic + "@" + group;
            assertNotNull(statsData(Stats.GROUP_GET_LATENCY, latencyKey), "GROUP_GET_LATENCY " + latencyKey);
        }
        Exception missing = assertThrows(Exception.class, () -> clients.admin.viewBrokerStatsData(stack.brokerAddr(), Stats.TOPIC_PUT_NUMS, "NoSuchTopic"));
        assertTrue(String.valueOf(missing.getMessage()).contains("The stats <TOPIC_PUT_NUMS> <NoSuchTopic> not exist"), missing.toString());

        // mqadmin statsAll's own line: no backlog, both rates measured, 40 in and out today
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            StatsAllSubCommand.printTopicDetail(clients.admin, topic, true);
        } finally {
            System.setOut(stdout);
        }
        String line = printed.toString(StandardCharsets.UTF_8).lines()
                .filter(l -> l.contains(group)).findFirst().orElse("");
        System.out.println("statsAll on " + stack.kind() + ": " + line);
        String[] f = line.trim().split("\\s+");
        assertEquals(7, f.length, "statsAll line " + line);
        assertEquals("0", f[2], "#Accumulation in " + line);
        assertTrue(Double.parseDouble(f[3]) > 0 && Double.parseDouble(f[4]) > 0, "#InTPS/#OutTPS in " + line);
        assertEquals(String.valueOf(CONSUMED), f[5], "#InMsg24Hour in " + line);
        assertEquals(String.valueOf(CONSUMED), f[6], "#OutMsg24Hour in " + line);
    }

    BrokerStatsData statsData(String name, String key) {
        try {
            return clients.admin.viewBrokerStatsData(stack.brokerAddr(), name, key);
        } catch (Exception e) {
            return null;
        }
    }

    static String describe(BrokerStatsData d) {
        if (d == null) {
            return "none";
        }
        return String.format("minute %d/%.3f/%.2f hour %d day %d", d.getStatsMinute().getSum(), d.getStatsMinute().getTps(),
                d.getStatsMinute().getAvgpt(), d.getStatsHour().getSum(), d.getStatsDay().getSum());
    }

    @Test
    @Order(5)
    void runtimeStatsHaveApachesKeysAndCountThePuts() throws Exception {
        Map<String, String> t = clients.admin.fetchBrokerRuntimeStats(stack.brokerAddr()).getTable();
        System.out.println("runtime stats on " + stack.kind() + ": " + new TreeMap<>(t));
        SortedSet<String> missing = new TreeSet<>(RUNTIME_KEYS);
        missing.removeAll(t.keySet());
        assertTrue(missing.isEmpty(), "fetchBrokerRuntimeStats lacks " + missing);
        // the scenario's 40 sends are all the puts so far, its 40 deliveries all the gets
        assertEquals(String.valueOf(CONSUMED), t.get("msgPutTotalTodayNow"), "msgPutTotalTodayNow");
        assertEquals(String.valueOf(CONSUMED), t.get("putMessageTimesTotal"), "putMessageTimesTotal");
        assertEquals(String.valueOf(CONSUMED), t.get("msgGetTotalTodayNow"), "msgGetTotalTodayNow");
        assertEquals("0", t.get("putMessageFailedTimes"), "putMessageFailedTimes");
        // a broker started today has taken no midnight snapshot
        for (String key : List.of("msgPutTotalTodayMorning", "msgPutTotalYesterdayMorning", "msgGetTotalTodayMorning", "msgGetTotalYesterdayMorning")) {
            assertEquals("0", t.get(key), key);
        }
        long size = Long.parseLong(t.get("putMessageSizeTotal"));
        assertEquals((double) size / CONSUMED, Double.parseDouble(t.get("putMessageAverageSize")), 1e-9, "putMessageAverageSize");
        assertTrue(Long.parseLong(t.get("commitLogMaxOffset")) >= size, "commitLogMaxOffset " + t.get("commitLogMaxOffset"));
        for (String key : List.of("putMessageEntireTimeMax", "getMessageEntireTimeMax", "pageCacheLockTimeMills", "sendThreadPoolQueueSize",
                "sendThreadPoolQueueHeadWaitTimeMills", "pullThreadPoolQueueSize", "pullThreadPoolQueueHeadWaitTimeMills",
                "queryThreadPoolQueueSize", "queryThreadPoolQueueHeadWaitTimeMills", "EndTransactionQueueSize",
                "sendThreadPoolQueueCapacity", "pullThreadPoolQueueCapacity", "queryThreadPoolQueueCapacity",
                "EndTransactionThreadPoolQueueCapacity", "dispatchBehindBytes", "dispatchMaxBuffer")) {
            assertTrue(Long.parseLong(t.get(key)) >= 0, key + " " + t.get(key));
        }
        assertTrue(t.get("putLatency99").matches("\\d+\\.\\d\\d") && t.get("putLatency999").matches("\\d+\\.\\d\\d"),
                "putLatency99/999 " + t.get("putLatency99") + " " + t.get("putLatency999"));
        // the last minute's put times per range, "null" until the broker's first minute has passed
        String distribution = t.get("putMessageDistributeTime");
        assertTrue("null".equals(distribution) || distribution.matches("(\\[[^]]+\\]:\\d+ ){13}"), "putMessageDistributeTime " + distribution);
        assertTrue(t.get("commitLogDirCapacity").matches("Total : \\d+(\\.\\d)? [KMGTPE]?i?B, Free : \\d+(\\.\\d)? [KMGTPE]?i?B\\."),
                "commitLogDirCapacity " + t.get("commitLogDirCapacity"));
        // rates over 10, 60 and 600 s: each blank until the one-second samples cover it
        for (String key : List.of("putTps", "getFoundTps", "getMissTps", "getTransferedTps", "getTotalTps")) {
            String[] spans = t.get(key).split(" ", -1);
            assertEquals(3, spans.length, key + " " + t.get(key));
            for (int i = 0; i < 3; i++) {
                boolean blank = spans[i].isEmpty();
                assertTrue(blank || Double.parseDouble(spans[i]) >= 0, key + " " + t.get(key));
                assertTrue(!blank || !key.equals("getTotalTps"), "getTotalTps counts an uncovered span as 0: " + t.get(key));
                assertTrue(!blank || i == 2 || spans[i + 1].isEmpty(), "a longer span covered before a shorter one: " + key + " " + t.get(key));
            }
        }
    }

    /** consumeTps is sampled every 10 s by Apache: non-zero within 15 s of the consumption. */
    @Test
    @Order(6)
    void consumeTpsIsMeasured() {
        AtomicReference<Double> tps = new AtomicReference<>(0.0);
        boolean measured = Await.until(Duration.ofSeconds(15), () -> {
            ConsumeStats s = consumeStats();
            tps.set(s == null ? 0.0 : s.getConsumeTps());
            return tps.get() > 0;
        });
        assertTrue(measured, "examineConsumeStats consumeTps after consuming " + CONSUMED + ": " + tps.get());
    }

    @Test
    @Order(7)
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

    /** {@code mqadmin brokerConsumeStats} (GET_BROKER_CONSUME_STATS, 317) after the backlog. */
    @Test
    @Order(8)
    void brokerConsumeStatsShowsTheBacklog() throws Exception {
        ConsumeStatsList list = clients.admin.fetchConsumeStatsInBroker(stack.brokerAddr(), false, 5000);
        assertEquals(stack.brokerAddr(), list.getBrokerAddr());
        assertEquals(BACKLOG, list.getTotalDiff(), "totalDiff of every group");
        List<ConsumeStats> ours = list.getConsumeStatsList().stream()
                .filter(m -> m.containsKey(group)).flatMap(m -> m.get(group).stream())
                .filter(s -> s.getOffsetTable().keySet().stream().anyMatch(mq -> mq.getTopic().equals(topic)))
                .collect(Collectors.toList());
        assertEquals(1, ours.size(), "the group's stats of " + topic);
        ConsumeStats s = ours.get(0);
        assertEquals(QUEUES, s.getOffsetTable().size());
        assertEquals(BACKLOG, s.computeTotalDiff());
        long consumed = s.getOffsetTable().values().stream().mapToLong(OffsetWrapper::getConsumerOffset).sum();
        assertEquals(CONSUMED, consumed, "consumer offsets");
        ConsumeStatsList ordered = clients.admin.fetchConsumeStatsInBroker(stack.brokerAddr(), true, 5000);
        assertEquals(0, ordered.getTotalDiff(), "no ordered topic has a backlog");
    }
}
