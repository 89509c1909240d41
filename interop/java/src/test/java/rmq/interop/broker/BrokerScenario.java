package rmq.interop.broker;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.zip.CRC32;

import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.admin.ConsumeStats;
import org.apache.rocketmq.common.admin.OffsetWrapper;
import org.apache.rocketmq.common.admin.TopicOffset;
import org.apache.rocketmq.common.admin.TopicStatsTable;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

import rmq.interop.diff.Observation;
import rmq.interop.harness.Await;
import rmq.interop.harness.BrokerStack;

/**
 * One fixed broker scenario, run the same way against any {@link BrokerStack}: a fixed sequence
 * of sends to fixed queues (plain, tagged, keyed, with user properties, a compressed 6 KiB
 * body, a batch), then everything read back as the stock 4.9.7 clients decode it (lite pull
 * per queue, an orderly push consumer, committed offsets, topic and consume stats, query by key,
 * view by id). Each step becomes an {@link Observation} whose typed view must match between two
 * stacks; what legitimately differs (message ids, hosts, timestamps) is left out of it, and
 * what a client may see but does not depend on (commit-log offsets, record sizes) is compared
 * as a warning only.
 */
final class BrokerScenario {
    static final String TOPIC = "DiffTopic";
    static final String GROUP = "diff_cg";
    static final int QUEUES = 4;
    /** Queue of send #i. */
    static final int[] QUEUE_OF = {0, 1, 2, 3, 0, 0, 1, 3, 3, 3, 2, 0};

    private final BrokerStack stack;
    private final List<Observation> out = new ArrayList<>();
    private int seq;

    private BrokerScenario(BrokerStack stack) {
        this.stack = stack;
    }

    static List<Observation> run(BrokerStack stack) throws Exception {
        BrokerScenario s = new BrokerScenario(stack);
        try (Clients clients = new Clients(stack)) {
            s.play(clients);
        }
        return s.out;
    }

