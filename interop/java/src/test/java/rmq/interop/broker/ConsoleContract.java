package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import com.alibaba.fastjson.JSON;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.admin.ConsumeStats;
import org.apache.rocketmq.common.admin.TopicStatsTable;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.protocol.RequestCode;
import org.apache.rocketmq.common.protocol.ResponseCode;
import org.apache.rocketmq.common.protocol.body.CMResult;
import org.apache.rocketmq.common.protocol.body.ConsumeMessageDirectlyResult;
import org.apache.rocketmq.common.protocol.body.ConsumerRunningInfo;
import org.apache.rocketmq.common.protocol.body.ProcessQueueInfo;
import org.apache.rocketmq.common.protocol.body.ProducerConnection;
import org.apache.rocketmq.common.protocol.body.ProducerInfo;
import org.apache.rocketmq.common.protocol.body.ProducerTableInfo;
import org.apache.rocketmq.common.protocol.body.TopicList;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.common.protocol.heartbeat.SubscriptionData;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.apache.rocketmq.tools.admin.api.MessageTrack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import rmq.interop.diff.Canonical;
import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.Await;
import rmq.interop.harness.BrokerStack;
import rmq.interop.harness.KnownDifferences;
import rmq.interop.harness.RawClient;
import rmq.interop.harness.RmqBroker;
import rmq.interop.support.Targets;

