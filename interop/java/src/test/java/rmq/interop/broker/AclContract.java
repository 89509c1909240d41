package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;
import rmq.interop.harness.BrokerStack;
import rmq.interop.harness.Locations;

/**
 * ACL 1.0 (docs/acl.md) seen by stock 4.9.7 clients signing with {@link AclClientRPCHook}: the
 * same {@code plain_acl.yml} on rmq's broker and on Apache 4.9.7's. Allowed sends and consumes
 * (counted as multisets), a send and a pull refused for a missing permission (SYSTEM_ERROR and
 * Apache's {@code AclException} text), and the admin-only codes refused to other accounts.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
abstract class AclContract {
    static final String TOPIC = "AclTopic";
    static final String REMARK = "org.apache.rocketmq.acl.common.AclException: ";

    /** Every account's keys are longer than 6 characters, as Apache requires. */
    static final String RULES = String.join("\n",
            "accounts:",
            "  - accessKey: adminacc",
            "    secretKey: admin-secret",
            "    admin: true",
            "  - accessKey: producer1",
            "    secretKey: producer-secret",
            "    defaultTopicPerm: DENY",
            "    defaultGroupPerm: SUB",
            "    topicPerms:",
            "      - " + TOPIC + "=PUB",
            "  - accessKey: consumer1",
            "    secretKey: consumer-secret",
            "    defaultTopicPerm: DENY",
            "    defaultGroupPerm: SUB",
            "    topicPerms:",
            "      - " + TOPIC + "=SUB",
            "    groupPerms:",
            "      - deniedGroup=DENY",
            "");

    BrokerStack stack;
    Path home;
    final List<Runnable> shutdowns = new CopyOnWriteArrayList<>();

    /** Starts a stack whose broker has {@code aclEnable=true} and reads {@code home/conf/plain_acl.yml}. */
    abstract BrokerStack startStack(Path home) throws Exception;

    @BeforeAll
    void start() throws Exception {
        home = Files.createTempDirectory(Locations.scratchDir(), "acl-home");
        Files.createDirectories(home.resolve("conf"));
        Files.writeString(home.resolve("conf/plain_acl.yml"), RULES);
        stack = startStack(home);
        System.out.println(getClass().getSimpleName() + " against " + stack);
        DefaultMQAdminExt admin = admin("adminacc", "admin-secret");
        admin.createAndUpdateTopicConfig(stack.brokerAddr(), new TopicConfig(TOPIC, 1, 1, 6));
        assertTrue(Await.until(Duration.ofSeconds(15), () -> {
            try {
                TopicRouteData r = admin.examineTopicRouteInfo(TOPIC);
                return !r.getQueueDatas().isEmpty();
            } catch (Exception e) {
                return false;
            }
        }), "route of " + TOPIC);
    }

    @AfterEach
    void closeClients() {
        shutdowns.forEach(Runnable::run);
        shutdowns.clear();
    }

    @AfterAll
    void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    static RPCHook hook(String ak, String sk) {
        return new AclClientRPCHook(new SessionCredentials(ak, sk));
    }

    DefaultMQAdminExt admin(String ak, String sk) throws Exception {
        DefaultMQAdminExt admin = new DefaultMQAdminExt(hook(ak, sk), 5000);
        admin.setNamesrvAddr(stack.namesrvAddr());
        admin.setInstanceName(Clients.unique("acladmin"));
        admin.setAdminExtGroup(Clients.unique("acl_admin_group"));
        admin.start();
        shutdowns.add(admin::shutdown);
        return admin;
    }

    DefaultMQProducer producer(String ak, String sk) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(Clients.unique("aclpg"), hook(ak, sk));
        p.setNamesrvAddr(stack.namesrvAddr());
        p.setInstanceName(Clients.unique("aclproducer"));
        p.setSendMsgTimeout(5000);
        p.setRetryTimesWhenSendFailed(0);
        p.start();
        shutdowns.add(p::shutdown);
        return p;
    }

    static Message message(int i) {
        return new Message(TOPIC, "t", "k" + i, ("acl-" + i).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Expects Apache's refusal somewhere in {@code e}'s causes (a producer wraps the broker's
     * answer in "Send [1] times, still failed"): SYSTEM_ERROR and the AclException's message.
     */
    static void refused(Exception e, String wanted) {
        Throwable t = e;
        while (t != null && !(t instanceof MQBrokerException)) {
            t = t.getCause();
        }
        if (t == null) {
            t = e;
        }
        int code = t instanceof MQBrokerException b ? b.getResponseCode()
                : t instanceof MQClientException c ? c.getResponseCode() : -1;
        String remark = t instanceof MQBrokerException b ? b.getErrorMessage()
                : t instanceof MQClientException c ? c.getErrorMessage() : String.valueOf(e);
        System.out.println("refused: code " + code + ", remark " + remark);
        assertEquals(1, code, "SYSTEM_ERROR, as Apache answers an AclException: " + e);
        assertTrue(remark != null && remark.startsWith(REMARK + wanted), remark + " should start with " + REMARK + wanted);
        assertTrue(!remark.contains("secret"), "no secret in " + remark);
    }

    @Test
    void allowedSendsAreConsumedOnceEach() throws Exception {
        String group = Clients.unique("aclg");
        DefaultMQProducer p = producer("producer1", "producer-secret");
        Map<String, Integer> sent = new TreeMap<>();
        for (int i = 0; i < 10; i++) {
            Message m = message(i);
            assertEquals(SendStatus.SEND_OK, p.send(m).getSendStatus());
            sent.merge(new String(m.getBody(), StandardCharsets.UTF_8), 1, Integer::sum);
        }
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group, hook("consumer1", "consumer-secret"), new AllocateMessageQueueAveragely());
        c.setNamesrvAddr(stack.namesrvAddr());
        c.setInstanceName(Clients.unique("aclconsumer"));
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(TOPIC, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            got.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        shutdowns.add(c::shutdown);
        assertTrue(Await.until(Duration.ofSeconds(30), () -> got.size() >= sent.size()), "consumed " + got.size());
        Thread.sleep(1000);
        Map<String, Integer> received = new TreeMap<>();
        for (MessageExt m : got) {
            received.merge(new String(m.getBody(), StandardCharsets.UTF_8), 1, Integer::sum);
        }
        // The topic is shared by the class's tests: count this test's bodies only, and every one once.
        received.keySet().retainAll(sent.keySet());
        assertEquals(sent, received);
    }

    @Test
    void aSendWithoutPubIsRefused() throws Exception {
        DefaultMQProducer p = producer("consumer1", "consumer-secret");
        Exception e = assertThrows(Exception.class, () -> p.send(message(99)));
        refused(e, "No default permission for topic:" + TOPIC);
    }

    @Test
    void aPullOfADeniedGroupIsRefused() throws Exception {
        DefaultMQPullConsumer c = new DefaultMQPullConsumer("deniedGroup", hook("consumer1", "consumer-secret"));
        c.setNamesrvAddr(stack.namesrvAddr());
        c.setInstanceName(Clients.unique("aclpull"));
        c.start();
        shutdowns.add(c::shutdown);
        MessageQueue mq = new MessageQueue(TOPIC, stack.brokerName(), 0);
        Exception e = assertThrows(Exception.class, () -> c.pull(mq, "*", 0, 32));
        refused(e, "No default permission for group:deniedGroup");
        DefaultMQPullConsumer other = new DefaultMQPullConsumer(Clients.unique("aclpullok"), hook("producer1", "producer-secret"));
        other.setNamesrvAddr(stack.namesrvAddr());
        other.setInstanceName(Clients.unique("aclpull"));
        other.start();
        shutdowns.add(other::shutdown);
        Exception noSub = assertThrows(Exception.class, () -> other.pull(mq, "*", 0, 32));
        refused(noSub, "No default permission for topic:" + TOPIC);
    }

    @Test
    void adminCodesNeedAnAdminAccount() throws Exception {
        DefaultMQAdminExt user = admin("producer1", "producer-secret");
        Exception create = assertThrows(Exception.class,
                () -> user.createAndUpdateTopicConfig(stack.brokerAddr(), new TopicConfig(Clients.unique("AclNew"), 1, 1, 6)));
        refused(create, "Need admin permission for request code=17, but accessKey=producer1 is not");
        java.util.Properties props = new java.util.Properties();
        props.setProperty("flushConsumerOffsetInterval", "6000");
        Exception update = assertThrows(Exception.class, () -> user.updateBrokerConfig(stack.brokerAddr(), props));
        refused(update, "Need admin permission for request code=25, but accessKey=producer1 is not");
        DefaultMQAdminExt admin = admin("adminacc", "admin-secret");
        admin.createAndUpdateTopicConfig(stack.brokerAddr(), new TopicConfig(Clients.unique("AclNew"), 1, 1, 6));
        Exception badSignature = assertThrows(Exception.class,
                () -> admin("adminacc", "not-the-secret").createAndUpdateTopicConfig(stack.brokerAddr(), new TopicConfig(Clients.unique("AclNew"), 1, 1, 6)));
        refused(badSignature, "Check signature failed for accessKey=adminacc");
    }
}