    private void play(Clients clients) throws Exception {
        clients.admin.createAndUpdateTopicConfig(stack.brokerAddr(),
                new org.apache.rocketmq.common.TopicConfig(TOPIC, QUEUES, QUEUES, 6));
        clients.awaitRoute(TOPIC, QUEUES);
        DefaultMQProducer p = clients.producer();
        List<SendResult> results = new ArrayList<>();
        for (int i = 0; i < QUEUE_OF.length; i++) {
            Message m = new Message(TOPIC, "tag" + (i % 3), "key-" + i, ("diff-" + i).getBytes(StandardCharsets.UTF_8));
            m.putUserProperty("seq", String.valueOf(i));
            m.putUserProperty("kind", i % 2 == 0 ? "even" : "odd");
            SendResult r = p.send(m, new MessageQueue(TOPIC, stack.brokerName(), QUEUE_OF[i]));
            results.add(r);
            record("send #" + i, "send to q" + QUEUE_OF[i] + " tag" + (i % 3) + " key-" + i + " + 2 user properties", sendView(r), "");
        }
        Message bare = new Message(TOPIC, "no tag, no key".getBytes(StandardCharsets.UTF_8));
        record("send bare", "send to q1 without tags, keys or properties",
                sendView(p.send(bare, new MessageQueue(TOPIC, stack.brokerName(), 1))), "");
        byte[] big = new byte[6144];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) ('a' + (i * 7) % 26);
        }
        Message compressed = new Message(TOPIC, "big", "key-big", big);
        record("send compressed", "send 6 KiB to q2 (the producer compresses bodies over 4 KiB)",
                sendView(p.send(compressed, new MessageQueue(TOPIC, stack.brokerName(), 2))), "");
        List<Message> batch = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Message m = new Message(TOPIC, "batch", "bkey-" + i, ("batch-" + i).getBytes(StandardCharsets.UTF_8));
            m.putUserProperty("n", String.valueOf(i));
            batch.add(m);
        }
        SendResult br = p.send(batch, new MessageQueue(TOPIC, stack.brokerName(), 2));
        record("send batch", "batch of 5 to q2", sendView(br) + " ids=" + br.getMsgId().split(",").length, "");

        // every queue read back from offset 0 by a lite-pull consumer (assign + seek)
        DefaultLitePullConsumer lp = clients.litePull();
        List<MessageQueue> mqs = new ArrayList<>(lp.fetchMessageQueues(TOPIC));
        mqs.sort(Comparator.comparingInt(MessageQueue::getQueueId));
        record("route", "fetchMessageQueues", mqs.stream().map(q -> q.getBrokerName() + "/" + q.getQueueId()).toList().toString(), "");
        lp.shutdown();
        int total = QUEUE_OF.length + 1 + 1 + 5;
        List<MessageExt> pulled = clients.readAll(TOPIC, total);
        for (int q = 0; q < QUEUES; q++) {
            final int qq = q;
            List<MessageExt> inQueue = pulled.stream().filter(m -> m.getQueueId() == qq).toList();
            for (MessageExt m : inQueue) {
                record("pull q" + q + "@" + m.getQueueOffset(), "lite pull, queue " + q, messageView(m), messageExtra(m));
            }
            record("pull q" + q + " order", "offsets and bodies in delivery order",
                    inQueue.stream().map(m -> m.getQueueOffset() + ":" + shortBody(m)).toList().toString(), "");
        }

        // an orderly push consumer of a fixed group consumes everything, then shuts down (commits)
        ConcurrentLinkedQueue<MessageExt> pushed = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer c = clients.startOrderly(GROUP, TOPIC, pushed);
        Await.until(Duration.ofSeconds(25), () -> pushed.size() >= total);
        Thread.sleep(300);
        c.shutdown();
        for (int q = 0; q < QUEUES; q++) {
            final int qq = q;
            record("push q" + q, "orderly push consumer " + GROUP + ", queue " + q + " in delivery order",
                    pushed.stream().filter(m -> m.getQueueId() == qq).map(m -> m.getQueueOffset() + ":" + shortBody(m)).toList().toString(), "");
        }

        // committed offsets as a consumer of the group reads them (QUERY_CONSUMER_OFFSET)
        DefaultLitePullConsumer reader = new DefaultLitePullConsumer(GROUP);
        reader.setNamesrvAddr(stack.namesrvAddr());
        reader.setInstanceName(Clients.unique("offsets"));
        reader.start();
        try {
            reader.assign(mqs);
            for (MessageQueue mq : mqs) {
                String view;
                try {
                    long expectedEnd = pushed.stream().filter(m -> m.getQueueId() == mq.getQueueId()).count();
                    // shutdown commits with a one-way request: give it a moment to land
                    Await.until(Duration.ofSeconds(5), () -> {
                        try {
                            return reader.committed(mq) >= expectedEnd;
                        } catch (Exception e) {
                            return false;
                        }
                    });
                    view = "committed=" + reader.committed(mq);
                } catch (Exception e) {
                    view = error(e);
                }
                record("committed q" + mq.getQueueId(), "committed offset of " + GROUP, view, "");
            }
        } finally {
            reader.shutdown();
        }

        TopicStatsTable ts = call(() -> clients.admin.examineTopicStats(TOPIC), "topic stats");
        if (ts != null) {
            Map<Integer, String> v = new TreeMap<>();
            for (Map.Entry<MessageQueue, TopicOffset> e : ts.getOffsetTable().entrySet()) {
                v.put(e.getKey().getQueueId(), e.getValue().getMinOffset() + ".." + e.getValue().getMaxOffset()
                        + (e.getValue().getLastUpdateTimestamp() > 0 ? " updated" : " never-updated"));
            }
            record("topic stats", "examineTopicStats(" + TOPIC + ")", v.toString(), "");
        }
        ConsumeStats cs = call(() -> clients.admin.examineConsumeStats(GROUP), "consume stats");
        if (cs != null) {
            Map<Integer, String> v = new TreeMap<>();
            for (Map.Entry<MessageQueue, OffsetWrapper> e : cs.getOffsetTable().entrySet()) {
                v.put(e.getKey().getQueueId(), "broker=" + e.getValue().getBrokerOffset() + " consumer=" + e.getValue().getConsumerOffset()
                        + (e.getValue().getLastTimestamp() > 0 ? " last-set" : " last-unset"));
            }
            record("consume stats", "examineConsumeStats(" + GROUP + ")", v + " diffTotal=" + cs.computeTotalDiff(), "");
        }
        QueryResult qr = call(() -> {
            QueryResult r = null;
            long end = System.currentTimeMillis() + 5000;
            while (System.currentTimeMillis() < end) {
                r = clients.admin.queryMessage(TOPIC, "key-5", 32, 0, System.currentTimeMillis() + 60_000);
                if (!r.getMessageList().isEmpty()) {
                    break;
                }
                Thread.sleep(200);
            }
            return r;
        }, "query key-5");
        if (qr != null) {
            record("query key-5", "queryMessage(" + TOPIC + ", key-5)",
                    qr.getMessageList().stream().map(BrokerScenario::messageView).sorted().toList().toString(), "");
        }
        MessageExt viewed = call(() -> clients.admin.viewMessage(results.get(7).getOffsetMsgId()), "view by offset id");
        if (viewed != null) {
            record("view send #7", "viewMessage(offsetMsgId of send #7)", messageView(viewed), messageExtra(viewed));
        }
        MessageExt byUniq = call(() -> clients.admin.viewMessage(TOPIC, results.get(3).getMsgId()), "view by uniq id");
        if (byUniq != null) {
            record("view send #3 by msgId", "viewMessage(topic, UNIQ_KEY of send #3)", messageView(byUniq), messageExtra(byUniq));
        }
    }

    interface Call<T> {
        T get() throws Exception;
    }

    /** Runs an admin call; a failure becomes the step's observation (and a mismatch if the other side succeeded). */
    private <T> T call(Call<T> c, String step) {
        try {
            return c.get();
        } catch (Exception e) {
            record(step, "(call failed)", error(e), "");
            return null;
        }
    }

    private static String error(Exception e) {
        if (e instanceof MQClientException ce) {
            return "ERROR client code " + ce.getResponseCode() + " " + firstLine(ce.getErrorMessage());
        }
        if (e instanceof MQBrokerException be) {
            return "ERROR broker code " + be.getResponseCode();
        }
        return "ERROR " + e.getClass().getSimpleName();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        String l = nl < 0 ? s : s.substring(0, nl);
        // remarks are server text; only the kind of failure is compared
        return l.length() > 40 ? l.substring(0, 40) + "…" : l;
    }

    private void record(String step, String request, String typed, String extra) {
        String id = String.format("%02d %s", ++seq, step);
        out.add(new Observation(id, request, typed.startsWith("ERROR") ? -1 : 0, null, Map.of(), null,
                typed, extra.isEmpty() ? typed : typed + " | " + extra));
    }

    static String sendView(SendResult r) {
        return "status=" + r.getSendStatus() + " q=" + r.getMessageQueue().getQueueId() + " offset=" + r.getQueueOffset()
                + " region=" + r.getRegionId() + " traceOn=" + r.isTraceOn();
    }

    static String shortBody(MessageExt m) {
        String b = new String(m.getBody(), StandardCharsets.UTF_8);
        return b.length() > 24 ? "<" + m.getBody().length + " bytes>" : b;
    }

    /** What must match: content, routing, flags and every property except the per-run UNIQ_KEY. */
    static String messageView(MessageExt m) {
        Map<String, String> props = new TreeMap<>(m.getProperties());
        props.remove(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
        CRC32 crc = new CRC32();
        crc.update(m.getBody());
        return "q" + m.getQueueId() + "@" + m.getQueueOffset()
                + " body=" + shortBody(m) + "(crc " + Long.toHexString(crc.getValue()) + ")"
                + " tags=" + m.getTags() + " keys=" + m.getKeys()
                + " flag=" + m.getFlag() + " sysFlag=" + m.getSysFlag()
                + " reconsumeTimes=" + m.getReconsumeTimes() + " bodyCRC=" + m.getBodyCRC()
                + " props=" + props;
    }

    /** Visible to a client but legitimately implementation-specific: compared as a warning. */
    static String messageExtra(MessageExt m) {
        return "commitLogOffset=" + m.getCommitLogOffset() + " storeSize=" + m.getStoreSize()
                + " preparedTransactionOffset=" + m.getPreparedTransactionOffset()
                + " bornHostIsLoopback=" + m.getBornHost().toString().contains("127.0.0.1")
                + " storeHost=" + m.getStoreHost().toString().replaceFirst("^.*/", "").replaceFirst(":\\d+$", ":PORT")
                + " idLen=" + Arrays.asList(m.getMsgId().length());
    }
}
