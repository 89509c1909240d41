package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;
import rmq.interop.harness.BrokerStack;

/**
 * Transactional messages and SQL92 filters of the stock Java 4.9.7 client, written once and run
 * against both brokers: commit, rollback, unknown outcomes checked back (to commit and to
 * rollback), a producer that leaves before the outcome (another member of its group answers),
 * SQL92 subscriptions (IS NULL, BETWEEN, IN, AND) side by side on one topic. The broker checks
 * every 500 ms, half messages older than 1 s, so the suite stays fast. Every count is a
 * multiset of bodies: a duplicate delivery fails.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class TransactionFilterContract extends StackContract {
    /** Fast transaction checks and property (SQL92) filtering, for both brokers. */
    static final Map<String, String> OPTIONS = Map.of(
        "transactionCheckInterval", "500",
        "transactionTimeOut", "1000",
        "enablePropertyFilter", "true");

    /**
     * The property keys of a committed transactional message as a push consumer gets it from
     * Apache 4.9.7 (the broker's, then the client's MIN_OFFSET, MAX_OFFSET, CONSUME_START_TIME).
     */
    static final SortedSet<String> COMMITTED_KEYS = new TreeSet<>(List.of(
            "CLUSTER", "CONSUME_START_TIME", "MAX_OFFSET", "MIN_OFFSET", "PGROUP", "REAL_QID", "REAL_TOPIC",
            "TRAN_MSG", "UNIQ_KEY", "WAIT"));

    /** First-phase and check answers a test scripts; counts the checks it got. */
    static final class Scripted implements TransactionListener {
        final LocalTransactionState first;
        final AtomicReference<LocalTransactionState> onCheck;
        final AtomicInteger checks = new AtomicInteger();

        Scripted(LocalTransactionState first, LocalTransactionState onCheck) {
            this.first = first;
            this.onCheck = new AtomicReference<>(onCheck);
        }

        @Override
        public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
            return first;
        }

        @Override
        public LocalTransactionState checkLocalTransaction(MessageExt msg) {
            checks.incrementAndGet();
            return onCheck.get();
        }
    }

    TransactionMQProducer txProducer(String group, TransactionListener listener) throws Exception {
        TransactionMQProducer p = new TransactionMQProducer(group);
        p.setNamesrvAddr(stack.namesrvAddr());
        p.setInstanceName(Clients.unique("txproducer"));
        p.setHeartbeatBrokerInterval(1000);
        p.setSendMsgTimeout(5000);
        p.setTransactionListener(listener);
        p.start();
        return p;
    }

    DefaultMQPushConsumer collect(String topic, MessageSelector selector, ConcurrentLinkedQueue<MessageExt> sink)
            throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(Clients.unique("txcg"));
        c.setNamesrvAddr(stack.namesrvAddr());
        c.setInstanceName(Clients.unique("consumer"));
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setHeartbeatBrokerInterval(1000);
        c.subscribe(topic, selector);
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            sink.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        return c;
    }

    static String body(MessageExt m) {
        return new String(m.getBody(), StandardCharsets.UTF_8);
    }

    /** How many times each body was delivered (a multiset: duplicates count). */
    static Map<String, Integer> counts(ConcurrentLinkedQueue<MessageExt> got) {
        return new TreeMap<>(Clients.countBy(got, TransactionFilterContract::body));
    }

    static boolean arrived(ConcurrentLinkedQueue<MessageExt> got, String body) {
        return Await.until(Duration.ofSeconds(20), () -> counts(got).containsKey(body));
    }

    /** Sends a plain message and waits for it: what was visible before it has arrived too. */
    void barrier(String topic, ConcurrentLinkedQueue<MessageExt> got) throws Exception {
        DefaultMQProducer plain = clients.producer();
        plain.send(new Message(topic, "barrier".getBytes(StandardCharsets.UTF_8)));
        assertTrue(arrived(got, "barrier"), "barrier delivered");
        plain.shutdown();
        Thread.sleep(500); // a late duplicate would show now
    }

    static Message msg(String topic, String body) {
        return new Message(topic, body.getBytes(StandardCharsets.UTF_8));
    }

    static Map<String, Integer> once(String... bodies) {
        Map<String, Integer> m = new TreeMap<>();
        for (String b : bodies) {
            m.merge(b, 1, Integer::sum);
        }
        return m;
    }

    @Test
    void commitIsDeliveredAndRollbackIsNot() throws Exception {
        String topic = clients.createTopic("Tx", 2);
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer c = collect(topic, MessageSelector.byTag("*"), got);
        String commitGroup = Clients.unique("txp");
        TransactionMQProducer commit = txProducer(commitGroup, new Scripted(LocalTransactionState.COMMIT_MESSAGE, LocalTransactionState.UNKNOW));
        TransactionMQProducer rollback = txProducer(Clients.unique("txp"), new Scripted(LocalTransactionState.ROLLBACK_MESSAGE, LocalTransactionState.UNKNOW));
        try {
            TransactionSendResult r = commit.sendMessageInTransaction(msg(topic, "committed"), null);
            assertEquals(LocalTransactionState.COMMIT_MESSAGE, r.getLocalTransactionState());
            rollback.sendMessageInTransaction(msg(topic, "rolled-back"), null);
            assertTrue(arrived(got, "committed"), "committed message delivered: " + counts(got));
            barrier(topic, got);
            assertEquals(once("committed", "barrier"), counts(got));
            MessageExt m = got.stream().filter(x -> "committed".equals(body(x))).findFirst().orElseThrow();
            assertEquals(topic, m.getTopic());
            assertEquals(r.getMsgId(), m.getMsgId());
            assertEquals(r.getMessageQueue().getQueueId(), m.getQueueId(), "delivered on the queue the send result named");
            Map<String, String> props = m.getProperties();
            assertEquals("true", props.get("TRAN_MSG"), "TRAN_MSG on the committed message: " + props);
            assertEquals(commitGroup, props.get("PGROUP"), "producer group on the committed message: " + props);
            clients.check("tx", "property-keys", COMMITTED_KEYS.equals(new TreeSet<>(props.keySet())),
                    "committed message property keys " + new TreeSet<>(props.keySet()) + ", Apache 4.9.7: " + COMMITTED_KEYS);
            clients.check("tx", "sys-flag", m.getSysFlag() == 8,
                    "committed message sysFlag " + m.getSysFlag() + ", Apache 4.9.7: 8 (TRANSACTION_COMMIT_TYPE)");
        } finally {
            commit.shutdown();
            rollback.shutdown();
            c.shutdown();
        }
    }

    @Test
    void unknownOutcomesAreCheckedBack() throws Exception {
        String topic = clients.createTopic("TxCheck", 2);
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer c = collect(topic, MessageSelector.byTag("*"), got);
        Scripted toCommit = new Scripted(LocalTransactionState.UNKNOW, LocalTransactionState.COMMIT_MESSAGE);
        Scripted toRollback = new Scripted(LocalTransactionState.UNKNOW, LocalTransactionState.ROLLBACK_MESSAGE);
        TransactionMQProducer p1 = txProducer(Clients.unique("txp"), toCommit);
        TransactionMQProducer p2 = txProducer(Clients.unique("txp"), toRollback);
        try {
            long sent = System.currentTimeMillis();
            p1.sendMessageInTransaction(msg(topic, "checked-commit"), null);
            p2.sendMessageInTransaction(msg(topic, "checked-rollback"), null);
            assertTrue(arrived(got, "checked-commit"), "checked commit delivered: " + counts(got));
            long after = System.currentTimeMillis() - sent;
            assertTrue(after >= 900, "an unknown outcome is not checked before transactionTimeOut (1 s): delivered after " + after + " ms");
            assertTrue(Await.until(Duration.ofSeconds(20), () -> toRollback.checks.get() > 0), "rollback checked");
            int settledCommit = toCommit.checks.get();
            int settledRollback = toRollback.checks.get();
            Thread.sleep(2_000);
            assertEquals(settledCommit, toCommit.checks.get(), "no checks after the commit");
            assertEquals(settledRollback, toRollback.checks.get(), "no checks after the rollback");
            barrier(topic, got);
            assertEquals(once("checked-commit", "barrier"), counts(got));
        } finally {
            p1.shutdown();
            p2.shutdown();
            c.shutdown();
        }
    }

    @Test
    void anotherProducerOfTheGroupAnswersWhenTheSenderIsGone() throws Exception {
        String topic = clients.createTopic("TxCrash", 1);
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer c = collect(topic, MessageSelector.byTag("*"), got);
        String group = Clients.unique("txp");
        Scripted gone = new Scripted(LocalTransactionState.UNKNOW, LocalTransactionState.UNKNOW);
        TransactionMQProducer sender = txProducer(group, gone);
        sender.sendMessageInTransaction(msg(topic, "survives-its-sender"), null);
        sender.shutdown();
        Scripted other = new Scripted(LocalTransactionState.COMMIT_MESSAGE, LocalTransactionState.COMMIT_MESSAGE);
        TransactionMQProducer answering = txProducer(group, other);
        try {
            assertTrue(arrived(got, "survives-its-sender"), "delivered after the other member's answer");
            assertTrue(other.checks.get() >= 1);
            barrier(topic, got);
            assertEquals(once("survives-its-sender", "barrier"), counts(got));
        } finally {
            answering.shutdown();
            c.shutdown();
        }
    }

    /** One message of the SQL92 test: its body and user properties (absent ones are not set). */
    record Props(String body, Integer a, String region) {}

    /**
     * Five SQL92 consumers (each its own group) on one topic: each receives exactly the messages
     * its expression matches, once. Properties missing on a message make comparisons false.
     */
    @Test
    void sql92SelectsExactlyTheMatchingMessages() throws Exception {
        String topic = clients.createTopic("Sql", 2);
        Map<String, Predicate<Props>> expressions = new LinkedHashMap<>();
        expressions.put("a > 5 AND region IN ('eu','us')",
                p -> p.a() != null && p.a() > 5 && ("eu".equals(p.region()) || "us".equals(p.region())));
        expressions.put("a IS NULL", p -> p.a() == null);
        expressions.put("a BETWEEN 3 AND 7", p -> p.a() != null && p.a() >= 3 && p.a() <= 7);
        expressions.put("region NOT IN ('eu') AND region IS NOT NULL",
                p -> p.region() != null && !"eu".equals(p.region()));
        expressions.put("a < 0", p -> false);
        Map<String, ConcurrentLinkedQueue<MessageExt>> sinks = new LinkedHashMap<>();
        List<DefaultMQPushConsumer> consumers = new ArrayList<>();
        try {
            for (String sql : expressions.keySet()) {
                ConcurrentLinkedQueue<MessageExt> sink = new ConcurrentLinkedQueue<>();
                sinks.put(sql, sink);
                consumers.add(collect(topic, MessageSelector.bySql(sql), sink));
            }
            DefaultMQProducer producer = clients.producer();
            String[] regions = {"eu", "us", "ap"};
            List<Props> sent = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                sent.add(new Props("m" + i, i % 5 == 4 ? null : i, i % 7 == 0 ? null : regions[i % 3]));
            }
            for (Props p : sent) {
                Message m = msg(topic, p.body());
                if (p.a() != null) {
                    m.putUserProperty("a", Integer.toString(p.a()));
                }
                if (p.region() != null) {
                    m.putUserProperty("region", p.region());
                }
                producer.send(m);
            }
            Map<String, Map<String, Integer>> expected = new LinkedHashMap<>();
            expressions.forEach((sql, pred) -> {
                Map<String, Integer> e = new TreeMap<>();
                sent.stream().filter(pred).forEach(p -> e.merge(p.body(), 1, Integer::sum));
                expected.put(sql, e);
            });
            assertTrue(Await.until(Duration.ofSeconds(20), () -> expected.entrySet().stream()
                    .allMatch(e -> counts(sinks.get(e.getKey())).keySet().containsAll(e.getValue().keySet()))),
                    "all matching messages delivered: " + describe(sinks));
            Thread.sleep(1000); // anything extra (a non-matching message, a duplicate) shows now
            for (String sql : expressions.keySet()) {
                assertEquals(expected.get(sql), counts(sinks.get(sql)), "what `" + sql + "` received");
            }
        } finally {
            consumers.forEach(DefaultMQPushConsumer::shutdown);
        }
    }

    static String describe(Map<String, ConcurrentLinkedQueue<MessageExt>> sinks) {
        StringBuilder sb = new StringBuilder();
        sinks.forEach((sql, sink) -> sb.append("\n  ").append(sql).append(" -> ").append(counts(sink)));
        return sb.toString();
    }

    @Test
    void aMalformedSql92ExpressionIsRefusedAtStart() throws Exception {
        String topic = clients.createTopic("SqlBad", 1);
        MQClientException e = assertThrows(MQClientException.class,
            () -> collect(topic, MessageSelector.bySql("a > AND b = 1"), new ConcurrentLinkedQueue<>()));
        String text = String.valueOf(e.getMessage()) + " " + String.valueOf(e.getCause());
        System.out.println("malformed SQL92 on " + stack.kind() + ": " + text);
        assertTrue(text.contains("CODE: 23"), "SUBSCRIPTION_PARSE_FAILED (23): " + text);
        clients.check("sql92", "parse-error-position", text.contains("line 1, column 5"),
                "the refusal names the position as Apache's parser does (line 1, column 5): " + text);
    }
}
