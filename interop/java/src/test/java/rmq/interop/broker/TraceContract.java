package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.trace.TraceContext;
import org.apache.rocketmq.client.trace.TraceDataEncoder;
import org.apache.rocketmq.client.trace.TraceView;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.topic.TopicValidator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;

/**
 * Message trace written by the Java 4.9.7 client ({@code enableMsgTrace}) to a broker started
 * with {@code traceTopicEnable=true}: the trace messages are found on RMQ_SYS_TRACE_TOPIC by the
 * traced message's id and by its keys, and Java's own decoder finds one Pub, SubBefore and
 * SubAfter per message with the groups, topic, tags, keys and store host of the scenario. Run
 * against Apache 4.9.7 (the self-check) and rmq; rmq-client's records are checked against
 * bytes Java's encoder wrote in rmq-client/tests/trace_format.rs instead (see docs/trace.md).
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
abstract class TraceContract extends StackContract {
    static final int MESSAGES = 3;

    /** Broker options of the stacks: the trace topic made at start. */
    static final Map<String, String> BROKER_OPTIONS = Map.of("traceTopicEnable", "true");

    @Test
    void javaTracesAreFoundByIdAndKeyAndDecode() throws Exception {
        String topic = clients.createTopic("Traced", 2);
        String producerGroup = Clients.unique("tracepg");
        String consumerGroup = Clients.unique("tracecg");
        DefaultMQProducer producer = new DefaultMQProducer(producerGroup, true);
        producer.setNamesrvAddr(stack.namesrvAddr());
        producer.setInstanceName(Clients.unique("traceproducer"));
        producer.setSendMsgTimeout(5000);
        producer.start();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(consumerGroup, true);
        consumer.setNamesrvAddr(stack.namesrvAddr());
        consumer.setInstanceName(Clients.unique("traceconsumer"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            got.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        try {
            consumer.start();
            List<SendResult> sent = new ArrayList<>();
            for (int i = 0; i < MESSAGES; i++) {
                Message m = new Message(topic, "TagT", "order-" + i + " shared", ("body-" + i).getBytes(StandardCharsets.UTF_8));
                sent.add(producer.send(m));
            }
            assertTrue(Await.until(Duration.ofSeconds(30), () -> got.size() >= MESSAGES), "consumed " + got.size());
            String trace = TopicValidator.RMQ_SYS_TRACE_TOPIC;
            for (int i = 0; i < MESSAGES; i++) {
                String id = sent.get(i).getMsgId();
                List<TraceView> views = new ArrayList<>();
                boolean complete = Await.until(Duration.ofSeconds(20), () -> {
                    views.clear();
                    views.addAll(traceViews(trace, id));
                    return views.size() >= 3;
                });
                assertTrue(complete, "trace of " + id + ": " + summary(views));
                // Time for duplicates to show up, then look again.
                Thread.sleep(1000);
                views.clear();
                views.addAll(traceViews(trace, id));
                Map<String, Integer> steps = new TreeMap<>();
                for (TraceView v : views) {
                    steps.merge(v.getMsgType() + "/" + v.getGroupName(), 1, Integer::sum);
                }
                Map<String, Integer> expected = new TreeMap<>(Map.of(
                        "Pub/" + producerGroup, 1,
                        "SubBefore/" + consumerGroup, 1,
                        "SubAfter/" + consumerGroup, 1));
                assertEquals(expected, steps, "records of " + id + " (" + stack.kind() + ")");
                TraceView pub = views.stream().filter(v -> v.getMsgType().equals("Pub")).findFirst().orElseThrow();
                assertEquals(topic, pub.getTopic());
                assertEquals("TagT", pub.getTags());
                assertEquals("order-" + i + " shared", pub.getKeys());
                assertEquals(stack.brokerAddr(), pub.getStoreHost());
                assertEquals(sent.get(i).getOffsetMsgId(), pub.getOffSetMsgId());
                assertEquals("success", pub.getStatus());
                for (TraceView v : views) {
                    assertEquals("success", v.getStatus(), summary(views));
                    assertEquals("order-" + i + " shared", v.getKeys());
                }
                // SubBefore carries the region a broker stamps on stored messages; Apache 4.9.7
                // stamps it only when broker-side send hooks are registered (none by default),
                // so the Java consumer writes its "null" there, on both brokers.
                List<String> regions = new ArrayList<>();
                for (MessageExt m : traceMessages(trace, id)) {
                    for (TraceContext c : TraceDataEncoder.decoderFromTraceDataString(new String(m.getBody(), StandardCharsets.UTF_8))) {
                        if (c.getTraceType().name().equals("SubBefore") && c.getTraceBeans().get(0).getMsgId().equals(id)) {
                            regions.add(c.getRegionId());
                        }
                    }
                }
                assertEquals(List.of("null"), regions, "SubBefore regions");
            }
            // Trace messages are indexed under the traced message's keys too.
            assertFalse(traceMessages(trace, "order-1").isEmpty(), "trace messages by key");
        } finally {
            consumer.shutdown();
            producer.shutdown();
        }
    }

    /** Java's own lookup (what mqadmin queryMsgTraceById does). */
    List<TraceView> traceViews(String traceTopic, String msgId) {
        List<TraceView> views = new ArrayList<>();
        for (MessageExt m : traceMessages(traceTopic, msgId)) {
            views.addAll(TraceView.decodeFromTraceTransData(msgId, m));
        }
        return views;
    }

    List<MessageExt> traceMessages(String traceTopic, String key) {
        try {
            return clients.admin.queryMessage(traceTopic, key, 64, 0, System.currentTimeMillis()).getMessageList();
        } catch (Exception e) {
            // Not indexed yet (or the topic has no route yet): nothing found so far.
            return List.of();
        }
    }

    static String summary(List<TraceView> views) {
        StringBuilder s = new StringBuilder();
        for (TraceView v : views) {
            s.append(v.getMsgType()).append('/').append(v.getGroupName()).append('/').append(v.getStatus()).append(' ');
        }
        return s.toString();
    }
}
