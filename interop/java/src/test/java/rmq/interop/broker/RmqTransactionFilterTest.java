package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;
import rmq.interop.harness.RmqBroker;
import rmq.interop.support.Targets;

/**
 * Transactional messages and SQL92 filters of the stock Java 4.9.7 client against our broker:
 * commit, rollback, unknown outcomes checked back (to commit and to rollback), a producer that
 * leaves before the outcome (another member of its group answers), a broker restart while a
 * half message waits, and an SQL92 subscription. The broker checks every 500 ms, half messages
 * older than 1 s, so the suite stays fast.
 */
@DisplayName("Java 4.9 clients vs rmq broker: transactions and SQL92 filters")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RmqTransactionFilterTest {
    private static final Map<String, String> OPTIONS = Map.of(
        "transactionCheckInterval", "500",
        "transactionTimeOut", "1000",
        "enablePropertyFilter", "true");

    private RmqBroker.Stack stack;
    private Clients clients;

    @BeforeAll
    void startServers() throws Exception {
        stack = RmqBroker.startStack(Targets.requireRmqNamesrvBinary(), Targets.requireRmqBrokerBinary(), OPTIONS);
    }

    @AfterAll
    void stopServers() {
        if (stack != null) {
            stack.close();
        }
    }

    @BeforeEach
    void newClients() throws Exception {
        clients = new Clients(stack);
    }

    @AfterEach
    void closeClients() {
        if (clients != null) {
            clients.close();
        }
    }

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

    private TransactionMQProducer txProducer(String group, TransactionListener listener) throws Exception {
        TransactionMQProducer p = new TransactionMQProducer(group);
        p.setNamesrvAddr(stack.namesrvAddr());
        p.setInstanceName(Clients.unique("txproducer"));
        p.setHeartbeatBrokerInterval(1000);
        p.setSendMsgTimeout(5000);
        p.setTransactionListener(listener);
        p.start();
        return p;
    }

    private DefaultMQPushConsumer collect(String topic, MessageSelector selector, ConcurrentLinkedQueue<MessageExt> sink)
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

    private static Set<String> bodies(ConcurrentLinkedQueue<MessageExt> got) {
        return got.stream().map(m -> new String(m.getBody(), StandardCharsets.UTF_8)).collect(Collectors.toSet());
    }

    private static boolean arrived(ConcurrentLinkedQueue<MessageExt> got, String body) {
        return Await.until(Duration.ofSeconds(20), () -> bodies(got).contains(body));
    }

    /** Sends a plain message and waits for it: what was visible before it has arrived too. */
    private void barrier(String topic, ConcurrentLinkedQueue<MessageExt> got) throws Exception {
        DefaultMQProducer plain = clients.producer();
        plain.send(new Message(topic, "barrier".getBytes(StandardCharsets.UTF_8)));
        assertTrue(arrived(got, "barrier"), "barrier delivered");
        plain.shutdown();
    }

    private static Message msg(String topic, String body) {
        return new Message(topic, body.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void commitIsDeliveredAndRollbackIsNot() throws Exception {
        String topic = clients.createTopic("Tx", 2);
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer c = collect(topic, MessageSelector.byTag("*"), got);
        TransactionMQProducer commit = txProducer(Clients.unique("txp"), new Scripted(LocalTransactionState.COMMIT_MESSAGE, LocalTransactionState.UNKNOW));
        TransactionMQProducer rollback = txProducer(Clients.unique("txp"), new Scripted(LocalTransactionState.ROLLBACK_MESSAGE, LocalTransactionState.UNKNOW));
        try {
            TransactionSendResult r = commit.sendMessageInTransaction(msg(topic, "committed"), null);
            assertEquals(LocalTransactionState.COMMIT_MESSAGE, r.getLocalTransactionState());
            rollback.sendMessageInTransaction(msg(topic, "rolled-back"), null);
            assertTrue(arrived(got, "committed"), "committed message delivered: " + bodies(got));
            barrier(topic, got);
            assertEquals(Set.of("committed", "barrier"), bodies(got));
            MessageExt m = got.stream().filter(x -> "committed".equals(new String(x.getBody(), StandardCharsets.UTF_8))).findFirst().orElseThrow();
            assertEquals(topic, m.getTopic());
            assertEquals(r.getMsgId(), m.getMsgId());
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
            p1.sendMessageInTransaction(msg(topic, "checked-commit"), null);
            p2.sendMessageInTransaction(msg(topic, "checked-rollback"), null);
            assertTrue(arrived(got, "checked-commit"), "checked commit delivered: " + bodies(got));
            assertTrue(Await.until(Duration.ofSeconds(20), () -> toRollback.checks.get() > 0), "rollback checked");
            int settledCommit = toCommit.checks.get();
            int settledRollback = toRollback.checks.get();
            Thread.sleep(2_000);
            assertEquals(settledCommit, toCommit.checks.get(), "no checks after the commit");
            assertEquals(settledRollback, toRollback.checks.get(), "no checks after the rollback");
            barrier(topic, got);
            assertEquals(Set.of("checked-commit", "barrier"), bodies(got));
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
        } finally {
            answering.shutdown();
            c.shutdown();
        }
    }

    @Test
    void aHalfMessageSurvivesABrokerRestart() throws Exception {
        String topic = clients.createTopic("TxRestart", 1);
        String group = Clients.unique("txp");
        Scripted undecided = new Scripted(LocalTransactionState.UNKNOW, LocalTransactionState.UNKNOW);
        TransactionMQProducer p = txProducer(group, undecided);
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer c = null;
        try {
            p.sendMessageInTransaction(msg(topic, "across-a-restart"), null);
            assertTrue(Await.until(Duration.ofSeconds(20), () -> undecided.checks.get() > 0), "checked before the restart");
            stack.restartBroker();
            int before = undecided.checks.get();
            undecided.onCheck.set(LocalTransactionState.COMMIT_MESSAGE);
            c = collect(topic, MessageSelector.byTag("*"), got);
            assertTrue(arrived(got, "across-a-restart"), "committed after the restart: " + bodies(got));
            assertTrue(undecided.checks.get() > before, "checked again after the restart");
        } finally {
            p.shutdown();
            if (c != null) {
                c.shutdown();
            }
        }
    }

    @Test
    void sql92SelectsExactlyTheMatchingMessages() throws Exception {
        String topic = clients.createTopic("Sql", 2);
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer c = collect(topic, MessageSelector.bySql("a > 5 AND region IN ('eu','us')"), got);
        DefaultMQProducer producer = clients.producer();
        String[] regions = {"eu", "us", "ap"};
        Set<String> expected = new HashSet<>();
        try {
            for (int i = 0; i < 30; i++) {
                Message m = msg(topic, "m" + i);
                m.putUserProperty("a", Integer.toString(i));
                if (i % 7 != 0) {
                    m.putUserProperty("region", regions[i % 3]);
                }
                SendResult r = producer.send(m);
                if (i > 5 && i % 7 != 0 && !"ap".equals(regions[i % 3])) {
                    expected.add(r.getMsgId());
                }
            }
            Message last = msg(topic, "last");
            last.putUserProperty("a", "100");
            last.putUserProperty("region", "eu");
            expected.add(producer.send(last).getMsgId());
            assertTrue(Await.until(Duration.ofSeconds(20), () -> got.stream().map(MessageExt::getMsgId).collect(Collectors.toSet()).containsAll(expected)),
                "all matching messages delivered: " + bodies(got));
            Thread.sleep(300);
            assertEquals(expected, got.stream().map(MessageExt::getMsgId).collect(Collectors.toSet()));
            assertEquals(expected.size(), got.size());
        } finally {
            c.shutdown();
        }
    }

    @Test
    void aMalformedSql92ExpressionIsRefusedAtStart() throws Exception {
        String topic = clients.createTopic("SqlBad", 1);
        MQClientException e = assertThrows(MQClientException.class,
            () -> collect(topic, MessageSelector.bySql("a > AND b = 1"), new ConcurrentLinkedQueue<>()));
        String text = String.valueOf(e.getMessage()) + " " + String.valueOf(e.getCause());
        assertTrue(text.contains("position 4"), text);
    }
}