/**
 * What Apache's rocketmq-dashboard and rocketmq-exporter ask through {@code DefaultMQAdminExt},
 * asked of Apache 4.9.7 and of rmq side by side after the same traffic (40 messages to 4 queues,
 * consumed by one Java push consumer), with the admin's VIP channel on: the answers are compared
 * with each other, and Apache's answers are checked against the scenario too (the self-check).
 * Includes the requests rmq's broker relays to a client (GET_CONSUMER_RUNNING_INFO,
 * CONSUME_MESSAGE_DIRECTLY), the name server's system topic list (304), the 5.x GET_TOPIC_CONFIG
 * (351), the runtime-info keys the exporter parses, Apache's built-in subscription groups, the
 * transaction half topic its first check registers (both brokers check every second here), the
 * stats the exporter reads, a message's track and the running info's thread stacks. The calls
 * are those Apache's rocketmq-dashboard 2.x and rocketmq-exporter were seen making against both
 * brokers (interop/README.md). Accepted differences are {@code console:<check>} rows of
 * {@code interop/known-differences.txt}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
abstract class ConsoleContract {
    static final int QUEUES = 4;
    static final int SENT = 40;

    /** Keys {@code BrokerRuntimeStats} of rocketmq-exporter parses (a missing one fails its parse). */
    static final Set<String> EXPORTER_RUNTIME_KEYS = new TreeSet<>(List.of(
            "msgPutTotalTodayNow", "putMessageDistributeTime", "putTps", "getMissTps", "getTransferedTps",
            "getTotalTps", "getFoundTps", "commitLogDirCapacity", "sendThreadPoolQueueHeadWaitTimeMills",
            "queryThreadPoolQueueHeadWaitTimeMills", "remainHowManyDataToFlush", "msgGetTotalTodayNow",
            "queryThreadPoolQueueSize", "bootTimestamp", "msgPutTotalYesterdayMorning", "msgGetTotalYesterdayMorning",
            "pullThreadPoolQueueSize", "commitLogMinOffset", "pullThreadPoolQueueHeadWaitTimeMills", "runtime",
            "dispatchMaxBuffer", "brokerVersion", "consumeQueueDiskRatio", "pageCacheLockTimeMills",
            "commitLogDiskRatio", "commitLogMaxOffset", "getMessageEntireTimeMax", "msgPutTotalTodayMorning",
            "putMessageTimesTotal", "msgGetTotalTodayMorning", "brokerVersionDesc", "sendThreadPoolQueueSize",
            "startAcceptSendRequestTimeStamp", "putMessageEntireTimeMax", "earliestMessageTimeStamp",
            "remainTransientStoreBufferNumbs", "queryThreadPoolQueueCapacity", "putMessageAverageSize",
            "dispatchBehindBytes", "putMessageSizeTotal", "sendThreadPoolQueueCapacity", "pullThreadPoolQueueCapacity"));

    private static final KnownDifferences KNOWN = KnownDifferences.load();

    /** One stack, its clients and what its scenario produced. */
    static final class Side implements AutoCloseable {
        final BrokerStack stack;
        final Clients clients;
        final DefaultMQAdminExt admin;
        final String topic;
        final String group;
        final DefaultMQProducer producer;
        final DefaultMQPushConsumer consumer;
        final ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        final List<SendResult> sent = new ArrayList<>();

        Side(BrokerStack stack) throws Exception {
            this.stack = stack;
            this.clients = new Clients(stack);
            this.admin = new DefaultMQAdminExt(5000);
            admin.setNamesrvAddr(stack.namesrvAddr());
            admin.setInstanceName(Clients.unique("console_admin"));
            admin.setVipChannelEnabled(true);
            admin.start();
            this.topic = clients.createTopic("Console", QUEUES);
            this.group = Clients.unique("consoleg");
            this.consumer = clients.pushConsumer(group, topic, "*", MessageModel.CLUSTERING);
            consumer.setVipChannelEnabled(true);
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                got.addAll(msgs);
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            this.producer = clients.producer();
            producer.setVipChannelEnabled(true); // read at every send: the sends below use listenPort - 2
            for (int i = 0; i < SENT; i++) {
                sent.add(producer.send(new Message(topic, "t", "k" + i, ("c-" + i).getBytes(StandardCharsets.UTF_8)),
                        new MessageQueue(topic, stack.brokerName(), i % QUEUES)));
            }
            assertTrue(Await.until(Duration.ofSeconds(20), () -> got.size() >= SENT), stack.kind() + " consumed " + got.size());
            assertTrue(Await.until(Duration.ofSeconds(15), () -> {
                try {
                    return admin.examineConsumeStats(group, topic).computeTotalDiff() == 0;
                } catch (Exception e) {
                    return false;
                }
            }), stack.kind() + ": the group's offsets never reached the queue ends");
        }

        String clientId() {
            return consumer.getDefaultMQPushConsumerImpl().getmQClientFactory().getClientId();
        }

        boolean reference() {
            return !"rmq".equals(stack.kind());
        }

        /** Deliveries per body (a multiset). */
        Map<String, Integer> deliveries() {
            return Clients.countBy(got, m -> new String(m.getBody(), StandardCharsets.UTF_8));
        }

        @Override
        public void close() {
            admin.shutdown();
            clients.close();
            stack.close();
        }
    }

    Side apache;
    Side rmq;

    @BeforeAll
    void runTheScenarioOnBoth() throws Exception {
        Targets.requireApacheBrokerRun("the console contract");
        // A check round a second, not a minute: the first one registers the transaction half topic.
        Map<String, String> options = Map.of("transactionCheckInterval", "1000");
        apache = new Side(ApacheBroker.startStack(options));
        rmq = new Side(RmqBroker.startStack(Targets.requireRmqNamesrvBinary(), Targets.requireRmqBrokerBinary(), options));
    }

    @AfterAll
    void stopBoth() {
        for (Side s : new Side[] {rmq, apache}) {
            if (s != null) {
                s.close();
            }
        }
    }

    /** Checks {@code ok} on one side: Apache must pass; rmq may fail only as a listed difference. */
    static void check(Side side, String check, boolean ok, String detail) {
        KNOWN.check("console:" + check, side.reference(), ok, detail + " (" + side.stack.kind() + ")");
    }

    /** Runs {@code ask} on both sides and requires equal answers (rmq's may differ only as listed). */
    static <T> void same(String check, Side apache, Side rmq, Function<Side, T> ask) {
        T a = ask.apply(apache);
        T r = ask.apply(rmq);
        System.out.println("console:" + check + " apache=" + a + " rmq=" + r);
        check(rmq, check, a.equals(r), "apache " + a + " vs rmq " + r);
    }

    interface Call<T> {
        T call() throws Exception;
    }

    static <T> T call(Call<T> c) {
        try {
            return c.call();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** A client id no consumer has: what the broker relays to it is refused. */
    static final String ABSENT_CLIENT = "10.0.0.1@nobody";

    /**
     * How a relayed call to {@link #ABSENT_CLIENT} ends, comparable across sides: "answered", or
     * the refusal's code and remark with the side's group written {@code <group>}.
     */
    static String refusal(Side s, Call<?> c) {
        try {
            c.call();
            return "answered";
        } catch (MQClientException e) {
            return e.getResponseCode() + " " + e.getErrorMessage().replace(s.group, "<group>");
        } catch (Exception e) {
            return e.toString();
        }
    }

    @Test
    @Order(1)
    void theFastChannelAnswersAndRuntimeInfoHasTheExportersKeys() throws Exception {
        for (Side s : new Side[] {apache, rmq}) {
            String vip = MixAll.brokerVIPChannel(true, s.stack.brokerAddr());
            try (RawClient raw = new RawClient()) {
                RemotingCommand resp = raw.invoke(vip, RequestCode.GET_BROKER_RUNTIME_INFO, Map.of(), null, null, 5000);
                assertEquals(ResponseCode.SUCCESS, resp.getCode(), s.stack.kind() + " on the fast channel " + vip);
            }
            Map<String, String> t = s.admin.fetchBrokerRuntimeStats(s.stack.brokerAddr()).getTable();
            Set<String> missing = new TreeSet<>(EXPORTER_RUNTIME_KEYS);
            missing.removeAll(t.keySet());
            check(s, "runtime-exporter-keys", missing.isEmpty(), "runtime info lacks what rocketmq-exporter parses: " + missing);
            // Apache 4.9.7 reads maxMessageSize * 2 bytes at the commit log's min offset and
            // answers -1 until that much is stored; rmq answers the first message's store time.
            long earliest = Long.parseLong(t.get("earliestMessageTimeStamp"));
            long first = s.admin.viewMessage(s.topic, s.sent.get(0).getOffsetMsgId()).getStoreTimestamp();
            assertEquals(s.reference() ? -1 : first, earliest, s.stack.kind() + " earliestMessageTimeStamp");
        }
    }

    @Test
    @Order(2)
    void theNameServerListsSystemTopics() {
        for (Side s : new Side[] {apache, rmq}) {
            TopicList list = call(() -> s.producer.getDefaultMQProducerImpl().getmQClientFactory().getMQClientAPIImpl().getSystemTopicList(5000));
            assertTrue(list.getTopicList().containsAll(Set.of(s.stack.clusterName(), s.stack.brokerName())),
                    s.stack.kind() + " system topics " + list.getTopicList());
            assertEquals(s.stack.brokerAddr(), list.getBrokerAddr(), s.stack.kind() + " system topic list's broker");
        }
        // The Java client adds the broker's own list (GET_SYSTEM_TOPIC_LIST_FROM_BROKER) to the name
        // server's. rmq's broker also lists its 5.x-style internal topics (rmq_sys_*), as Apache 5 does.
        same("system-topic-list", apache, rmq, s -> {
            TreeSet<String> topics = new TreeSet<>(call(() -> s.producer.getDefaultMQProducerImpl()
                    .getmQClientFactory().getMQClientAPIImpl().getSystemTopicList(5000)).getTopicList());
            topics.removeIf(t -> t.startsWith("rmq_sys_"));
            return topics;
        });
    }

    /** GET_TOPIC_CONFIG is RocketMQ 5's; Apache 4.9.7 refuses it, rmq answers the 4.9 table's entry. */
    @Test
    @Order(3)
    void oneTopicsConfigAs5xAsksForIt() throws Exception {
        for (Side s : new Side[] {apache, rmq}) {
            RemotingCommand resp;
            try (RawClient raw = new RawClient()) {
                resp = raw.invoke(s.stack.brokerAddr(), 351, Map.of("topic", s.topic), null, null, 5000);
            }
            TopicConfig fromAll = s.admin.getAllTopicConfig(s.stack.brokerAddr(), 5000).getTopicConfigTable().get(s.topic);
            assertNotNull(fromAll, s.stack.kind() + " getAllTopicConfig lacks " + s.topic);
            if (s.reference()) {
                assertEquals(ResponseCode.REQUEST_CODE_NOT_SUPPORTED, resp.getCode(), "Apache 4.9.7 and GET_TOPIC_CONFIG");
                continue;
            }
            assertEquals(ResponseCode.SUCCESS, resp.getCode(), "rmq GET_TOPIC_CONFIG: " + resp.getRemark());
            assertEquals(Canonical.write(JSON.parse(JSON.toJSONString(fromAll))), Canonical.typed(resp.getBody(), TopicConfig.class),
                    "GET_TOPIC_CONFIG vs the entry of GET_ALL_TOPIC_CONFIG");
            try (RawClient raw = new RawClient()) {
                RemotingCommand missing = raw.invoke(s.stack.brokerAddr(), 351, Map.of("topic", "NoSuchTopic"), null, null, 5000);
                assertEquals(ResponseCode.TOPIC_NOT_EXIST, missing.getCode(), "GET_TOPIC_CONFIG of an unknown topic");
                assertEquals("No topic in this broker. topic: NoSuchTopic", missing.getRemark());
            }
        }
    }

    @Test
    @Order(4)
    void producersAndTheirConnections() {
        for (Side s : new Side[] {apache, rmq}) {
            // A producer is known to a broker from its heartbeats; the first may precede its route.
            s.producer.getDefaultMQProducerImpl().getmQClientFactory().sendHeartbeatToAllBrokerWithLock();
            ProducerTableInfo all = call(() -> s.admin.getAllProducerInfo(s.stack.brokerAddr()));
            List<ProducerInfo> ours = all.getData().get(s.producer.getProducerGroup());
            String clientId = s.producer.getDefaultMQProducerImpl().getmQClientFactory().getClientId();
            check(s, "producer-info", ours != null && ours.size() == 1 && ours.get(0).getClientId().equals(clientId)
                    && "JAVA".equals(ours.get(0).getLanguage().name()) && ours.get(0).getLastUpdateTimestamp() > 0,
                    "getAllProducerInfo of " + s.producer.getProducerGroup() + ": " + (ours == null ? "none" : JSON.toJSONString(ours)));
            ProducerConnection pc = call(() -> s.admin.examineProducerConnectionInfo(s.producer.getProducerGroup(), s.topic));
            assertEquals(1, pc.getConnectionSet().size(), s.stack.kind() + " producer connections " + pc.getConnectionSet());
        }
    }

    /** The broker relays the request to the Java consumer, which answers: both brokers alike. */
    @Test
    @Order(5)
    void consumerRunningInfoIsRelayedToTheClient() {
        Map<String, ConsumerRunningInfo> infos = new TreeMap<>();
        for (Side s : new Side[] {apache, rmq}) {
            ConsumerRunningInfo info = call(() -> s.admin.getConsumerRunningInfo(s.group, s.clientId(), false));
            assertNotNull(info, s.stack.kind() + " running info");
            infos.put(s.stack.kind(), info);
            assertEquals("CONSUME_PASSIVELY", info.getProperties().getProperty(ConsumerRunningInfo.PROP_CONSUME_TYPE));
            assertEquals(s.stack.namesrvAddr() + ";", info.getProperties().getProperty(ConsumerRunningInfo.PROP_NAMESERVER_ADDR));
            // the dashboard's "jstack" button: the client adds its threads' stacks
            ConsumerRunningInfo withStacks = call(() -> s.admin.getConsumerRunningInfo(s.group, s.clientId(), true));
            assertTrue(withStacks.getJstack() != null && withStacks.getJstack().contains("ConsumeMessageThread_"),
                    s.stack.kind() + " running info with jstack: " + withStacks.getJstack());
        }
        same("running-info-properties", apache, rmq, s -> new TreeSet<>(infos.get(s.stack.kind()).getProperties().stringPropertyNames()));
        same("running-info-subscriptions", apache, rmq, s -> {
            TreeSet<String> subs = new TreeSet<>();
            for (SubscriptionData sd : infos.get(s.stack.kind()).getSubscriptionSet()) {
                subs.add(sd.getTopic().equals(s.topic) ? "<topic>:" + sd.getSubString()
                        : sd.getTopic().replace(s.group, "<group>") + ":" + sd.getSubString());
            }
            return subs;
        });
        same("running-info-queues", apache, rmq, s -> {
            SortedMap<Integer, Long> committed = new TreeMap<>();
            for (Map.Entry<MessageQueue, ProcessQueueInfo> e : infos.get(s.stack.kind()).getMqTable().entrySet()) {
                if (e.getKey().getTopic().equals(s.topic)) {
                    committed.put(e.getKey().getQueueId(), e.getValue().getCommitOffset());
                }
            }
            return committed;
        });
        same("running-info-status-topics", apache, rmq, s -> new TreeSet<>(infos.get(s.stack.kind()).getStatusTable().keySet()).size());
        same("running-info-failed", apache, rmq, s -> infos.get(s.stack.kind()).getStatusTable().get(s.topic).getConsumeFailedMsgs());
        same("running-info-absent-client", apache, rmq,
                s -> refusal(s, () -> s.admin.getConsumerRunningInfo(s.group, ABSENT_CLIENT, false)));
    }

    @Test
    @Order(6)
    void aStoredMessageIsConsumedDirectlyByTheClient() {
        for (Side s : new Side[] {apache, rmq}) {
            SendResult target = s.sent.get(7);
            String body = "c-7";
            ConsumeMessageDirectlyResult r = call(() -> s.admin.consumeMessageDirectly(s.group, s.clientId(), target.getOffsetMsgId()));
            assertEquals(CMResult.CR_SUCCESS, r.getConsumeResult(), s.stack.kind() + " " + r);
            assertTrue(Await.until(Duration.ofSeconds(5), () -> s.deliveries().getOrDefault(body, 0) == 2),
                    s.stack.kind() + " deliveries of " + body + ": " + s.deliveries().get(body));
        }
        same("consume-directly-absent-client", apache, rmq,
                s -> refusal(s, () -> s.admin.consumeMessageDirectly(s.group, ABSENT_CLIENT, s.sent.get(0).getOffsetMsgId())));
    }

    /** The rest of what the dashboard and the exporter read, compared where the traffic fixes it. */
    @Test
    @Order(7)
    void whatTheConsolesReadAgrees() {
        same("topic-stats", apache, rmq, s -> {
            TopicStatsTable t = call(() -> s.admin.examineTopicStats(s.topic));
            SortedMap<Integer, String> m = new TreeMap<>();
            t.getOffsetTable().forEach((mq, o) -> m.put(mq.getQueueId(), o.getMinOffset() + ".." + o.getMaxOffset()));
            return m;
        });
        // The group's %RETRY% queue shows up once the client has committed an offset for it, a race
        // on both brokers: only the scenario's topic is compared.
        same("consume-stats", apache, rmq, s -> {
            ConsumeStats c = call(() -> s.admin.examineConsumeStats(s.group));
            SortedMap<Integer, String> m = new TreeMap<>();
            c.getOffsetTable().forEach((mq, o) -> {
                if (mq.getTopic().equals(s.topic)) {
                    m.put(mq.getQueueId(), o.getBrokerOffset() + "/" + o.getConsumerOffset());
                }
            });
            return m;
        });
        same("topic-consumed-by", apache, rmq, s -> call(() -> s.admin.queryTopicConsumeByWho(s.topic)).getGroupList().contains(s.group));
        same("consumer-connection", apache, rmq, s -> call(() -> s.admin.examineConsumerConnectionInfo(s.group)).getConnectionSet().size());
        // The consumer page lists every group of the table, Apache's built-in ones too.
        same("subscription-groups", apache, rmq, s -> {
            TreeSet<String> groups = new TreeSet<>();
            call(() -> s.admin.getAllSubscriptionGroup(s.stack.brokerAddr(), 5000)).getSubscriptionGroupTable()
                    .keySet().forEach(g -> groups.add(g.equals(s.group) ? "<group>" : g));
            return groups;
        });
        same("topic-list", apache, rmq, s -> call(() -> s.admin.fetchAllTopicList()).getTopicList().contains(s.topic));
        // Each broker registers the half topic after its first transaction check and then tells the
        // name server in the background: waited for (10 s at most), as a console user would reload.
        same("half-topic-listed", apache, rmq, s -> Await.until(Duration.ofSeconds(10),
                () -> call(() -> s.admin.fetchAllTopicList()).getTopicList().contains("RMQ_SYS_TRANS_HALF_TOPIC")));
        same("broker-config-has-name", apache, rmq, s -> s.stack.brokerName()
                .equals(call(() -> s.admin.getBrokerConfig(s.stack.brokerAddr())).getProperty("brokerName")));
        same("cluster-brokers", apache, rmq, s -> call(() -> s.admin.examineBrokerClusterInfo()).getBrokerAddrTable().keySet());
        // The exporter reads these; their values are sampled per minute, so only the answer is compared.
        same("broker-stats", apache, rmq, s -> {
            String byGroup = s.topic + "@" + s.group;
            SortedMap<String, String> answers = new TreeMap<>();
            for (String[] ask : new String[][] {{"TOPIC_PUT_NUMS", s.topic}, {"TOPIC_PUT_SIZE", s.topic},
                    {"GROUP_GET_NUMS", byGroup}, {"GROUP_GET_SIZE", byGroup}, {"SNDBCK_PUT_NUMS", byGroup},
                    {"BROKER_PUT_NUMS", s.stack.clusterName()}, {"BROKER_GET_NUMS", s.stack.clusterName()}}) {
                String answer;
                try {
                    answer = s.admin.viewBrokerStatsData(s.stack.brokerAddr(), ask[0], ask[1]) != null ? "answered" : "null";
                } catch (Exception e) {
                    answer = e.getClass().getSimpleName();
                }
                answers.put(ask[0], answer);
            }
            return answers;
        });
        // The exporter's rocketmq_topic_retry_offset: the group's retry topic's queues.
        same("retry-topic-stats", apache, rmq, s -> call(() -> s.admin.examineTopicStats(MixAll.getRetryTopic(s.group)))
                .getOffsetTable().size());
        // The message page: found by key, and its track (consumed by the group).
        same("query-by-key", apache, rmq, s -> call(() -> s.admin.queryMessage(s.topic, "k7", 32, 0, Long.MAX_VALUE))
                .getMessageList().size());
        same("message-track", apache, rmq, s -> {
            MessageExt m = call(() -> s.admin.viewMessage(s.topic, s.sent.get(7).getOffsetMsgId()));
            List<String> tracks = new ArrayList<>();
            for (MessageTrack t : call(() -> s.admin.messageTrackDetail(m))) {
                tracks.add(t.getConsumerGroup().replace(s.group, "<group>") + " " + t.getTrackType());
            }
            return tracks;
        });
    }
}
