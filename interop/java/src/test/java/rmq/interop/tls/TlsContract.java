package rmq.interop.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.apache.rocketmq.client.ClientConfig;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.Await;
import rmq.interop.harness.NameServer;
import rmq.interop.harness.RmqBroker;
import rmq.interop.harness.ServerProcess;

/**
 * The stock Java 4.9.7 client with TLS ({@code setUseTLS(true)}, which is what
 * {@code -Dtls.enable=true} sets; test mode, so any server certificate is trusted) against a name
 * server and broker in {@code tls.server.mode} enforcing and permissive: TLS clients send and
 * consume (every message exactly once, counted as a multiset); a plaintext client is served in
 * permissive mode and refused in enforcing mode. Run against rmq and, as the self-check, against
 * Apache 4.9.7's name server and broker in the same modes.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
abstract class TlsContract {
    private static final AtomicInteger SEQ = new AtomicInteger();
    static final int PER_CLIENT = 20;

    /** A name server and broker; closing stops both. */
    /**
     * A started name server and broker. {@code logReader} gives the server side's log so far, for
     * the refusal line (empty where not captured); closing stops the broker, deletes its store,
     * then stops the name server.
     */
    record Servers(NameServer namesrv, ServerProcess broker, Supplier<String> logReader) implements AutoCloseable {
        String namesrvAddr() {
            return namesrv.address();
        }

        String brokerAddr() {
            return broker.address();
        }

        String logs() {
            return logReader.get();
        }

        @Override
        public void close() {
            broker.close();
            RmqBroker.deleteStore(broker);
            namesrv.close();
        }
    }

    /** Starts a name server and broker with {@code tls.server.mode=mode}; the broker's own connections use TLS. */
    abstract Servers start(String mode) throws Exception;

    private final List<Runnable> shutdowns = new ArrayList<>();

    @AfterEach
    void stopAll() {
        for (int i = shutdowns.size() - 1; i >= 0; i--) {
            try {
                shutdowns.get(i).run();
            } catch (RuntimeException ignored) {
                // best effort
            }
        }
        shutdowns.clear();
    }

    static String unique(String prefix) {
        return prefix + "_" + ProcessHandle.current().pid() + "_" + SEQ.incrementAndGet();
    }

    /** Instance names differ per client: clients with one name share connections (and TLS or not). */
    private <C extends ClientConfig> C configure(C c, Servers s, boolean tls) {
        c.setNamesrvAddr(s.namesrvAddr());
        c.setInstanceName(unique(tls ? "tls" : "plain"));
        c.setUseTLS(tls);
        return c;
    }

    DefaultMQAdminExt admin(Servers s, boolean tls) throws Exception {
        DefaultMQAdminExt admin = configure(new DefaultMQAdminExt(5000), s, tls);
        admin.setAdminExtGroup(unique("admin_group"));
        admin.start();
        shutdowns.add(admin::shutdown);
        return admin;
    }

    DefaultMQProducer producer(Servers s, boolean tls) throws Exception {
        DefaultMQProducer p = configure(new DefaultMQProducer(unique("pg")), s, tls);
        p.setSendMsgTimeout(4000);
        p.setRetryTimesWhenSendFailed(0);
        p.start();
        shutdowns.add(p::shutdown);
        return p;
    }

    String createTopic(Servers s, DefaultMQAdminExt admin) throws Exception {
        String topic = unique("Tls");
        admin.createAndUpdateTopicConfig(s.brokerAddr(), new TopicConfig(topic, 4, 4, 6));
        boolean routed = Await.until(Duration.ofSeconds(15), () -> {
            try {
                TopicRouteData r = admin.examineTopicRouteInfo(topic);
                return !r.getQueueDatas().isEmpty();
            } catch (Exception e) {
                return false;
            }
        });
        assertTrue(routed, "no route for " + topic + " within 15 s");
        return topic;
    }

    void send(DefaultMQProducer p, String topic, String prefix) throws Exception {
        for (int i = 0; i < PER_CLIENT; i++) {
            p.send(new Message(topic, "t", (prefix + "-" + i).getBytes(StandardCharsets.UTF_8)));
        }
    }

    /** Every body received, with how often: each expected body must appear exactly once. */
    Map<String, Integer> consume(Servers s, boolean tls, String topic, int expected) throws Exception {
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer c = configure(new DefaultMQPushConsumer(unique("cg")), s, tls);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            got.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        shutdowns.add(c::shutdown);
        Await.until(Duration.ofSeconds(40), () -> got.size() >= expected);
        Thread.sleep(1000); // a duplicate arriving late is counted too
        Map<String, Integer> counts = new TreeMap<>();
        for (MessageExt m : got) {
            counts.merge(new String(m.getBody(), StandardCharsets.UTF_8), 1, Integer::sum);
        }
        return counts;
    }

    static Map<String, Integer> expected(String... prefixes) {
        Map<String, Integer> want = new TreeMap<>();
        for (String prefix : prefixes) {
            for (int i = 0; i < PER_CLIENT; i++) {
                want.put(prefix + "-" + i, 1);
            }
        }
        return want;
    }

    @Test
    void enforcingServesTlsClientsAndRefusesPlaintext() throws Exception {
        try (Servers s = start("enforcing")) {
            String topic = createTopic(s, admin(s, true));
            send(producer(s, true), topic, "tls");
            assertEquals(expected("tls"), consume(s, true, topic, PER_CLIENT), "TLS messages through an enforcing broker");

            DefaultMQProducer plain = producer(s, false);
            assertThrows(Exception.class, () -> plain.send(new Message(topic, "t", "plain".getBytes(StandardCharsets.UTF_8))),
                    "a plaintext producer was served by enforcing servers");
            DefaultMQAdminExt plainAdmin = admin(s, false);
            assertThrows(Exception.class, () -> plainAdmin.examineTopicRouteInfo(topic),
                    "a plaintext admin got a route from an enforcing name server");
            String logs = s.logs();
            assertTrue(logs.isEmpty() || Await.until(Duration.ofSeconds(5), () -> s.logs().contains("plaintext peer while tls.server.mode=enforcing")),
                    "no log line for the refused plaintext peer");
        }
    }

    @Test
    void permissiveServesTlsAndPlaintextOnOnePort() throws Exception {
        try (Servers s = start("permissive")) {
            String topic = createTopic(s, admin(s, false));
            send(producer(s, true), topic, "tls");
            send(producer(s, false), topic, "plain");
            assertEquals(expected("plain", "tls"), consume(s, true, topic, 2 * PER_CLIENT), "TLS consumer");
            assertEquals(expected("plain", "tls"), consume(s, false, topic, 2 * PER_CLIENT), "plaintext consumer");
        }
    }
}
