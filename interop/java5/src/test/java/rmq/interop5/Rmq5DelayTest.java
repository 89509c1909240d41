package rmq.interop5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.topic.TopicValidator;
import org.apache.rocketmq.store.timer.TimerMessageStore;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;

/**
 * RocketMQ 5's delivery-time API of the official 5.3.3 client ({@code setDeliverTimeMs},
 * {@code setDelayTimeSec}, {@code setDelayTimeMs}) and a delay level, against our name server
 * and broker: every message arrives no earlier than asked.
 */
@DisplayName("Java 5.x client vs rmq broker: delivery times and delay levels")
@Timeout(60)
class Rmq5DelayTest extends Rmq5Stack {
    private static final String GROUP = "delay5_cg";

    @BeforeEach
    void start() throws Exception {
        startStack(Map.of("messageDelayLevel", "1s 2s 1s 2s"), "interop5-delay", false);
    }

    @Test
    void deliveryTimesAndDelayLevelsAreHonoured() throws Exception {
        String topic = "Delay5_" + ProcessHandle.current().pid();
        createTopic(topic, 1);
        Map<String, Long> arrived = new ConcurrentHashMap<>();
        consumer = new DefaultMQPushConsumer(GROUP);
        consumer.setNamesrvAddr(stack.namesrvAddr());
        consumer.setInstanceName("interop5-delay-consumer-" + UUID.randomUUID());
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        // The 5.3.3 client's first rebalance raises the subscription's version and tells the
        // broker with a heartbeat that only tryLocks the heartbeat lock; when start() still holds
        // it for its own heartbeat (the broker's NOTIFY_CONSUMER_IDS_CHANGED comes before that
        // heartbeat's answer), the client logs "sendHeartbeatToAllBrokerWithLockV2 lock heartBeat,
        // but failed", the broker keeps the older version, and every pull is refused with
        // SUBSCRIPTION_NOT_LATEST (as Apache's broker does) until the next periodic heartbeat,
        // 30 s later by default: longer than this test waits. Each failure of this test under
        // load matched that log line. Heartbeats every second end the window within a second.
        consumer.setHeartbeatBrokerInterval(1_000);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                arrived.put(new String(m.getBody(), StandardCharsets.UTF_8), System.currentTimeMillis());
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        producer = new DefaultMQProducer("delay5_pg");
        producer.setNamesrvAddr(stack.namesrvAddr());
        producer.setInstanceName("interop5-delay-producer-" + UUID.randomUUID());
        producer.start();

        Map<String, Long> due = new LinkedHashMap<>();
        for (String kind : new String[] {"deliverTimeMs", "delayTimeSec", "delayTimeMs", "level2"}) {
            Message m = new Message(topic, kind.getBytes(StandardCharsets.UTF_8));
            long now = System.currentTimeMillis();
            switch (kind) {
                case "deliverTimeMs" -> m.setDeliverTimeMs(now + 1_500);
                case "delayTimeSec" -> m.setDelayTimeSec(1);
                case "delayTimeMs" -> m.setDelayTimeMs(1_200);
                default -> m.setDelayTimeLevel(2);
            }
            due.put(kind, now + switch (kind) {
                case "deliverTimeMs" -> 1_500L;
                case "delayTimeSec" -> 1_000L;
                case "delayTimeMs" -> 1_200L;
                default -> 2_000L;
            });
            producer.send(m);
        }
        boolean all = Await.until(Duration.ofSeconds(20), () -> arrived.size() == due.size());
        assertTrue(all, () -> "all delayed messages arrive: " + arrived.keySet() + "; " + diagnose(topic));
        for (Map.Entry<String, Long> e : due.entrySet()) {
            long at = arrived.get(e.getKey());
            assertTrue(at >= e.getValue(), e.getKey() + " arrived " + (e.getValue() - at) + " ms early");
            assertTrue(at < e.getValue() + 3_000, e.getKey() + " arrived " + (at - e.getValue()) + " ms late");
        }
        assertEquals(due.size(), arrived.size());
    }

    /**
     * What the broker and the consumer hold when messages did not arrive (this test failed now and
     * then under CI load with nothing delivered): the queues the consumer was assigned, the
     * topic's and the delay and timer topics' offsets, and the group's consumed offsets.
     */
    private String diagnose(String topic) {
        StringBuilder b = new StringBuilder();
        try {
            long now = System.currentTimeMillis();
            b.append("assigned");
            consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().forEach((q, pq) ->
                    b.append(' ').append(q.getTopic()).append('/').append(q.getQueueId()).append(" (cached ")
                            .append(pq.getMsgCount().get()).append(", last pull ")
                            .append(now - pq.getLastPullTimestamp()).append(" ms ago, dropped ")
                            .append(pq.isDropped()).append(')'));
        } catch (RuntimeException e) {
            b.append("assigned ?: ").append(e);
        }
        for (String t : new String[] {topic, TopicValidator.RMQ_SYS_SCHEDULE_TOPIC, TimerMessageStore.TIMER_TOPIC}) {
            try {
                b.append("; offsets of ").append(t).append(' ').append(admin.examineTopicStats(t).getOffsetTable());
            } catch (Exception e) {
                b.append("; offsets of ").append(t).append(" ?: ").append(e.getMessage());
            }
        }
        try {
            admin.examineConsumeStats(GROUP).getOffsetTable().forEach((q, o) -> b.append("; group ").append(GROUP).append(" at ")
                    .append(q.getTopic()).append('/').append(q.getQueueId()).append(": broker offset ")
                    .append(o.getBrokerOffset()).append(", consumer offset ").append(o.getConsumerOffset()));
        } catch (Exception e) {
            b.append("; group ").append(GROUP).append(" ?: ").append(e.getMessage());
        }
        return b.toString();
    }
}
