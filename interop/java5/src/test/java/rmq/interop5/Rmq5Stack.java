package rmq.interop5;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.AfterEach;

import rmq.interop.harness.Await;
import rmq.interop.harness.BrokerStack;
import rmq.interop.harness.RmqBroker;
import rmq.interop.support.Targets;

/**
 * What the 5.3.3-client tests against rmq's own servers share: rmq's name server and broker,
 * a 5.3.3 admin on them, the producer and consumer a test starts (all shut down after each
 * test), and creating a topic that waits until the name server routes it.
 */
abstract class Rmq5Stack {
    BrokerStack stack;
    DefaultMQAdminExt admin;
    DefaultMQProducer producer;
    DefaultMQPushConsumer consumer;

    /** Starts rmq with {@code brokerConfig} and an admin named {@code name}-admin-…, on the VIP channel when asked. */
    void startStack(Map<String, String> brokerConfig, String name, boolean vipChannel) throws Exception {
        stack = RmqBroker.startStack(Targets.requireRmqNamesrvBinary(), Targets.requireRmqBrokerBinary(), brokerConfig);
        admin = new DefaultMQAdminExt(5000);
        admin.setNamesrvAddr(stack.namesrvAddr());
        admin.setInstanceName(name + "-admin-" + UUID.randomUUID());
        if (vipChannel) {
            admin.setVipChannelEnabled(true);
        }
        admin.start();
    }

    @AfterEach
    void stop() {
        if (consumer != null) {
            consumer.shutdown();
        }
        if (producer != null) {
            producer.shutdown();
        }
        if (admin != null) {
            admin.shutdown();
        }
        if (stack != null) {
            stack.close();
        }
    }

    /** Creates {@code topic} with {@code queues} read and write queues on the broker and waits for its route. */
    void createTopic(String topic, int queues) throws Exception {
        admin.createAndUpdateTopicConfig(stack.brokerAddr(), new TopicConfig(topic, queues, queues, 6));
        assertTrue(Await.until(Duration.ofSeconds(15), () -> {
            try {
                return !admin.examineTopicRouteInfo(topic).getQueueDatas().isEmpty();
            } catch (Exception e) {
                return false;
            }
        }), "route of " + topic);
    }
}
