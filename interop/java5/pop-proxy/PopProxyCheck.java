import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;

/**
 * The POP scenario through Apache's rocketmq-proxy with the official 5.x gRPC client
 * (rocketmq-client-java): ten messages sent; a SimpleConsumer receives them with a 2 s
 * invisible duration, acks eight, leaves m1 unacked and extends m2 by 4 s; m1 and m2 must come
 * back exactly once each with delivery attempt 2 (m2 not before its new invisible time), and
 * nothing after they are acked. Deliveries are counted as multisets (body, attempt), so a
 * duplicate or a loss fails. Exits 1 on any failure; run.sh runs it against rmq's broker and
 * against Apache 5.3.3's.
 *
 * Usage: java -cp CLIENT_CP PopProxyCheck.java PROXY_GRPC_ADDR TOPIC LABEL
 */
public class PopProxyCheck {
    static final Duration INVISIBLE = Duration.ofSeconds(2);
    static final Duration EXTENDED = Duration.ofSeconds(4);

    public static void main(String[] args) throws Exception {
        String endpoint = args[0];
        String topic = args[1];
        String label = args[2];
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        ClientConfiguration config = ClientConfiguration.newBuilder()
            .setEndpoints(endpoint)
            .setRequestTimeout(Duration.ofSeconds(10))
            .build();
        List<String> failures = new ArrayList<>();
        TreeMap<String, Integer> deliveries = new TreeMap<>();
        long extendedAt = 0;
        long m2BackAt = 0;
        try (Producer producer = provider.newProducerBuilder().setClientConfiguration(config).setTopics(topic).build();
             SimpleConsumer consumer = provider.newSimpleConsumerBuilder()
                 .setClientConfiguration(config)
                 .setConsumerGroup("pop-check-" + topic)
                 .setSubscriptionExpressions(Map.of(topic, FilterExpression.SUB_ALL))
                 .setAwaitDuration(Duration.ofSeconds(2))
                 .build()) {
            for (int i = 0; i < 10; i++) {
                producer.send(provider.newMessageBuilder()
                    .setTopic(topic)
                    .setTag("pop")
                    .setBody(("m" + i).getBytes(StandardCharsets.UTF_8))
                    .build());
            }
            long deadline = System.currentTimeMillis() + 90_000;
            while (System.currentTimeMillis() < deadline && total(deliveries) < 12) {
                for (MessageView m : consumer.receive(16, INVISIBLE)) {
                    String body = body(m);
                    int attempt = m.getDeliveryAttempt();
                    deliveries.merge(body + "#" + attempt, 1, Integer::sum);
                    if (attempt == 1 && body.equals("m1")) {
                        continue;
                    }
                    if (attempt == 1 && body.equals("m2")) {
                        consumer.changeInvisibleDuration(m, EXTENDED);
                        extendedAt = System.currentTimeMillis();
                        continue;
                    }
                    if (body.equals("m2")) {
                        m2BackAt = System.currentTimeMillis();
                    }
                    consumer.ack(m);
                }
            }
            // Everything is acked now: nothing may come back.
            long quiet = System.currentTimeMillis() + 8_000;
            while (System.currentTimeMillis() < quiet) {
                for (MessageView m : consumer.receive(16, INVISIBLE)) {
                    deliveries.merge(body(m) + "#" + m.getDeliveryAttempt(), 1, Integer::sum);
                    consumer.ack(m);
                }
            }
        }
        TreeMap<String, Integer> expected = new TreeMap<>();
        for (int i = 0; i < 10; i++) {
            expected.put("m" + i + "#1", 1);
        }
        expected.put("m1#2", 1);
        expected.put("m2#2", 1);
        if (!expected.equals(deliveries)) {
            failures.add("deliveries (body#attempt -> count) " + deliveries + ", expected " + expected);
        }
        if (m2BackAt != 0 && m2BackAt - extendedAt < EXTENDED.toMillis() - 500) {
            failures.add("m2 came back " + (m2BackAt - extendedAt) + " ms after its invisible time was changed to "
                + EXTENDED.toMillis() + " ms");
        }
        if (failures.isEmpty()) {
            System.out.println("PASS " + label + ": " + deliveries + "; m2 back " + (m2BackAt - extendedAt)
                + " ms after its change");
        } else {
            failures.forEach(f -> System.out.println("FAIL " + label + ": " + f));
            System.exit(1);
        }
    }

    static String body(MessageView m) {
        ByteBuffer b = m.getBody();
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    static int total(Map<String, Integer> counts) {
        return counts.values().stream().mapToInt(Integer::intValue).sum();
    }
}
