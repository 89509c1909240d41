package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.consumer.store.OffsetStore;
import org.apache.rocketmq.client.consumer.store.ReadOffsetType;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.admin.ConsumeStats;
import org.apache.rocketmq.common.admin.OffsetWrapper;
import org.apache.rocketmq.common.admin.TopicOffset;
import org.apache.rocketmq.common.admin.TopicStatsTable;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageClientExt;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageId;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.protocol.body.ClusterInfo;
import org.apache.rocketmq.common.protocol.body.KVTable;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.common.protocol.route.BrokerData;
import org.apache.rocketmq.common.topic.TopicValidator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;
import rmq.interop.harness.BrokerStack;

/**
 * What the stock Java 4.9.7 producer, push consumer, lite-pull consumer and admin tool must be
 * able to do with a name server + broker. One stack per class (started once), a fresh topic and
 * group per test. Subclasses choose the stack: Apache's proves the tests, ours is under test.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class BrokerClientContract extends StackContract {
    static Message msg(String topic, String tag, String key, String body) {
        Message m = new Message(topic, tag, key, body.getBytes(StandardCharsets.UTF_8));
        return m;
    }

    static String body(MessageExt m) {
        return new String(m.getBody(), StandardCharsets.UTF_8);
    }

    /** Waits until {@code sink} holds at least {@code n} messages. */
    static void awaitCount(java.util.Collection<?> sink, int n, Duration max, String what) {
        assertTrue(Await.until(max, () -> sink.size() >= n),
                what + ": expected " + n + " messages within " + max + ", got " + sink.size());
    }

    static String describe(ConsumeStats cs) {
        Map<String, String> m = new TreeMap<>();
        cs.getOffsetTable().forEach((mq, o) -> m.put(mq.getTopic() + "/" + mq.getQueueId(),
                "broker=" + o.getBrokerOffset() + " consumer=" + o.getConsumerOffset()));
        return m.toString();
    }

    // ------------------------------------------------------------------ sending

    @Test
    void syncAsyncAndOnewaySendsAllArrive() throws Exception {
        String topic = clients.createTopic("SendModes", 4);
        DefaultMQProducer p = clients.producer();
        Set<String> sent = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            String b = "sync-" + i;
            SendResult r = p.send(msg(topic, "s", "k" + i, b));
            sent.add(b);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "sync send status");
            assertEquals(topic, r.getMessageQueue().getTopic());
            assertTrue(r.getMessageQueue().getQueueId() >= 0 && r.getMessageQueue().getQueueId() < 4, "queue id " + r.getMessageQueue());
            assertTrue(r.getQueueOffset() >= 0, "queue offset " + r.getQueueOffset());
            assertNotNull(r.getMsgId(), "msgId (UNIQ_KEY)");
            MessageId id = MessageDecoder.decodeMessageId(r.getOffsetMsgId());
            java.net.InetSocketAddress store = (java.net.InetSocketAddress) id.getAddress();
            assertEquals(stack.brokerAddr(), store.getAddress().getHostAddress() + ":" + store.getPort(),
                    "offsetMsgId " + r.getOffsetMsgId() + " must encode the broker's store host");
        }
        CountDownLatch acked = new CountDownLatch(10);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int i = 0; i < 10; i++) {
            String b = "async-" + i;
            sent.add(b);
            p.send(msg(topic, "a", "k" + i, b), new SendCallback() {
                @Override
                public void onSuccess(SendResult r) {
                    if (r.getSendStatus() != SendStatus.SEND_OK) {
                        failure.compareAndSet(null, new AssertionError("async status " + r));
                    }
                    acked.countDown();
                }

                @Override
                public void onException(Throwable e) {
                    failure.compareAndSet(null, e);
                    acked.countDown();
                }
            });
        }
        assertTrue(acked.await(15, TimeUnit.SECONDS), "async callbacks did not all arrive within 15 s");
        assertEquals(null, failure.get(), "async send failed");
        for (int i = 0; i < 10; i++) {
            String b = "oneway-" + i;
            sent.add(b);
            p.sendOneway(msg(topic, "o", "k" + i, b));
        }
        List<MessageExt> got = clients.readAll(topic, 30);
        Set<String> bodies = got.stream().map(BrokerClientContract::body).collect(Collectors.toSet());
        assertEquals(sent, bodies, "every sync, async and one-way message is stored exactly once");
        assertEquals(30, got.size(), "no duplicates");
        TopicStatsTable stats = clients.admin.examineTopicStats(topic);
        long total = stats.getOffsetTable().values().stream().mapToLong(o -> o.getMaxOffset() - o.getMinOffset()).sum();
        assertEquals(30, total, "examineTopicStats: sum of (max - min) offsets " + stats.getOffsetTable());
    }

    @Test
    void batchSendStoresEveryMessageInOrder() throws Exception {
        String topic = clients.createTopic("Batch", 4);
        DefaultMQProducer p = clients.producer();
        List<Message> batch = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            Message m = msg(topic, "batchTag", "bk" + i, "batch-" + i);
            m.putUserProperty("seq", String.valueOf(i));
            batch.add(m);
        }
        SendResult r = p.send(batch);
        assertEquals(SendStatus.SEND_OK, r.getSendStatus());
        assertEquals(16, r.getMsgId().split(",").length, "a batch result lists every message's id: " + r.getMsgId());
        List<MessageExt> got = clients.readAll(topic, 16);
        assertEquals(16, got.size());
        int q = r.getMessageQueue().getQueueId();
        for (int i = 0; i < 16; i++) {
            MessageExt m = got.get(i);
            assertEquals(q, m.getQueueId(), "a batch goes to one queue");
            assertEquals(r.getQueueOffset() + i, m.getQueueOffset(), "consecutive offsets from the result's queueOffset");
            assertEquals("batch-" + i, body(m));
            assertEquals("bk" + i, m.getKeys());
            assertEquals("batchTag", m.getTags());
            assertEquals(String.valueOf(i), m.getUserProperty("seq"));
            assertEquals(r.getMsgId().split(",")[i], m.getMsgId(), "msgId = the UNIQ_KEY the producer assigned");
        }
    }

    @Test
    void keysTagsAndPropertiesSurviveTheRoundTrip() throws Exception {
        String topic = clients.createTopic("Props", 2);
        DefaultMQProducer p = clients.producer();
        Map<String, SendResult> results = new HashMap<>();
        for (int i = 0; i < 6; i++) {
            Message m = msg(topic, "tag" + (i % 3), null, "p-" + i);
            m.setKeys(List.of("key-" + i, "alt-" + i));
            m.putUserProperty("color", i % 2 == 0 ? "red" : "blue");
            m.putUserProperty("n", String.valueOf(i));
            results.put("p-" + i, p.send(m));
        }
        List<MessageExt> got = clients.readAll(topic, 6);
        assertEquals(6, got.size());
        for (MessageExt m : got) {
            String b = body(m);
            int i = Integer.parseInt(b.substring(2));
            SendResult r = results.get(b);
            assertEquals("tag" + (i % 3), m.getTags());
            assertEquals("key-" + i + " alt-" + i, m.getKeys());
            assertEquals(i % 2 == 0 ? "red" : "blue", m.getUserProperty("color"));
            assertEquals(String.valueOf(i), m.getUserProperty("n"));
            assertEquals(r.getMsgId(), m.getMsgId());
            assertTrue(m instanceof MessageClientExt, "pulled messages are MessageClientExt");
            assertEquals(r.getOffsetMsgId(), ((MessageClientExt) m).getOffsetMsgId(), "offset msg id of " + b);
            assertEquals(r.getQueueOffset(), m.getQueueOffset());
            assertEquals(r.getMessageQueue().getQueueId(), m.getQueueId());
            assertEquals(0, m.getReconsumeTimes());
            assertEquals(stack.brokerAddr(), m.getStoreHost().toString().replaceFirst("^.*/", ""), "store host");
            assertTrue(m.getBornTimestamp() > 0 && m.getStoreTimestamp() >= m.getBornTimestamp() - 1000,
                    "born " + m.getBornTimestamp() + " store " + m.getStoreTimestamp());
            assertEquals(stack.clusterName(), m.getProperty("CLUSTER"), "CLUSTER property added by the broker");
        }
    }

    // ------------------------------------------------------------------ push consumers

    @Test
    void clusteringTwoConsumersShareTheQueues() throws Exception {
        String topic = clients.createTopic("Cluster", 4);
        String group = Clients.unique("cg");
        ConcurrentLinkedQueue<MessageExt> a = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<MessageExt> b = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer ca = clients.startCollecting(group, topic, "*", MessageModel.CLUSTERING, a);
        assertTrue(Await.until(Duration.ofSeconds(15), () -> Clients.owned(ca, topic).size() == 4),
                "first consumer alone should own all 4 queues; owns " + Clients.owned(ca, topic));
        DefaultMQPushConsumer cb = clients.startCollecting(group, topic, "*", MessageModel.CLUSTERING, b);
        // the broker tells the first consumer (NOTIFY_CONSUMER_IDS_CHANGED) and both rebalance 2/2
        assertTrue(Await.until(Duration.ofSeconds(25), () -> Clients.owned(ca, topic).size() == 2 && Clients.owned(cb, topic).size() == 2),
                "two consumers should split 4 queues 2/2; own " + Clients.owned(ca, topic) + " and " + Clients.owned(cb, topic));
        DefaultMQProducer p = clients.producer();
        Set<String> sent = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            sent.add("c-" + i);
            p.send(msg(topic, "t", "k" + i, "c-" + i), new MessageQueue(topic, stack.brokerName(), i % 4));
        }
        Set<String> union = new HashSet<>();
        assertTrue(Await.until(Duration.ofSeconds(20), () -> a.size() + b.size() >= 100),
                "together 100 messages expected, got " + a.size() + " + " + b.size());
        Thread.sleep(500); // anything extra (a duplicate) would show up now
        a.forEach(m -> union.add(body(m)));
        b.forEach(m -> union.add(body(m)));
        assertEquals(sent, union, "together the two consumers got every message");
        assertTrue(!a.isEmpty() && !b.isEmpty(), "each consumer got some: " + a.size() + " / " + b.size());
        assertEquals(100, a.size() + b.size(), "no message delivered twice (assignment was stable before sending)");
        Set<Integer> qa = a.stream().map(MessageExt::getQueueId).collect(Collectors.toSet());
        Set<Integer> qb = b.stream().map(MessageExt::getQueueId).collect(Collectors.toSet());
        qa.retainAll(qb);
        assertTrue(qa.isEmpty(), "a queue was consumed by both consumers: " + qa);
    }

    @Test
    void broadcastingDeliversEverythingToEachConsumer() throws Exception {
        String topic = clients.createTopic("Broadcast", 4);
        String group = Clients.unique("bg");
        ConcurrentLinkedQueue<MessageExt> a = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<MessageExt> b = new ConcurrentLinkedQueue<>();
        clients.startCollecting(group, topic, "*", MessageModel.BROADCASTING, a);
        clients.startCollecting(group, topic, "*", MessageModel.BROADCASTING, b);
        DefaultMQProducer p = clients.producer();
        Set<String> sent = new HashSet<>();
        for (int i = 0; i < 40; i++) {
            sent.add("b-" + i);
            p.send(msg(topic, "t", null, "b-" + i));
        }
        awaitCount(a, 40, Duration.ofSeconds(20), "broadcast consumer A");
        awaitCount(b, 40, Duration.ofSeconds(20), "broadcast consumer B");
        Thread.sleep(500); // a duplicate would show now
        Map<String, Integer> once = new TreeMap<>();
        sent.forEach(x -> once.put(x, 1));
        assertEquals(once, new TreeMap<>(Clients.countBy(a, BrokerClientContract::body)), "consumer A: every message once");
        assertEquals(once, new TreeMap<>(Clients.countBy(b, BrokerClientContract::body)), "consumer B: every message once");
    }

    @Test
    void tagSubscriptionDeliversOnlyMatchingTags() throws Exception {
        String topic = clients.createTopic("Tags", 4);
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        clients.startCollecting(Clients.unique("tg"), topic, "tagA || tagB", MessageModel.CLUSTERING, got);
        DefaultMQProducer p = clients.producer();
        Set<String> wanted = new HashSet<>();
        for (int i = 0; i < 30; i++) {
            String tag = "tag" + "ABC".charAt(i % 3);
            if (!tag.equals("tagC")) {
                wanted.add(tag + "-" + i);
            }
            p.send(msg(topic, tag, null, tag + "-" + i), new MessageQueue(topic, stack.brokerName(), i % 4));
        }
        // a last tagA message per queue: once those arrive, every earlier message was looked at
        for (int q = 0; q < 4; q++) {
            wanted.add("tagA-end-" + q);
            p.send(msg(topic, "tagA", null, "tagA-end-" + q), new MessageQueue(topic, stack.brokerName(), q));
        }
        awaitCount(got, wanted.size(), Duration.ofSeconds(20), "tagA || tagB consumer");
        Thread.sleep(500);
        Map<String, Integer> once = new TreeMap<>();
        wanted.forEach(x -> once.put(x, 1));
        assertEquals(once, new TreeMap<>(Clients.countBy(got, BrokerClientContract::body)), "exactly the tagA and tagB messages, once each");
        assertTrue(got.stream().allMatch(m -> m.getTags().equals("tagA") || m.getTags().equals("tagB")));
    }

    @Test
    void orderedSendIsConsumedInOrderPerQueue() throws Exception {
        String topic = clients.createTopic("Ordered", 4);
        DefaultMQProducer p = clients.producer();
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        clients.startOrderly(Clients.unique("og"), topic, got);
        Map<String, Integer> queueOfKey = new HashMap<>();
        for (int step = 0; step < 10; step++) {
            for (int order = 0; order < 8; order++) {
                String key = "order-" + order;
                SendResult r = p.send(msg(topic, "o", key, key + ":" + step), (mqs, m, arg) -> {
                    int h = Math.abs(arg.hashCode() % mqs.size());
                    return mqs.get(h);
                }, key);
                Integer prev = queueOfKey.putIfAbsent(key, r.getMessageQueue().getQueueId());
                assertTrue(prev == null || prev == r.getMessageQueue().getQueueId(), "selector sends one key to one queue");
            }
        }
        awaitCount(got, 80, Duration.ofSeconds(25), "orderly consumer");
        Map<String, Integer> nextStep = new HashMap<>();
        Map<Integer, Long> lastOffset = new HashMap<>();
        for (MessageExt m : got) {
            String[] kv = body(m).split(":");
            int expected = nextStep.getOrDefault(kv[0], 0);
            assertEquals(expected, Integer.parseInt(kv[1]), "order of " + kv[0] + " broken at " + body(m));
            nextStep.put(kv[0], expected + 1);
            Long last = lastOffset.put(m.getQueueId(), m.getQueueOffset());
            assertTrue(last == null || last < m.getQueueOffset(), "queue " + m.getQueueId() + " offsets went back: "
                    + last + " then " + m.getQueueOffset());
            assertEquals((int) queueOfKey.get(kv[0]), m.getQueueId());
        }
        assertEquals(80, got.size(), "no redelivery");
    }

    /** One batch an orderly listener was given: who, which queue, when, what. */
    record OrderlyBatch(String consumer, int queueId, long start, long end, List<String> bodies) {}

    /**
     * A second orderly consumer joins while messages flow: the queues end up split 2/2, nothing
     * is lost, no consumer sees a key go backwards or a message twice, and no queue is consumed
     * by both at once (the broker's queue locks). Messages consumed by the first but not yet
     * committed when its queue moved may come again to the second: counted and printed.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void orderlyConsumptionKeepsOrderWhenASecondConsumerJoins() throws Exception {
        String topic = clients.createTopic("OrderRebalance", 4);
        String group = Clients.unique("org");
        ConcurrentLinkedQueue<OrderlyBatch> batches = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer a = startOrderlyRecording(group, topic, "A", batches);
        assertTrue(Await.until(Duration.ofSeconds(15), () -> Clients.owned(a, topic).size() == 4),
                "the first consumer alone should own 4 queues; owns " + Clients.owned(a, topic));
        DefaultMQProducer p = clients.producer();
        int keys = 8;
        int steps = 30;
        DefaultMQPushConsumer b = null;
        for (int step = 0; step < steps; step++) {
            if (step == steps / 3) {
                b = startOrderlyRecording(group, topic, "B", batches);
            }
            for (int k = 0; k < keys; k++) {
                String key = "key-" + k;
                p.send(msg(topic, "o", key, key + ":" + step), (mqs, m, arg) -> mqs.get(Math.abs(arg.hashCode() % mqs.size())), key);
            }
            Thread.sleep(40);
        }
        DefaultMQPushConsumer joined = b;
        long sentAt = System.currentTimeMillis();
        // The joiner's first LOCK_BATCH_MQ may come before the first consumer released the queues
        // (it unlocks them once it dropped them, or 20 s later when it still held pulled messages);
        // the joiner asks again at its next rebalance, every 20 s. Both brokers take either path:
        // on 2026-12-06 Apache split at once in 4 runs of 7 (else after ~19 s), rmq in 1 of 7
        // (else after ~19 s, once 38 s).
        assertTrue(Await.until(Duration.ofSeconds(65), () -> Clients.owned(a, topic).size() == 2 && Clients.owned(joined, topic).size() == 2),
                "two orderly consumers should split 4 queues 2/2; own " + Clients.owned(a, topic) + " and " + Clients.owned(joined, topic));
        long splitMs = System.currentTimeMillis() - sentAt;
        Set<String> all = new HashSet<>();
        for (int k = 0; k < keys; k++) {
            for (int step = 0; step < steps; step++) {
                all.add("key-" + k + ":" + step);
            }
        }
        assertTrue(Await.until(Duration.ofSeconds(30), () -> delivered(batches).keySet().containsAll(all)),
                "not delivered: " + missing(all, delivered(batches)));
        long deliveredMs = System.currentTimeMillis() - sentAt;
        Thread.sleep(1000);
        // per consumer: each key's steps strictly increase (no going back, no repeat)
        Map<String, Integer> last = new HashMap<>();
        for (OrderlyBatch batch : batches.stream().sorted(java.util.Comparator.comparingLong(OrderlyBatch::start)).toList()) {
            for (String body : batch.bodies()) {
                String[] kv = body.split(":");
                String who = batch.consumer() + "/" + kv[0];
                int stepNow = Integer.parseInt(kv[1]);
                Integer before = last.put(who, stepNow);
                assertTrue(before == null || before < stepNow, who + " went from step " + before + " to " + stepNow);
            }
        }
        // a queue is never in two consumers' hands at once
        for (OrderlyBatch x : batches) {
            for (OrderlyBatch y : batches) {
                if (!x.consumer().equals(y.consumer()) && x.queueId() == y.queueId()) {
                    assertTrue(x.end() < y.start() || y.end() < x.start(),
                            "queue " + x.queueId() + " consumed by A and B at once: " + x + " / " + y);
                }
            }
        }
        Map<String, Integer> counts = delivered(batches);
        long duplicates = counts.values().stream().filter(n -> n > 1).count();
        System.out.println("orderly rebalance on " + stack.kind() + ": " + counts.size() + " messages, " + duplicates
                + " delivered again after the queue moved; split 2/2 " + splitMs + " ms and all delivered "
                + deliveredMs + " ms after the last send");
        assertTrue(counts.values().stream().allMatch(n -> n <= 2), "a message came more than twice: " + counts);
    }

    DefaultMQPushConsumer startOrderlyRecording(String group, String topic, String name,
                                                ConcurrentLinkedQueue<OrderlyBatch> batches) throws Exception {
        DefaultMQPushConsumer c = clients.pushConsumer(group, topic, "*", MessageModel.CLUSTERING);
        c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
            long start = System.nanoTime();
            List<String> bodies = msgs.stream().map(BrokerClientContract::body).toList();
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            batches.add(new OrderlyBatch(name, ctx.getMessageQueue().getQueueId(), start, System.nanoTime(), bodies));
            return ConsumeOrderlyStatus.SUCCESS;
        });
        c.start();
        return c;
    }

    static Map<String, Integer> delivered(ConcurrentLinkedQueue<OrderlyBatch> batches) {
        Map<String, Integer> m = new TreeMap<>();
        batches.forEach(b -> b.bodies().forEach(x -> m.merge(x, 1, Integer::sum)));
        return m;
    }

    static Set<String> missing(Set<String> all, Map<String, Integer> got) {
        Set<String> m = new java.util.TreeSet<>(all);
        m.removeAll(got.keySet());
        return m;
    }

    @Test
    void restartedConsumerResumesFromTheCommittedOffset() throws Exception {
        String topic = clients.createTopic("Resume", 4);
        String group = Clients.unique("rg");
        DefaultMQProducer p = clients.producer();
        for (int i = 0; i < 40; i++) {
            p.send(msg(topic, "t", null, "first-" + i), new MessageQueue(topic, stack.brokerName(), i % 4));
        }
        ConcurrentLinkedQueue<MessageExt> first = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer c1 = clients.startCollecting(group, topic, "*", MessageModel.CLUSTERING, first);
        awaitCount(first, 40, Duration.ofSeconds(20), "first consumer");
        // The listener sees a message before the client records its offset (and a queue's offset
        // stays at its oldest message still in a listener): wait for the client's own offsets to
        // reach the queue ends, or the shutdown may persist less (seen against Apache's broker).
        assertTrue(Await.until(Duration.ofSeconds(10), () -> clientOffsetsAt(c1, topic, 10L)),
            "the first consumer's own offsets never reached 10 on each queue");
        c1.shutdown(); // persists the consumed offsets (UPDATE_CONSUMER_OFFSET) and unregisters
        // the committed offsets must now equal the queue ends: 10 per queue (QUERY_CONSUMER_OFFSET;
        // examineConsumeStats is covered by the admin test)
        Map<Integer, Long> expectedCommitted = Map.of(0, 10L, 1, 10L, 2, 10L, 3, 10L);
        AtomicReference<Map<Integer, Long>> last = new AtomicReference<>();
        boolean committed = Await.until(Duration.ofSeconds(10), () -> {
            try {
                last.set(clients.committedOffsets(group, topic));
                return expectedCommitted.equals(last.get());
            } catch (Exception e) {
                return false;
            }
        });
        assertTrue(committed, "after shutdown the group's committed offsets should be 10 on each queue; got " + last.get());
        for (int i = 0; i < 40; i++) {
            p.send(msg(topic, "t", null, "second-" + i), new MessageQueue(topic, stack.brokerName(), i % 4));
        }
        ConcurrentLinkedQueue<MessageExt> second = new ConcurrentLinkedQueue<>();
        clients.startCollecting(group, topic, "*", MessageModel.CLUSTERING, second);
        awaitCount(second, 40, Duration.ofSeconds(25), "restarted consumer");
        Thread.sleep(500);
        List<String> redelivered = second.stream().map(BrokerClientContract::body).filter(b -> b.startsWith("first-")).toList();
        // duplicate window: the offsets were verified committed (10/queue) before the restart, so
        // the window is zero here; a crash instead of a clean shutdown could redeliver up to one
        // persist interval (1 s) of messages, which this test does not exercise
        assertEquals(List.of(), redelivered, "messages acknowledged and committed before the restart came again");
        assertEquals(40, second.size());
        for (MessageExt m : second) {
            assertTrue(m.getQueueOffset() >= 10, "restart resumed below the committed offset: " + m.getQueueOffset());
        }
    }

    /** Whether the consumer's in-memory offset of each of the topic's 4 queues is {@code end}. */
    private boolean clientOffsetsAt(DefaultMQPushConsumer c, String topic, long end) {
        OffsetStore offsets = c.getDefaultMQPushConsumerImpl().getOffsetStore();
        for (int q = 0; q < 4; q++) {
            MessageQueue mq = new MessageQueue(topic, stack.brokerName(), q);
            if (offsets.readOffset(mq, ReadOffsetType.READ_FROM_MEMORY) != end) {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ queries and lite pull

    @Test
    void queryByKeyAndViewByOffsetMsgId() throws Exception {
        String topic = clients.createTopic("Query", 2);
        DefaultMQProducer p = clients.producer();
        String key = Clients.unique("order");
        long begin = System.currentTimeMillis() - 60_000;
        List<SendResult> results = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            results.add(p.send(msg(topic, "q", key, "query-" + i)));
        }
        p.send(msg(topic, "q", "other-key", "noise"));
        AtomicReference<QueryResult> qr = new AtomicReference<>();
        boolean found = Await.until(Duration.ofSeconds(10), () -> {
            try {
                QueryResult r = clients.admin.queryMessage(topic, key, 32, begin, System.currentTimeMillis() + 60_000);
                qr.set(r);
                return r.getMessageList().size() >= 3;
            } catch (Exception e) {
                return false;
            }
        });
        assertTrue(found, "queryMessage(" + key + ") should find 3 messages; got "
                + (qr.get() == null ? "an error" : qr.get().getMessageList().size()));
        Set<String> bodies = qr.get().getMessageList().stream().map(BrokerClientContract::body).collect(Collectors.toSet());
        assertEquals(Set.of("query-0", "query-1", "query-2"), bodies);
        assertEquals(3, qr.get().getMessageList().size(), "each message found once by its key");
        for (SendResult r : results) {
            MessageExt m = clients.admin.viewMessage(r.getOffsetMsgId());
            assertEquals(r.getMsgId(), m.getMsgId());
            assertEquals(key, m.getKeys());
            assertEquals(r.getQueueOffset(), m.getQueueOffset());
            assertTrue(body(m).startsWith("query-"));
            // by the producer's id (UNIQ_KEY): QUERY_MESSAGE with uniqKey=true
            MessageExt u = clients.admin.viewMessage(topic, r.getMsgId());
            assertEquals(body(m), body(u));
        }
    }

    @Test
    void litePullAssignSeekAndPoll() throws Exception {
        String topic = clients.createTopic("LitePull", 2);
        DefaultMQProducer p = clients.producer();
        MessageQueue q0 = new MessageQueue(topic, stack.brokerName(), 0);
        for (int i = 0; i < 20; i++) {
            p.send(msg(topic, "l", null, "lite-" + i), q0);
        }
        DefaultLitePullConsumer c = clients.litePull();
        assertEquals(2, c.fetchMessageQueues(topic).size());
        c.assign(List.of(q0));
        c.seek(q0, 5);
        List<MessageExt> got = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 15_000;
        while (got.size() < 15 && System.currentTimeMillis() < deadline) {
            got.addAll(c.poll(500));
        }
        assertEquals(15, got.size(), "after seek(5) the 15 messages 5..19");
        for (int i = 0; i < 15; i++) {
            assertEquals(5 + i, got.get(i).getQueueOffset());
            assertEquals("lite-" + (5 + i), body(got.get(i)));
        }
        c.commitSync();
        assertTrue(Await.until(Duration.ofSeconds(10), () -> {
            try {
                return c.committed(q0) == 20;
            } catch (Exception e) {
                return false;
            }
        }), "committed(q0) after commitSync should be 20");
        c.seek(q0, 18);
        List<MessageExt> tail = new ArrayList<>();
        deadline = System.currentTimeMillis() + 10_000;
        while (tail.size() < 2 && System.currentTimeMillis() < deadline) {
            tail.addAll(c.poll(500));
        }
        assertEquals(List.of("lite-18", "lite-19"), tail.stream().map(BrokerClientContract::body).toList());
    }

    // ------------------------------------------------------------------ admin

    @Test
    void adminCreateTopicStatsClusterAndRuntime() throws Exception {
        String topic = Clients.unique("AdminTopic");
        // createTopic goes through TBW102's route: every writable master gets UPDATE_AND_CREATE_TOPIC
        clients.admin.createTopic(TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC, topic, 8);
        clients.awaitRoute(topic, 8);
        DefaultMQProducer p = clients.producer();
        for (int i = 0; i < 16; i++) {
            p.send(msg(topic, "t", null, "a-" + i), new MessageQueue(topic, stack.brokerName(), i % 8));
        }
        // Apache dispatches to the consume queues asynchronously (reput): the last sends may take a moment
        AtomicReference<TopicStatsTable> statsRef = new AtomicReference<>();
        Await.until(Duration.ofSeconds(5), () -> {
            try {
                statsRef.set(clients.admin.examineTopicStats(topic));
                return statsRef.get().getOffsetTable().values().stream().allMatch(o -> o.getMaxOffset() == 2);
            } catch (Exception e) {
                return false;
            }
        });
        TopicStatsTable stats = statsRef.get() != null ? statsRef.get() : clients.admin.examineTopicStats(topic);
        assertEquals(8, stats.getOffsetTable().size(), "8 queues in " + stats.getOffsetTable());
        for (Map.Entry<MessageQueue, TopicOffset> e : stats.getOffsetTable().entrySet()) {
            assertEquals(stack.brokerName(), e.getKey().getBrokerName());
            assertEquals(0, e.getValue().getMinOffset(), e.getKey().toString());
            assertEquals(2, e.getValue().getMaxOffset(), e.getKey().toString());
            assertTrue(e.getValue().getLastUpdateTimestamp() > 0, "lastUpdateTimestamp of " + e.getKey());
        }
        ClusterInfo ci = clients.admin.examineBrokerClusterInfo();
        assertTrue(ci.getClusterAddrTable().getOrDefault(stack.clusterName(), Set.of()).contains(stack.brokerName()),
                "cluster table " + ci.getClusterAddrTable());
        BrokerData bd = ci.getBrokerAddrTable().get(stack.brokerName());
        assertNotNull(bd, "broker table " + ci.getBrokerAddrTable());
        assertEquals(stack.brokerAddr(), bd.getBrokerAddrs().get(MixAll.MASTER_ID));
        KVTable kv = clients.admin.fetchBrokerRuntimeStats(stack.brokerAddr());
        Map<String, String> t = kv.getTable();
        for (String k : List.of("brokerVersionDesc", "brokerVersion", "msgPutTotalTodayNow", "msgGetTotalTodayNow",
                "putTps", "getTransferedTps", "bootTimestamp", "commitLogMaxOffset", "commitLogMinOffset")) {
            assertTrue(t.containsKey(k), "runtime stats lack '" + k + "': " + new TreeMap<>(t).keySet());
        }
        assertTrue(Long.parseLong(t.get("commitLogMaxOffset")) > 0, "commitLogMaxOffset " + t.get("commitLogMaxOffset"));
    }

    @Test
    void adminConsumeStatsAndResetOffsetByTimestamp() throws Exception {
        String topic = clients.createTopic("Reset", 4);
        String group = Clients.unique("resetg");
        DefaultMQProducer p = clients.producer();
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        clients.startCollecting(group, topic, "*", MessageModel.CLUSTERING, got);
        int[] firstPerQueue = new int[4];
        for (int i = 0; i < 20; i++) {
            int q = i % 4 == 3 ? 2 : i % 4; // queue 3 gets none in the first batch
            firstPerQueue[q]++;
            p.send(msg(topic, "t", null, "old-" + i), new MessageQueue(topic, stack.brokerName(), q));
        }
        awaitCount(got, 20, Duration.ofSeconds(20), "consumer, first batch");
        Thread.sleep(1100);
        long between = System.currentTimeMillis();
        Thread.sleep(1100);
        for (int i = 0; i < 20; i++) {
            p.send(msg(topic, "t", null, "new-" + i), new MessageQueue(topic, stack.brokerName(), i % 4));
        }
        awaitCount(got, 40, Duration.ofSeconds(20), "consumer, second batch");
        AtomicReference<ConsumeStats> cs = new AtomicReference<>();
        boolean caughtUp = Await.until(Duration.ofSeconds(10), () -> {
            try {
                // the group's %RETRY% queue is listed too (the consumer commits its offset): leave it out
                ConsumeStats s = clients.admin.examineConsumeStats(group);
                s.getOffsetTable().keySet().removeIf(mq -> !mq.getTopic().equals(topic));
                cs.set(s);
                return s.getOffsetTable().size() == 4 && s.computeTotalDiff() == 0
                        && s.getOffsetTable().values().stream().mapToLong(OffsetWrapper::getBrokerOffset).sum() == 40;
            } catch (Exception e) {
                return false;
            }
        });
        assertTrue(caughtUp, "examineConsumeStats should show 4 queues, 40 messages, diff 0: "
                + (cs.get() == null ? "none" : describe(cs.get())));
        for (Map.Entry<MessageQueue, OffsetWrapper> e : cs.get().getOffsetTable().entrySet()) {
            assertTrue(e.getValue().getLastTimestamp() > 0, "lastTimestamp of " + e.getKey() + " " + e.getValue());
        }

        Map<MessageQueue, Long> reset = clients.admin.resetOffsetByTimestamp(topic, group, between, true);
        Map<Integer, Long> byQueue = new TreeMap<>();
        reset.forEach((mq, off) -> byQueue.put(mq.getQueueId(), off));
        Map<Integer, Long> expected = new TreeMap<>();
        for (int q = 0; q < 4; q++) {
            expected.put(q, (long) firstPerQueue[q]);
        }
        assertEquals(expected, byQueue, "reset offsets: the first offset stored after the timestamp, per queue");
        // the running consumer is told (RESET_CONSUMER_CLIENT_OFFSET) and consumes the second batch again
        awaitCount(got, 60, Duration.ofSeconds(20), "consumer after the reset");
        Map<String, Integer> counts = Clients.countBy(got, BrokerClientContract::body);
        for (int i = 0; i < 20; i++) {
            assertEquals(2, counts.getOrDefault("new-" + i, 0), "new-" + i + " once before and once after the reset");
            assertEquals(1, counts.getOrDefault("old-" + i, 0), "old-" + i + " only before the reset");
        }
        assertFalse(got.size() > 60, "nothing else was redelivered");
    }
}
