package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;
import rmq.interop.harness.BrokerStack;

/**
 * Delay levels, retries and dead letters as the stock Java 4.9.7 client sees them. The broker
 * runs with short delay levels ({@link #LEVELS}) so that retries (levels 3, 4, …) take seconds.
 * Subclasses choose the stack: Apache's proves the tests, ours is under test.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class DelayRetryContract extends StackContract {
    /** Level 1 = 1 s, 2 = 2 s; the first retry (level 3) waits 1 s, the second (level 4) 2 s. */
    static final Map<String, String> LEVELS = Map.of("messageDelayLevel", "1s 2s 1s 2s 3s 4s");

    /** The property keys a delayed message has when a push consumer gets it from Apache 4.9.7. */
    static final java.util.SortedSet<String> DELIVERED_DELAYED_KEYS = new java.util.TreeSet<>(List.of(
            "CLUSTER", "CONSUME_START_TIME", "DELAY", "KEYS", "MAX_OFFSET", "MIN_OFFSET", "REAL_QID", "REAL_TOPIC",
            "TAGS", "UNIQ_KEY", "WAIT", "mine"));

    /**
     * The property keys of a redelivered message (from %RETRY%group) on Apache 4.9.7; a dead
     * letter read from %DLQ%group has the same (the last retry's, with DELAY=0).
     */
    static final java.util.SortedSet<String> REDELIVERED_KEYS = new java.util.TreeSet<>(List.of(
            "CLUSTER", "CONSUME_START_TIME", "DELAY", "KEYS", "MAX_OFFSET", "MIN_OFFSET", "ORIGIN_MESSAGE_ID", "REAL_QID",
            "REAL_TOPIC", "RETRY_TOPIC", "TAGS", "UNIQ_KEY", "WAIT"));

    /** A delivery as the listener saw it (with the message's properties as the client decoded them). */
    record Delivery(String msgId, String topic, int reconsumeTimes, long at, String body, int queueId,
                    Map<String, String> properties) {}

    /**
     * Starts a consumer of {@code topic} whose listener records every delivery and fails the
     * first {@code failures} deliveries of each message.
     */
    DefaultMQPushConsumer consume(String group, String topic, int failures, int maxReconsumeTimes,
                                  ConcurrentLinkedQueue<Delivery> sink) throws Exception {
        DefaultMQPushConsumer c = clients.pushConsumer(group, topic, "*", MessageModel.CLUSTERING);
        c.setMaxReconsumeTimes(maxReconsumeTimes);
        Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            ConsumeConcurrentlyStatus status = ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            for (MessageExt m : msgs) {
                sink.add(new Delivery(m.getMsgId(), m.getTopic(), m.getReconsumeTimes(), System.currentTimeMillis(),
                        new String(m.getBody(), StandardCharsets.UTF_8), m.getQueueId(), Map.copyOf(m.getProperties())));
                if (seen.computeIfAbsent(m.getMsgId(), k -> new AtomicInteger()).incrementAndGet() <= failures) {
                    status = ConsumeConcurrentlyStatus.RECONSUME_LATER;
                }
            }
            return status;
        });
        c.start();
        // The 4.9.7 client looks up %RETRY%group's route once at start, racing the heartbeat that
        // creates the topic; losing that race leaves the retry queue unassigned until the next
        // 20 s rebalance (on Apache's broker too). Refresh until the retry queue is owned so the
        // measured gaps are the delay levels, not the rebalance period.
        String retry = MixAll.getRetryTopic(group);
        assertTrue(Await.until(Duration.ofSeconds(30), () -> {
            c.getDefaultMQPushConsumerImpl().getmQClientFactory().updateTopicRouteInfoFromNameServer(retry);
            c.getDefaultMQPushConsumerImpl().getmQClientFactory().rebalanceImmediately();
            return c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet().stream()
                    .anyMatch(mq -> mq.getTopic().equals(retry));
        }), "the consumer never owned a queue of " + retry);
        return c;
    }

    static List<Delivery> of(ConcurrentLinkedQueue<Delivery> sink, String msgId) {
        List<Delivery> out = new ArrayList<>();
        for (Delivery d : sink) {
            if (d.msgId().equals(msgId)) {
                out.add(d);
            }
        }
        return out;
    }

    static Message msg(String topic, String body) {
        return new Message(topic, "t", "key-" + body, body.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Levels 1, 2 and 3 (1 s, 2 s, 1 s here) arrive no earlier than their delay and less than 3 s
     * after it, once each, on the topic and queue they were sent to, with the delay level gone
     * from the properties and the user's properties kept.
     */
    @Test
    void delayLevelsArriveNoEarlierThanAsked() throws Exception {
        String topic = clients.createTopic("Delay", 2);
        ConcurrentLinkedQueue<Delivery> got = new ConcurrentLinkedQueue<>();
        consume(Clients.unique("delayg"), topic, 0, -1, got);
        DefaultMQProducer p = clients.producer();
        long[] delayOfLevel = {0, 1000, 2000, 1000};
        Map<String, long[]> sent = new ConcurrentHashMap<>();
        Map<String, Integer> queueOf = new ConcurrentHashMap<>();
        for (int level = 1; level <= 3; level++) {
            Message m = msg(topic, "level-" + level);
            m.setDelayTimeLevel(level);
            m.putUserProperty("mine", "v" + level);
            long before = System.currentTimeMillis();
            SendResult r = p.send(m);
            sent.put(r.getMsgId(), new long[] {before, delayOfLevel[level]});
            queueOf.put(r.getMsgId(), r.getMessageQueue().getQueueId());
        }
        Message now = msg(topic, "now");
        SendResult plain = p.send(now);
        assertTrue(Await.until(Duration.ofSeconds(20), () -> got.size() >= 4), "4 messages, got " + got);
        Thread.sleep(1000); // a second delivery of any of them would show now
        assertEquals(4, got.size(), "every message exactly once: " + got);
        for (Map.Entry<String, long[]> e : sent.entrySet()) {
            List<Delivery> d = of(got, e.getKey());
            assertEquals(1, d.size(), "one delivery of " + e.getKey() + ": " + got);
            long waited = d.get(0).at() - e.getValue()[0];
            assertTrue(waited >= e.getValue()[1], "asked " + e.getValue()[1] + " ms, arrived after " + waited);
            assertTrue(waited < e.getValue()[1] + 3_000, "asked " + e.getValue()[1] + " ms, arrived after " + waited);
            Delivery x = d.get(0);
            assertEquals(topic, x.topic());
            assertEquals((int) queueOf.get(e.getKey()), x.queueId(), "delivered on the queue the send result named");
            assertEquals(0, x.reconsumeTimes());
            Map<String, String> props = x.properties();
            assertEquals("v" + x.body().substring("level-".length()), props.get("mine"), "user property kept: " + props);
            assertEquals("key-" + x.body(), props.get(MessageConst.PROPERTY_KEYS), "keys kept: " + props);
            assertEquals("t", props.get(MessageConst.PROPERTY_TAGS), "tag kept: " + props);
            // Apache 4.9.7 keeps DELAY (the level) on the delivered copy
            clients.check("delay", "delay-level-kept",
                    x.body().substring("level-".length()).equals(props.get(MessageConst.PROPERTY_DELAY_TIME_LEVEL)),
                    "DELAY after delivery: " + props);
            // the broker's properties and the client's own (MIN_OFFSET, MAX_OFFSET, CONSUME_START_TIME)
            clients.check("delay", "property-keys", DELIVERED_DELAYED_KEYS.equals(new java.util.TreeSet<>(props.keySet())),
                    "property keys after delivery " + new java.util.TreeSet<>(props.keySet()) + ", Apache 4.9.7: " + DELIVERED_DELAYED_KEYS);
            clients.check("delay", "real-topic", topic.equals(props.get(MessageConst.PROPERTY_REAL_TOPIC)),
                    "REAL_TOPIC after delivery: " + props);
            clients.check("delay", "real-queue-id",
                    String.valueOf(queueOf.get(e.getKey())).equals(props.get(MessageConst.PROPERTY_REAL_QUEUE_ID)),
                    "REAL_QID after delivery: " + props);
        }
        assertEquals(1, of(got, plain.getMsgId()).size());
        assertTrue(!of(got, plain.getMsgId()).get(0).properties().containsKey(MessageConst.PROPERTY_REAL_TOPIC),
                "a message that was never delayed has no REAL_TOPIC");
    }

    @Test
    void aListenerFailingTwiceGetsTheMessageThreeTimesWithGrowingGaps() throws Exception {
        String topic = clients.createTopic("Retry", 1);
        ConcurrentLinkedQueue<Delivery> got = new ConcurrentLinkedQueue<>();
        String group = Clients.unique("retryg");
        String retryTopic = MixAll.getRetryTopic(group);
        consume(group, topic, 2, -1, got);
        SendResult r = clients.producer().send(msg(topic, "flaky"));
        assertTrue(Await.until(Duration.ofSeconds(30), () -> of(got, r.getMsgId()).size() >= 3), "3 deliveries: " + got);
        Thread.sleep(1500);
        List<Delivery> d = of(got, r.getMsgId());
        assertEquals(3, d.size(), "deliveries " + d);
        for (int i = 0; i < 3; i++) {
            assertEquals(i, d.get(i).reconsumeTimes(), "reconsume times " + d);
            assertEquals(topic, d.get(i).topic(), "the retry topic is hidden from the listener");
            assertEquals("flaky", d.get(i).body());
        }
        long gap1 = d.get(1).at() - d.get(0).at();
        long gap2 = d.get(2).at() - d.get(1).at();
        assertTrue(gap1 >= 900 && gap2 >= 1900 && gap2 > gap1, "gaps " + gap1 + " ms then " + gap2 + " ms");
        for (int i = 1; i < 3; i++) {
            Map<String, String> props = d.get(i).properties();
            assertEquals("key-flaky", props.get(MessageConst.PROPERTY_KEYS), "keys kept: " + props);
            clients.check("retry", "property-keys", REDELIVERED_KEYS.equals(new java.util.TreeSet<>(props.keySet())),
                    "retry delivery property keys " + new java.util.TreeSet<>(props.keySet()) + ", Apache 4.9.7: " + REDELIVERED_KEYS);
            clients.check("retry", "origin-msg-id", props.get(MessageConst.PROPERTY_ORIGIN_MESSAGE_ID) != null,
                    "ORIGIN_MESSAGE_ID on a retry delivery: " + props);
            // the n-th retry waited at level 2 + n, in the group's retry topic
            clients.check("retry", "values", String.valueOf(2 + i).equals(props.get(MessageConst.PROPERTY_DELAY_TIME_LEVEL))
                    && topic.equals(props.get(MessageConst.PROPERTY_RETRY_TOPIC))
                    && retryTopic.equals(props.get(MessageConst.PROPERTY_REAL_TOPIC))
                    && "false".equals(props.get(MessageConst.PROPERTY_WAIT_STORE_MSG_OK)),
                    "retry delivery " + i + " properties " + props);
        }
    }

    @Test
    void anAlwaysFailingListenerEndsInTheDeadLetterQueue() throws Exception {
        String topic = clients.createTopic("Dlq", 1);
        String group = Clients.unique("dlqg");
        ConcurrentLinkedQueue<Delivery> got = new ConcurrentLinkedQueue<>();
        consume(group, topic, Integer.MAX_VALUE, 2, got);
        SendResult r = clients.producer().send(msg(topic, "doomed"));
        String dlq = MixAll.getDLQTopic(group);
        List<MessageExt> dead = new ArrayList<>();
        assertTrue(Await.until(Duration.ofSeconds(30), () -> {
            try {
                QueryResult q = clients.admin.queryMessage(dlq, "key-doomed", 32, 0, Long.MAX_VALUE);
                dead.clear();
                dead.addAll(q.getMessageList());
                return !dead.isEmpty();
            } catch (Exception e) {
                return false;
            }
        }), "the message in " + dlq + " (deliveries " + of(got, r.getMsgId()) + ")");
        Thread.sleep(2500);
        assertEquals(3, of(got, r.getMsgId()).size(), "maxReconsumeTimes + 1 deliveries: " + of(got, r.getMsgId()));
        MessageExt m = dead.get(0);
        assertEquals(r.getMsgId(), m.getProperty(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX), "id kept");
        assertEquals(topic, m.getProperty(MessageConst.PROPERTY_RETRY_TOPIC), "original topic kept");
        assertEquals("doomed", new String(m.getBody(), StandardCharsets.UTF_8));
        assertEquals(3, m.getReconsumeTimes());

        // as a newcomer reads dead letters: the DLQ is in the route, readable and writable (perm 6
        // in Apache 4.9.7), and an ordinary consumer of another group gets the message exactly once
        TopicRouteData route = clients.admin.examineTopicRouteInfo(dlq);
        assertEquals(1, route.getQueueDatas().size(), "DLQ route " + route);
        clients.check("dlq", "perm", route.getQueueDatas().get(0).getPerm() == 6,
                "%DLQ% perm in the route is " + route.getQueueDatas().get(0).getPerm() + ", Apache 4.9.7 gives 6 (read+write)");
        TopicConfig all = clients.admin.getAllTopicConfig(stack.brokerAddr(), 5000).getTopicConfigTable().get(dlq);
        assertTrue(all != null, dlq + " in GET_ALL_TOPIC_CONFIG");
        clients.check("dlq", "perm-all-topic-config", all.getPerm() == 6 && all.getReadQueueNums() == 1 && all.getWriteQueueNums() == 1,
                "%DLQ% config from getAllTopicConfig: " + all);
        TopicConfig one = clients.admin.examineTopicConfig(stack.brokerAddr(), dlq);
        clients.check("dlq", "examine-topic-config", one != null && one.getPerm() == 6, "%DLQ% config from examineTopicConfig: " + one);
        ConcurrentLinkedQueue<MessageExt> fromDlq = new ConcurrentLinkedQueue<>();
        clients.startCollecting(Clients.unique("dlqreader"), dlq, "*", MessageModel.CLUSTERING, fromDlq);
        assertTrue(Await.until(Duration.ofSeconds(20), () -> !fromDlq.isEmpty()), "an ordinary consumer of " + dlq + " got nothing");
        Thread.sleep(1000);
        assertEquals(1, fromDlq.size(), "the dead letter exactly once: " + fromDlq);
        MessageExt dl = fromDlq.peek();
        assertEquals(dlq, dl.getTopic());
        assertEquals(r.getMsgId(), dl.getMsgId());
        assertEquals("doomed", new String(dl.getBody(), StandardCharsets.UTF_8));
        assertEquals(topic, dl.getProperty(MessageConst.PROPERTY_RETRY_TOPIC), "original topic kept");
        assertEquals(3, dl.getReconsumeTimes());
        // Apache 4.9.7 keeps the last retry's properties with DELAY=0
        clients.check("dlq", "property-keys", REDELIVERED_KEYS.equals(new java.util.TreeSet<>(dl.getProperties().keySet())),
                "dead letter property keys " + new java.util.TreeSet<>(dl.getProperties().keySet()) + ", Apache 4.9.7: " + REDELIVERED_KEYS);
        clients.check("dlq", "delay-zero", "0".equals(dl.getProperty(MessageConst.PROPERTY_DELAY_TIME_LEVEL)),
                "DELAY on a dead letter: " + dl.getProperties());
    }
}
