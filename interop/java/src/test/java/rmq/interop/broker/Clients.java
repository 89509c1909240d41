package rmq.interop.broker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

import rmq.interop.harness.Await;
import rmq.interop.harness.BrokerStack;
import rmq.interop.harness.KnownDifferences;

/**
 * Stock 4.9.7 clients wired to one {@link BrokerStack}: each client gets its own instance name
 * (so two consumers of one group in this JVM are two clients, as in two processes), and every
 * client is shut down by {@link #close()}.
 */
final class Clients implements AutoCloseable {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private static final KnownDifferences KNOWN = KnownDifferences.load();

    final BrokerStack stack;
    final DefaultMQAdminExt admin;
    private final List<Runnable> shutdowns = new CopyOnWriteArrayList<>();

    Clients(BrokerStack stack) throws Exception {
        this.stack = stack;
        this.admin = new DefaultMQAdminExt(5000);
        admin.setNamesrvAddr(stack.namesrvAddr());
        admin.setInstanceName(unique("admin"));
        admin.setAdminExtGroup(unique("admin_group"));
        admin.start();
    }

    /** True when the stack is Apache's: the reference, which known differences never excuse. */
    boolean reference() {
        return !"rmq".equals(stack.kind());
    }

    /**
     * A check that must hold on both brokers: fails unless {@code broker:<contract>:<check>} is
     * listed in {@code interop/known-differences.txt} and the stack is ours (then prints KNOWN).
     */
    void check(String contract, String check, boolean ok, String detail) {
        KNOWN.check("broker:" + contract + ":" + check, reference(), ok, detail + " (" + stack.kind() + ")");
    }

    /** True when {@code broker:<contract>:<check>} is a listed difference and the stack is ours. */
    boolean expectsDifference(String contract, String check) {
        return !reference() && KNOWN.isKnown("broker:" + contract + ":" + check);
    }

    static String unique(String prefix) {
        return prefix + "_" + ProcessHandle.current().pid() + "_" + SEQ.incrementAndGet();
    }

    /**
     * Creates {@code topic} on the broker with {@code queues} read/write queues and waits (≤ 15 s)
     * until the name server's route shows them.
     */
    String createTopic(String prefix, int queues) throws Exception {
        String topic = unique(prefix);
        TopicConfig tc = new TopicConfig(topic, queues, queues, 6);
        admin.createAndUpdateTopicConfig(stack.brokerAddr(), tc);
        awaitRoute(topic, queues);
        return topic;
    }

    void awaitRoute(String topic, int queues) {
        boolean ok = Await.until(Duration.ofSeconds(15), () -> {
            try {
                TopicRouteData r = admin.examineTopicRouteInfo(topic);
                return !r.getQueueDatas().isEmpty() && r.getQueueDatas().get(0).getWriteQueueNums() == queues;
            } catch (Exception e) {
                return false;
            }
        });
        if (!ok) {
            throw new AssertionError("route of " + topic + " with " + queues + " queues not in the name server within 15 s");
        }
    }

