package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.BrokerStack;

/**
 * The maintenance requests {@code mqadmin} sends a broker in ordinary work, through Apache
 * 4.9.7's {@code DefaultMQAdminExt}: SEARCH_OFFSET_BY_TIMESTAMP (no boundary type in 4.9) at
 * stored times and outside them, DELETE_EXPIRED_COMMITLOG, CLEAN_EXPIRED_CONSUMEQUEUE and
 * CLEAN_UNUSED_TOPIC, CLONE_GROUP_OFFSET. Contract key: {@code maintenance}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class MaintenanceContract {
    static final String CONTRACT = "maintenance";

    BrokerStack stack;
    Clients clients;

    abstract BrokerStack startStack() throws Exception;

    @BeforeAll
    void start() throws Exception {
        stack = startStack();
        clients = new Clients(stack);
    }

    @AfterAll
    void stop() {
        if (clients != null) {
            clients.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void searchOffsetFindsTheFirstMessageStoredAtOrAfterATime() throws Exception {
        String topic = clients.createTopic("ByTime", 1);
        MessageQueue mq = new MessageQueue(topic, stack.brokerName(), 0);
        DefaultMQProducer p = clients.producer();
        List<Long> stored = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            SendResult sent = p.send(new Message(topic, "t", ("m" + i).getBytes(StandardCharsets.UTF_8)), mq);
            // By the offset id: a lookup by key would wait for the index.
            stored.add(clients.admin.viewMessage(sent.getOffsetMsgId()).getStoreTimestamp());
            Thread.sleep(5);
        }
        assertEquals(0, clients.admin.searchOffset(mq, 0), "before every message");
        // Apache 4.9.7 answers the stored message nearest to the time, so past the last one the
        // last message; rmq answers 5.x's LOWER boundary, the offset after it.
        long after = clients.admin.searchOffset(mq, stored.get(2) + 86_400_000L);
        clients.check(CONTRACT, "search-offset-past-the-end-is-the-last-message", after == 2,
                "searchOffset a day after the last of 3 messages answered " + after);
        for (int i = 0; i < 3; i++) {
            long first = stored.indexOf(stored.get(i));
            assertEquals(first, clients.admin.searchOffset(mq, stored.get(i)), "at message " + i + "'s time " + stored);
        }
    }

    /** True when the request was answered with success, false when refused or not answered. */
    boolean answered(Callable<Boolean> call, StringBuilder why) {
        try {
            return call.call();
        } catch (Exception e) {
            why.append(e);
            return false;
        }
    }

    @Test
    void deleteExpiredCommitLogIsAnswered() {
        StringBuilder why = new StringBuilder();
        boolean ok = answered(() -> clients.admin.deleteExpiredCommitLogByAddr(stack.brokerAddr()), why);
        clients.check(CONTRACT, "delete-expired-commitlog", ok, "deleteExpiredCommitLogByAddr: " + why);
    }

    @Test
    void cleanExpiredConsumeQueueIsAnswered() {
        StringBuilder why = new StringBuilder();
        boolean ok = answered(() -> clients.admin.cleanExpiredConsumerQueueByAddr(stack.brokerAddr()), why);
        clients.check(CONTRACT, "clean-expired-consumequeue", ok, "cleanExpiredConsumerQueueByAddr: " + why);
    }

    @Test
    void cleanUnusedTopicIsAnswered() {
        StringBuilder why = new StringBuilder();
        boolean ok = answered(() -> clients.admin.cleanUnusedTopicByAddr(stack.brokerAddr()), why);
        clients.check(CONTRACT, "clean-unused-topic", ok, "cleanUnusedTopicByAddr: " + why);
    }

    @Test
    void cloneGroupOffsetStartsAGroupWhereAnotherIs() throws Exception {
        String topic = clients.createTopic("Clone", 1);
        MessageQueue mq = new MessageQueue(topic, stack.brokerName(), 0);
        DefaultMQProducer p = clients.producer();
        for (int i = 0; i < 3; i++) {
            p.send(new Message(topic, "t", ("c" + i).getBytes(StandardCharsets.UTF_8)), mq);
        }
        String src = Clients.unique("clonesrc");
        String dest = Clients.unique("clonedest");
        // The admin finds a group's brokers through its retry topic's route.
        for (String group : new String[] {src, dest}) {
            String retry = MixAll.getRetryTopic(group);
            clients.admin.createAndUpdateTopicConfig(stack.brokerAddr(), new TopicConfig(retry, 1, 1, 6));
            clients.awaitRoute(retry, 1);
        }
        clients.admin.updateConsumeOffset(stack.brokerAddr(), src, mq, 2);
        clients.admin.cloneGroupOffset(src, dest, topic, true);
        assertEquals(2, clients.admin.examineConsumeStats(dest, topic).getOffsetTable().get(mq).getConsumerOffset(),
                "the cloned group's offset");
    }
}
