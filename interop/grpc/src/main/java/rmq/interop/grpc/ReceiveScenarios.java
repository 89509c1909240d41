package rmq.interop.grpc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;

/**
 * The receive side of a gRPC proxy, seen by the official 5.x Java client (rocketmq-client-java):
 * run against Apache's proxy + broker and against rmq's mqproxy + broker, with the same
 * expected results. Deliveries are counted as multisets of body#attempt, so a duplicate or a
 * loss fails.
 *
 * <ul>
 * <li>simple: a SimpleConsumer acks most messages, leaves one unacked (back once with attempt 2)
 *     and extends another to 10 s with changeInvisibleDuration (back once with attempt 2, not
 *     before its new invisible time); nothing comes back after the acks.</li>
 * <li>dlq: a group allowed two deliveries (retryMaxTimes 1); a message never acked is
 *     delivered with attempts 1 and 2, then lands in %DLQ%group and is not delivered again.</li>
 * <li>push: a PushConsumer consumes every message exactly once.</li>
 * <li>push-retry: a PushConsumer fails r0's first delivery; the SDK hides it for its group's
 *     first back-off (changeInvisibleDuration) and it comes back once, attempt 2.</li>
 * <li>filter: one topic, two SimpleConsumer groups: an SQL92 expression over a user property
 *     ({@code a BETWEEN 1 AND 3}; the brokers need enablePropertyFilter=true) and a tag
 *     expression with {@code ||}; each group receives exactly its matching messages, once.</li>
 * <li>fifo: an orderly group (consumeMessageOrderly, set with Apache's mqadmin from the
 *     servers' classpath, system property {@code servers.cp}) on a FIFO topic; two
 *     SimpleConsumers record then slowly ack; each message group's record is its send order.</li>
 * </ul>
 *
 * What happened is written to OUT, one fact per line, sorted (run.sh checks each stack's facts
 * and compares the two stacks'); a scenario whose facts are not the expected ones also prints a
 * FAIL line and makes the exit status 1. Topics and groups are created with MQADMIN (rmq's
 * mqadmin, which speaks remoting to either stack) through the name server.
 *
 * Usage: java -cp CLIENT_CP rmq.interop.grpc.ReceiveScenarios PROXY NAMESRV MQADMIN PREFIX OUT [scenario...]
 */
public final class ReceiveScenarios {
    /** How long a receive hides its messages: short, for quick redeliveries, yet long enough
     * for an ack to arrive in time on a loaded machine (2 and 3 s were not, at a load of 20+). */
    static final Duration INVISIBLE = Duration.ofSeconds(5);
    /** Twice INVISIBLE, so an extension ignored shows. */
    static final Duration EXTENDED = Duration.ofSeconds(10);

    static String endpoint;
    static String namesrv;
    static String mqadmin;
    static String prefix;
    static final List<String> FACTS = Collections.synchronizedList(new ArrayList<>());
    static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();
    static final List<String> FAILURES = Collections.synchronizedList(new ArrayList<>());
    /** The failures of the scenario running on this thread. */
    static final ThreadLocal<List<String>> MINE = ThreadLocal.withInitial(ArrayList::new);

