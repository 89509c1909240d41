package rmq.interop.grpc;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientConfigurationBuilder;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.SessionCredentialsProvider;
import org.apache.rocketmq.client.apis.StaticSessionCredentialsProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;

/**
 * ACL 1.0 through a proxy with the official Java 5 client signing with
 * {@code StaticSessionCredentialsProvider} (interop/grpc/acl.sh writes the plain_acl.yml): the
 * producer's account publishes to TOPIC, the consumer's account receives them as GROUP; a wrong
 * secret, an unknown access key, no credentials, a producer's account consuming and a send to a
 * topic the account may not publish to are refused. What happened goes to OUT, one line per
 * fact, sorted; refused sends carry their own bodies, so the bodies the consumer receives prove
 * that nothing refused was stored.
 *
 * Usage: java -cp CLIENT_CP rmq.interop.grpc.AclScenarios PROXY TOPIC OTHER_TOPIC GROUP OUT
 */
public final class AclScenarios {
    static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();
    static final Duration INVISIBLE = Duration.ofSeconds(30);

    static String endpoint;

    public static void main(String[] args) throws Exception {
        endpoint = args[0];
        String topic = args[1];
        String other = args[2];
        String group = args[3];
        Path out = Path.of(args[4]);
        List<String> facts = new ArrayList<>();
        SessionCredentialsProvider producer = keys("producer1", "producerSecret1");
        SessionCredentialsProvider consumer = keys("consumer1", "consumerSecret1");

        int sent = 0;
        try (Producer p = producer(producer, topic)) {
            for (int i = 0; i < 5; i++) {
                p.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("a")
                    .setBody(("acl-" + i).getBytes(StandardCharsets.UTF_8)).build());
                sent++;
            }
        }
        facts.add("producer1 sent " + sent);
        facts.add("wrong secret: " + refusedSend(keys("producer1", "wrongSecret1"), topic, "wrong-secret"));
        facts.add("unknown key: " + refusedSend(keys("stranger1", "whatever1"), topic, "unknown-key"));
        facts.add("no credentials: " + refusedSend(null, topic, "unsigned"));
        facts.add("consumer1 sends: " + refusedSend(consumer, topic, "consumer-sends"));
        facts.add("producer1 to the other topic: " + refusedSend(producer, other, "other-topic"));
        facts.add("producer1 consumes: " + refusedConsumer(producer, group, topic));

        Map<String, Integer> received = new TreeMap<>();
        try (SimpleConsumer c = consumer(consumer, group, topic)) {
            long deadline = System.currentTimeMillis() + 30_000;
            while (received.values().stream().mapToInt(Integer::intValue).sum() < sent
                && System.currentTimeMillis() < deadline) {
                for (MessageView m : c.receive(16, INVISIBLE)) {
                    received.merge(StandardCharsets.UTF_8.decode(m.getBody()).toString(), 1, Integer::sum);
                    c.ack(m);
                }
            }
        }
        facts.add("consumer1 received " + received);
        Collections.sort(facts);
        Files.write(out, facts, StandardCharsets.UTF_8);
        for (String fact : facts) {
            System.out.println(fact);
        }
    }

    static SessionCredentialsProvider keys(String accessKey, String secretKey) {
        return new StaticSessionCredentialsProvider(accessKey, secretKey);
    }

    static ClientConfiguration config(SessionCredentialsProvider keys) {
        ClientConfigurationBuilder builder = ClientConfiguration.newBuilder()
            .setEndpoints(endpoint)
            .setRequestTimeout(Duration.ofSeconds(5))
            .enableSsl(Boolean.parseBoolean(System.getProperty("grpc.tls", "true")));
        if (keys != null) {
            builder.setCredentialProvider(keys);
        }
        return builder.build();
    }

    static Producer producer(SessionCredentialsProvider keys, String topic) throws Exception {
        return PROVIDER.newProducerBuilder().setClientConfiguration(config(keys)).setTopics(topic).build();
    }

    static SimpleConsumer consumer(SessionCredentialsProvider keys, String group, String topic) throws Exception {
        return PROVIDER.newSimpleConsumerBuilder()
            .setClientConfiguration(config(keys))
            .setConsumerGroup(group)
            .setAwaitDuration(Duration.ofSeconds(2))
            .setSubscriptionExpressions(Map.of(topic, FilterExpression.SUB_ALL))
            .build();
    }

    /** "refused" when the producer cannot start or its send fails, with the gRPC code seen. */
    static String refusedSend(SessionCredentialsProvider keys, String topic, String body) {
        try (Producer p = producer(keys, topic)) {
            p.send(PROVIDER.newMessageBuilder().setTopic(topic)
                .setBody(body.getBytes(StandardCharsets.UTF_8)).build());
            return "accepted";
        } catch (Exception e) {
            return "refused" + permissionDenied(e);
        }
    }

    /** "refused" when the consumer cannot start or its receive fails. */
    static String refusedConsumer(SessionCredentialsProvider keys, String group, String topic) {
        try (SimpleConsumer c = consumer(keys, group, topic)) {
            c.receive(1, INVISIBLE);
            return "accepted";
        } catch (Exception e) {
            return "refused" + permissionDenied(e);
        }
    }

    /**
     * " (PERMISSION_DENIED)" when the cause chain names that gRPC code; empty when the client
     * failed to start because its telemetry stream was refused (its settings never came).
     */
    static String permissionDenied(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (String.valueOf(t.getMessage()).contains("PERMISSION_DENIED")) {
                return " (PERMISSION_DENIED)";
            }
        }
        // A refused telemetry stream fails the client's start without the status in the chain.
        StringBuilder chain = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            chain.append(" <- ").append(t);
        }
        System.err.println("refused without PERMISSION_DENIED in the cause chain:" + chain);
        return "";
    }
}
