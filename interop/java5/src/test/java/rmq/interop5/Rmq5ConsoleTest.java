package rmq.interop5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.ResponseCode;
import org.apache.rocketmq.remoting.protocol.body.CMResult;
import org.apache.rocketmq.remoting.protocol.body.ConsumeMessageDirectlyResult;
import org.apache.rocketmq.remoting.protocol.body.ConsumerRunningInfo;
import org.apache.rocketmq.remoting.protocol.body.TopicList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;

/**
 * The RocketMQ 5 admin calls Apache's rocketmq-dashboard 2.1 makes (it is built on
 * {@code DefaultMQAdminExt} 5.3.3, VIP channel on), against our name server and broker:
 * {@code examineTopicConfig} (GET_TOPIC_CONFIG, 351, which Apache 4.9.7 refuses, so the 4.9
 * console contract compares it raw), the system topic list, running info and direct consumption
 * relayed to a 5.3.3 push consumer. The 4.9 side by side with Apache is {@code ConsoleContract}.
 */
@DisplayName("Java 5.x admin (VIP channel on) vs rmq broker: the console's 5.x calls")
@Timeout(90)
class Rmq5ConsoleTest extends Rmq5Stack {
    static final int SENT = 8;

    @BeforeEach
    void start() throws Exception {
        startStack(Map.of(), "interop5-console", true);
    }

    @Test
    void theDashboards5xCallsAreAnswered() throws Exception {
        String topic = "Console5_" + ProcessHandle.current().pid();
        String group = "console5g_" + ProcessHandle.current().pid();
        createTopic(topic, 2);

        TopicConfig one = admin.examineTopicConfig(stack.brokerAddr(), topic);
        TopicConfig fromAll = admin.getAllTopicConfig(stack.brokerAddr(), 5000).getTopicConfigTable().get(topic);
        assertNotNull(fromAll);
        assertEquals(fromAll.getTopicName(), one.getTopicName());
        assertEquals(2, one.getReadQueueNums());
        assertEquals(2, one.getWriteQueueNums());
        assertEquals(fromAll.getPerm(), one.getPerm());
        assertEquals(fromAll.getTopicFilterType(), one.getTopicFilterType());
        try {
            admin.examineTopicConfig(stack.brokerAddr(), "NoSuchTopic5");
            throw new AssertionError("examineTopicConfig of an unknown topic answered");
        } catch (MQBrokerException e) {
            assertEquals(ResponseCode.TOPIC_NOT_EXIST, e.getResponseCode(), e.toString());
        }

        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(stack.namesrvAddr());
        consumer.setInstanceName("interop5-console-consumer-" + UUID.randomUUID());
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            got.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        producer = new DefaultMQProducer("console5pg_" + ProcessHandle.current().pid());
        producer.setNamesrvAddr(stack.namesrvAddr());
        producer.setInstanceName("interop5-console-producer-" + UUID.randomUUID());
        producer.setVipChannelEnabled(true);
        producer.start();
        List<SendResult> sent = new ArrayList<>();
        for (int i = 0; i < SENT; i++) {
            sent.add(producer.send(new Message(topic, ("c5-" + i).getBytes(StandardCharsets.UTF_8)),
                    new MessageQueue(topic, stack.brokerName(), i % 2)));
        }
        assertTrue(Await.until(Duration.ofSeconds(20), () -> got.size() >= SENT), "consumed " + got.size());

        TopicList system = producer.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl().getSystemTopicList(5000);
        assertTrue(system.getTopicList().contains(stack.clusterName()) && system.getTopicList().contains(stack.brokerName()),
                "system topics " + system.getTopicList());

        String clientId = consumer.getDefaultMQPushConsumerImpl().getmQClientFactory().getClientId();
        assertTrue(Await.until(Duration.ofSeconds(15), () -> {
            try {
                ConsumerRunningInfo info = admin.getConsumerRunningInfo(group, clientId, false);
                long committed = info.getMqTable().entrySet().stream()
                        .filter(e -> e.getKey().getTopic().equals(topic))
                        .mapToLong(e -> e.getValue().getCommitOffset()).sum();
                return committed == SENT && info.getStatusTable().containsKey(topic);
            } catch (Exception e) {
                return false;
            }
        }), "running info of " + clientId + " never showed " + SENT + " committed");

        SendResult target = sent.get(3);
        ConsumeMessageDirectlyResult r = admin.consumeMessageDirectly(group, clientId, topic, target.getOffsetMsgId());
        assertEquals(CMResult.CR_SUCCESS, r.getConsumeResult(), r.toString());
        assertTrue(Await.until(Duration.ofSeconds(5), () -> got.stream()
                .filter(m -> new String(m.getBody(), StandardCharsets.UTF_8).equals("c5-3")).count() == 2),
                "c5-3 delivered again directly");

        // A producer is known to a broker from its heartbeats; the first may precede its route.
        producer.getDefaultMQProducerImpl().getMqClientFactory().sendHeartbeatToAllBrokerWithLock();
        assertTrue(admin.getAllProducerInfo(stack.brokerAddr()).getData().containsKey(producer.getProducerGroup()),
                "getAllProducerInfo lists " + producer.getProducerGroup());
    }
}