    public static void main(String[] args) throws Exception {
        endpoint = args[0];
        namesrv = args[1];
        mqadmin = args[2];
        prefix = args[3];
        Path out = Path.of(args[4]);
        List<String> scenarios = args.length > 5 ? List.of(args).subList(5, args.length)
            : List.of("simple", "dlq", "push", "push-retry", "fifo", "filter");
        // The scenarios use topics and groups of their own, so they run side by side: the run
        // takes as long as the slowest one (mostly waiting out invisible times and back-offs)
        // instead of their sum.
        List<Thread> threads = new ArrayList<>();
        for (String s : scenarios) {
            Thread t = new Thread(() -> run(s), "scenario-" + s);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        Collections.sort(FACTS);
        Files.write(out, FACTS, StandardCharsets.UTF_8);
        FACTS.forEach(System.out::println);
        FAILURES.forEach(f -> System.out.println("FAIL receive: " + f));
        System.exit(FAILURES.isEmpty() ? 0 : 1);
    }

    /** Runs one scenario, then prints its PASS or FAIL line with its duration. */
    static void run(String scenario) {
        long began = System.currentTimeMillis();
        try {
            switch (scenario) {
                case "simple": simple(); break;
                case "dlq": dlq(); break;
                case "push": push(); break;
                case "push-retry": pushRetry(); break;
                case "fifo": fifo(); break;
                case "filter": filter(); break;
                default: fail("unknown scenario " + scenario);
            }
        } catch (Exception e) {
            fail(scenario + ": " + describe(e));
        }
        System.out.println((MINE.get().isEmpty() ? "PASS " : "FAIL ") + "receive " + scenario + " ("
            + (System.currentTimeMillis() - began) + " ms)");
    }

    /** Records a failure of the scenario running on this thread. */
    static void fail(String failure) {
        FAILURES.add(failure);
        MINE.get().add(failure);
    }

    static String describe(Throwable e) {
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    static ClientConfiguration config() {
        return ClientConfiguration.newBuilder()
            .setEndpoints(endpoint)
            .setRequestTimeout(Duration.ofSeconds(10))
            .enableSsl(Boolean.parseBoolean(System.getProperty("grpc.tls", "false")))
            .build();
    }

    static void mqadmin(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(mqadmin);
        cmd.addAll(List.of(args));
        admin("mqadmin " + String.join(" ", args), cmd, false);
    }

    /** Apache's own mqadmin (for the options rmq's lacks), from the servers' classpath. */
    static void apacheAdmin(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("java", "-cp", System.getProperty("servers.cp"),
            "org.apache.rocketmq.tools.command.MQAdminStartup"));
        cmd.addAll(List.of(args));
        admin("Apache mqadmin " + String.join(" ", args), cmd, true);
    }

    /**
     * Runs an admin command against the name server, up to three times: its requests are
     * idempotent (create or update), and on a loaded machine one can pass Apache's 3 s client
     * timeout. Apache's tool must also say "success".
     */
    static void admin(String what, List<String> command, boolean saysSuccess) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(command);
        cmd.add("-n");
        cmd.add(namesrv);
        String out = "";
        for (int attempt = 1; attempt <= 3; attempt++) {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0 && (!saysSuccess || out.contains("success"))) {
                return;
            }
            System.err.println(what + " failed (try " + attempt + "): " + out);
            Thread.sleep(1000);
        }
        throw new IOException(what + " failed: " + out);
    }

    static String topic(String scenario) throws Exception {
        String topic = prefix + "Recv" + scenario;
        mqadmin("updateTopic", "-c", "DefaultCluster", "-t", topic, "-r", "4", "-w", "4");
        Thread.sleep(2000);
        return topic;
    }

    static void send(String topic, String... bodies) throws Exception {
        try (Producer producer = PROVIDER.newProducerBuilder().setClientConfiguration(config()).setTopics(topic).build()) {
            for (String b : bodies) {
                producer.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("recv")
                    .setBody(b.getBytes(StandardCharsets.UTF_8)).build());
            }
        }
    }

    static SimpleConsumer simpleConsumer(String group, String topic) throws Exception {
        return simpleConsumer(group, topic, FilterExpression.SUB_ALL);
    }

    static SimpleConsumer simpleConsumer(String group, String topic, FilterExpression filter) throws Exception {
        return PROVIDER.newSimpleConsumerBuilder()
            .setClientConfiguration(config())
            .setConsumerGroup(group)
            .setSubscriptionExpressions(Map.of(topic, filter))
            .setAwaitDuration(Duration.ofSeconds(2))
            .build();
    }

    /** Records `what` with its multiset as a fact; a FAIL unless it is the expected one. */
    static void expect(String what, Map<String, Integer> expected, Map<String, Integer> actual) {
        FACTS.add("Receive " + what + " " + new TreeMap<>(actual));
        if (!expected.equals(actual)) {
            fail(what + ": deliveries (body#attempt -> count) " + actual + ", expected " + expected);
        }
    }

    static void simple() throws Exception {
        String topic = topic("simple");
        String group = topic + "-group";
        TreeMap<String, Integer> deliveries = new TreeMap<>();
        long extendedAt = 0;
        long backAt = 0;
        try (SimpleConsumer consumer = simpleConsumer(group, topic)) {
            send(topic, "s0", "s1", "s2", "s3", "s4", "s5");
            long deadline = System.currentTimeMillis() + 90_000;
            while (System.currentTimeMillis() < deadline && total(deliveries) < 8) {
                for (MessageView m : consumer.receive(16, INVISIBLE)) {
                    String body = body(m);
                    int attempt = m.getDeliveryAttempt();
                    deliveries.merge(body + "#" + attempt, 1, Integer::sum);
                    if (attempt == 1 && body.equals("s1")) {
                        continue;
                    }
                    if (attempt == 1 && body.equals("s2")) {
                        consumer.changeInvisibleDuration(m, EXTENDED);
                        extendedAt = System.currentTimeMillis();
                        continue;
                    }
                    if (body.equals("s2")) {
                        backAt = System.currentTimeMillis();
                    }
                    consumer.ack(m);
                }
            }
            // Long enough for an unacked message to come back (Apache's revive adds seconds).
            long quiet = System.currentTimeMillis() + INVISIBLE.toMillis() + 8_000;
            while (System.currentTimeMillis() < quiet) {
                for (MessageView m : consumer.receive(16, INVISIBLE)) {
                    deliveries.merge(body(m) + "#" + m.getDeliveryAttempt(), 1, Integer::sum);
                    consumer.ack(m);
                }
            }
        }
        TreeMap<String, Integer> expected = new TreeMap<>();
        for (int i = 0; i < 6; i++) {
            expected.put("s" + i + "#1", 1);
        }
        expected.put("s1#2", 1);
        expected.put("s2#2", 1);
        expect("simple deliveries", expected, deliveries);
        boolean held = backAt != 0 && backAt - extendedAt >= EXTENDED.toMillis() - 500;
        FACTS.add("Receive simple s2 held back for its changed invisible duration " + held);
        if (!held) {
            fail("simple: s2 came back " + (backAt - extendedAt) + " ms after its change to " + EXTENDED.toMillis() + " ms");
        }
    }

    static void dlq() throws Exception {
        String topic = topic("dlq");
        String group = topic + "-group";
        mqadmin("updateSubGroup", "-c", "DefaultCluster", "-g", group, "-r", "1");
        Thread.sleep(1000);
        TreeMap<String, Integer> deliveries = new TreeMap<>();
        try (SimpleConsumer consumer = simpleConsumer(group, topic)) {
            send(topic, "d0", "d1");
            // d0 is never acked: attempts 1 and 2, then the dead-letter queue.
            long deadline = System.currentTimeMillis() + 120_000;
            while (System.currentTimeMillis() < deadline && total(deliveries) < 3) {
                for (MessageView m : consumer.receive(16, INVISIBLE)) {
                    deliveries.merge(body(m) + "#" + m.getDeliveryAttempt(), 1, Integer::sum);
                    if (body(m).equals("d1")) {
                        consumer.ack(m);
                    }
                }
            }
            // Long enough for a third delivery, which must not happen.
            long quiet = System.currentTimeMillis() + 20_000;
            while (System.currentTimeMillis() < quiet) {
                for (MessageView m : consumer.receive(16, INVISIBLE)) {
                    deliveries.merge(body(m) + "#" + m.getDeliveryAttempt(), 1, Integer::sum);
                }
            }
        }
        expect("dlq deliveries", new TreeMap<>(Map.of("d0#1", 1, "d0#2", 1, "d1#1", 1)), deliveries);
        // The dead letter is readable from %DLQ%group by another group.
        TreeMap<String, Integer> dead = new TreeMap<>();
        String dlq = "%DLQ%" + group;
        long deadline = System.currentTimeMillis() + 60_000;
        SimpleConsumer reader = null;
        while (reader == null && System.currentTimeMillis() < deadline) {
            try {
                reader = simpleConsumer(topic + "-reader", dlq);
            } catch (Exception notYet) {
                Thread.sleep(1000);
            }
        }
        if (reader == null) {
            FACTS.add("Receive dlq no route for the dead-letter topic");
            fail("dlq: no route for " + dlq);
            return;
        }
        try (SimpleConsumer r = reader) {
            while (System.currentTimeMillis() < deadline && dead.isEmpty()) {
                for (MessageView m : r.receive(16, INVISIBLE)) {
                    dead.merge(body(m), 1, Integer::sum);
                    r.ack(m);
                }
            }
        }
        expect("dlq dead letters", new TreeMap<>(Map.of("d0", 1)), dead);
    }

    static void filter() throws Exception {
        String topic = topic("filter");
        String sqlExpression = "a BETWEEN 1 AND 3";
        String tagExpression = "t1 || t2";
        try (SimpleConsumer sql = simpleConsumer(topic + "-sql", topic, new FilterExpression(sqlExpression, FilterExpressionType.SQL92));
             SimpleConsumer tags = simpleConsumer(topic + "-tags", topic, new FilterExpression(tagExpression, FilterExpressionType.TAG))) {
            try (Producer producer = PROVIDER.newProducerBuilder().setClientConfiguration(config()).setTopics(topic).build()) {
                for (int i = 0; i < 6; i++) {
                    producer.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("t" + i % 3)
                        .addProperty("a", String.valueOf(i)).setBody(("f" + i).getBytes(StandardCharsets.UTF_8)).build());
                }
                // Neither has a numeric `a`: no SQL92 match, tag t1 matches.
                producer.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("t1")
                    .setBody("f-none".getBytes(StandardCharsets.UTF_8)).build());
                producer.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("t0").addProperty("a", "two")
                    .setBody("f-text".getBytes(StandardCharsets.UTF_8)).build());
            }
            expect("filter sql92 " + sqlExpression, new TreeMap<>(Map.of("f1#1", 1, "f2#1", 1, "f3#1", 1)), drain(sql, 3));
            expect("filter tags " + tagExpression,
                new TreeMap<>(Map.of("f1#1", 1, "f2#1", 1, "f4#1", 1, "f5#1", 1, "f-none#1", 1)), drain(tags, 5));
        }
    }

    /**
     * Receives and acks until `count` deliveries came (or a minute passed), then keeps
     * receiving for a few seconds so an extra or duplicate delivery shows; body#attempt counts.
     */
    static TreeMap<String, Integer> drain(SimpleConsumer consumer, int count) throws Exception {
        TreeMap<String, Integer> deliveries = new TreeMap<>();
        long deadline = System.currentTimeMillis() + 60_000;
        long quietUntil = Long.MAX_VALUE;
        while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
            for (MessageView m : consumer.receive(16, INVISIBLE)) {
                deliveries.merge(body(m) + "#" + m.getDeliveryAttempt(), 1, Integer::sum);
                consumer.ack(m);
            }
            if (total(deliveries) >= count && quietUntil == Long.MAX_VALUE) {
                quietUntil = System.currentTimeMillis() + 4_000;
            }
        }
        return deliveries;
    }

    static void push() throws Exception {
        String topic = topic("push");
        String group = topic + "-group";
        Map<String, Integer> deliveries = new ConcurrentHashMap<>();
        TreeMap<String, Integer> expected = new TreeMap<>();
        String[] bodies = new String[20];
        for (int i = 0; i < bodies.length; i++) {
            bodies[i] = "p" + i;
            expected.put(bodies[i] + "#1", 1);
        }
        try (PushConsumer consumer = PROVIDER.newPushConsumerBuilder()
                 .setClientConfiguration(config())
                 .setConsumerGroup(group)
                 .setSubscriptionExpressions(Map.of(topic, FilterExpression.SUB_ALL))
                 .setMessageListener(m -> {
                     deliveries.merge(body(m) + "#" + m.getDeliveryAttempt(), 1, Integer::sum);
                     return ConsumeResult.SUCCESS;
                 })
                 .build()) {
            send(topic, bodies);
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline && total(deliveries) < bodies.length) {
                Thread.sleep(200);
            }
            Thread.sleep(5_000);
        }
        expect("push deliveries", expected, new TreeMap<>(deliveries));
    }

    static void pushRetry() throws Exception {
        String topic = topic("pushretry");
        String group = topic + "-group";
        Map<String, Integer> deliveries = new ConcurrentHashMap<>();
        try (PushConsumer consumer = PROVIDER.newPushConsumerBuilder()
                 .setClientConfiguration(config())
                 .setConsumerGroup(group)
                 .setSubscriptionExpressions(Map.of(topic, FilterExpression.SUB_ALL))
                 .setMessageListener(m -> {
                     deliveries.merge(body(m) + "#" + m.getDeliveryAttempt(), 1, Integer::sum);
                     boolean fail = body(m).equals("r0") && m.getDeliveryAttempt() == 1;
                     return fail ? ConsumeResult.FAILURE : ConsumeResult.SUCCESS;
                 })
                 .build()) {
            send(topic, "r0", "r1", "r2");
            long deadline = System.currentTimeMillis() + 90_000;
            while (System.currentTimeMillis() < deadline && total(deliveries) < 4) {
                Thread.sleep(200);
            }
            Thread.sleep(5_000);
        }
        expect("push-retry deliveries", new TreeMap<>(Map.of("r0#1", 1, "r0#2", 1, "r1#1", 1, "r2#1", 1)),
            new TreeMap<>(deliveries));
    }

    static void fifo() throws Exception {
        String topic = prefix + "Recvfifo";
        mqadmin("updateTopic", "-c", "DefaultCluster", "-t", topic, "-r", "4", "-w", "4", "-a", "+message.type=FIFO");
        String group = topic + "-group";
        apacheAdmin("updateSubGroup", "-c", "DefaultCluster", "-g", group, "-o", "true");
        Thread.sleep(2000);
        Map<String, List<String>> sent = new TreeMap<>();
        try (Producer producer = PROVIDER.newProducerBuilder().setClientConfiguration(config()).setTopics(topic).build()) {
            for (int i = 0; i < 8; i++) {
                for (int g = 0; g < 3; g++) {
                    String body = "g" + g + "-" + i;
                    producer.send(PROVIDER.newMessageBuilder().setTopic(topic).setMessageGroup("g" + g)
                        .setBody(body.getBytes(StandardCharsets.UTF_8)).build());
                    sent.computeIfAbsent("g" + g, k -> new ArrayList<>()).add(body);
                }
            }
        }
        // Each consumer records a message, then acks it a little later: a message group's next
        // message must not reach the other consumer before that ack.
        List<String[]> seen = Collections.synchronizedList(new ArrayList<>());
        List<Thread> consumers = new ArrayList<>();
        List<Exception> errors = Collections.synchronizedList(new ArrayList<>());
        for (int c = 0; c < 2; c++) {
            Thread t = new Thread(() -> {
                try (SimpleConsumer consumer = simpleConsumer(group, topic)) {
                    long deadline = System.currentTimeMillis() + 90_000;
                    while (seen.size() < 24 && System.currentTimeMillis() < deadline) {
                        for (MessageView m : consumer.receive(4, Duration.ofSeconds(10))) {
                            seen.add(new String[] {m.getMessageGroup().orElse(""), body(m), "" + m.getDeliveryAttempt()});
                            Thread.sleep(50);
                            consumer.ack(m);
                        }
                    }
                } catch (Exception e) {
                    errors.add(e);
                }
            });
            t.start();
            consumers.add(t);
        }
        for (Thread t : consumers) {
            t.join();
        }
        errors.forEach(e -> fail("fifo: consumer failed: " + e));
        TreeMap<String, Integer> deliveries = new TreeMap<>();
        Map<String, List<String>> received = new TreeMap<>();
        synchronized (seen) {
            for (String[] s : seen) {
                deliveries.merge(s[1] + "#" + s[2], 1, Integer::sum);
                received.computeIfAbsent(s[0], k -> new ArrayList<>()).add(s[1]);
            }
        }
        TreeMap<String, Integer> expected = new TreeMap<>();
        sent.values().forEach(bodies -> bodies.forEach(b -> expected.put(b + "#1", 1)));
        expect("fifo deliveries", expected, deliveries);
        for (Map.Entry<String, List<String>> e : sent.entrySet()) {
            boolean inOrder = e.getValue().equals(received.get(e.getKey()));
            FACTS.add("Receive fifo group " + e.getKey() + " in send order " + inOrder);
            if (!inOrder) {
                fail("fifo: group " + e.getKey() + " received " + received.get(e.getKey()) + ", sent " + e.getValue());
            }
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