    DefaultMQProducer producer() throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(unique("pg"));
        p.setNamesrvAddr(stack.namesrvAddr());
        p.setInstanceName(unique("producer"));
        p.setSendMsgTimeout(5000);
        p.start();
        shutdowns.add(p::shutdown);
        return p;
    }

    /** A push consumer, not started yet (the caller registers a listener and starts it). */
    DefaultMQPushConsumer pushConsumer(String group, String topic, String expression, MessageModel model) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(stack.namesrvAddr());
        c.setInstanceName(unique("consumer"));
        c.setMessageModel(model);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPersistConsumerOffsetInterval(1000);
        c.setConsumeThreadMin(2);
        c.setConsumeThreadMax(4);
        c.subscribe(topic, expression);
        shutdowns.add(c::shutdown);
        return c;
    }

    /** Starts a concurrent push consumer that records every message it is given into {@code sink}. */
    DefaultMQPushConsumer startCollecting(String group, String topic, String expression, MessageModel model,
                                          Collection<MessageExt> sink) throws Exception {
        DefaultMQPushConsumer c = pushConsumer(group, topic, expression, model);
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            sink.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        return c;
    }

    /** Starts an orderly push consumer that records messages into {@code sink} in delivery order. */
    DefaultMQPushConsumer startOrderly(String group, String topic, Collection<MessageExt> sink) throws Exception {
        DefaultMQPushConsumer c = pushConsumer(group, topic, "*", MessageModel.CLUSTERING);
        c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
            sink.addAll(msgs);
            return ConsumeOrderlyStatus.SUCCESS;
        });
        c.start();
        return c;
    }

    DefaultLitePullConsumer litePull() throws Exception {
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(unique("lpg"));
        c.setNamesrvAddr(stack.namesrvAddr());
        c.setInstanceName(unique("litepull"));
        c.setAutoCommit(false);
        c.setPollTimeoutMillis(1000);
        // A fresh group starts at offset 0, so a pull task that assign() started before a seek()
        // reads from the same place the seek asks for.
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.start();
        shutdowns.add(c::shutdown);
        return c;
    }

    /**
     * Every message of {@code topic}, read with a lite-pull consumer from offset 0 of every queue,
     * until {@code expected} distinct stored messages have arrived (or 20 s passed), grouped by
     * queue and in delivery order within a queue.
     */
    List<MessageExt> readAll(String topic, int expected) throws Exception {
        DefaultLitePullConsumer c = litePull();
        List<MessageQueue> mqs = new ArrayList<>(c.fetchMessageQueues(topic));
        c.assign(mqs);
        for (MessageQueue mq : mqs) {
            c.seek(mq, 0);
        }
        // Keyed by queue and offset: a seek() racing the pull task that assign() started can hand
        // the same stored message over twice; those are client-side repeats, not stored duplicates,
        // and counting them would end the loop before every queue was read.
        Map<String, MessageExt> all = new java.util.LinkedHashMap<>();
        long deadline = System.currentTimeMillis() + 20_000;
        while (all.size() < expected && System.currentTimeMillis() < deadline) {
            for (MessageExt m : c.poll(500)) {
                all.putIfAbsent(m.getQueueId() + "@" + m.getQueueOffset(), m);
            }
        }
        c.shutdown();
        List<MessageExt> byQueue = new ArrayList<>(all.values());
        byQueue.sort(Comparator.comparing((MessageExt m) -> m.getQueueId()));
        return byQueue;
    }

    /**
     * The queues of {@code topic} a push consumer currently owns (what its rebalance assigned);
     * its {@code %RETRY%group} queues are left out.
     */
    static java.util.Set<MessageQueue> owned(DefaultMQPushConsumer c, String topic) {
        return c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet().stream()
                .filter(mq -> mq.getTopic().equals(topic))
                .collect(java.util.stream.Collectors.toSet());
    }

    /**
     * The offsets {@code group} has committed on each queue of {@code topic}, as a consumer of the
     * group reads them (QUERY_CONSUMER_OFFSET through a lite-pull consumer's {@code committed}).
     */
    Map<Integer, Long> committedOffsets(String group, String topic) throws Exception {
        DefaultLitePullConsumer reader = new DefaultLitePullConsumer(group);
        reader.setNamesrvAddr(stack.namesrvAddr());
        reader.setInstanceName(unique("offsets"));
        reader.setAutoCommit(false);
        reader.start();
        try {
            List<MessageQueue> mqs = new ArrayList<>(reader.fetchMessageQueues(topic));
            reader.assign(mqs);
            Map<Integer, Long> out = new java.util.TreeMap<>();
            for (MessageQueue mq : mqs) {
                out.put(mq.getQueueId(), reader.committed(mq));
            }
            return out;
        } finally {
            reader.shutdown();
        }
    }

    static Map<String, Integer> countBy(Collection<MessageExt> msgs, java.util.function.Function<MessageExt, String> key) {
        Map<String, Integer> m = new ConcurrentHashMap<>();
        for (MessageExt e : msgs) {
            m.merge(key.apply(e), 1, Integer::sum);
        }
        return m;
    }

    @Override
    public void close() {
        for (int i = shutdowns.size() - 1; i >= 0; i--) {
            try {
                shutdowns.get(i).run();
            } catch (RuntimeException ignored) {
                // already shut down
            }
        }
        shutdowns.clear();
        admin.shutdown();
    }
}
