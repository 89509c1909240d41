package rmq.interop.grpc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.Transaction;
import org.apache.rocketmq.client.apis.producer.TransactionResolution;

/**
 * The producing half of the gRPC scenarios, with the official Java 5 client through a proxy
 * (rmq's mqproxy or Apache's rocketmq-proxy): normal, FIFO (three message groups, interleaved),
 * delayed (delivery timestamp 10 s ahead), a message of the wrong type for its topic, and
 * transactions (commit, rollback, one left open that the broker checks back and the checker
 * commits, and one left open by a producer that then shut down, checked back with the next
 * producer of the topic, which commits it). What happened is written to OUT, one line per fact,
 * sorted, so run.sh can compare the two stacks; the delivery timestamps go to OUT.delay for
 * StackAdmin's check.
 *
 * Usage: java -cp CLIENT_CP rmq.interop.grpc.ProduceScenarios PROXY TOPIC_PREFIX OUT
 */
public final class ProduceScenarios {
    /** How far ahead delayed messages are due. */
    static final long DELAY_MS = 10_000;

    public static void main(String[] args) throws Exception {
        String endpoint = args[0];
        String prefix = args[1];
        Path out = Path.of(args[2]);
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        ClientConfiguration config = ClientConfiguration.newBuilder()
            .setEndpoints(endpoint)
            .setRequestTimeout(Duration.ofSeconds(10))
            .enableSsl(Boolean.parseBoolean(System.getProperty("grpc.tls", "true")))
            .build();
        List<String> facts = new ArrayList<>();
        List<String> delays = new ArrayList<>();
        long began = System.currentTimeMillis();
        String normal = prefix + "Normal";
        String fifo = prefix + "Fifo";
        String delay = prefix + "Delay";
        String tx = prefix + "Tx";
        try (Producer producer = provider.newProducerBuilder()
            .setClientConfiguration(config)
            .setTopics(normal, fifo, delay)
            .build()) {
            int ok = 0;
            for (int i = 0; i < 10; i++) {
                ok += sent(producer, provider.newMessageBuilder().setTopic(normal).setTag("t")
                    .setKeys("k-" + i).addProperty("p", "v" + i)
                    .setBody(("n" + i).getBytes(StandardCharsets.UTF_8)).build(), facts);
            }
            facts.add("normal sent " + ok);
            ok = 0;
            for (int i = 0; i < 10; i++) {
                for (int g = 0; g < 3; g++) {
                    ok += sent(producer, provider.newMessageBuilder().setTopic(fifo).setMessageGroup("g" + g)
                        .setBody(("g" + g + "-" + i).getBytes(StandardCharsets.UTF_8)).build(), facts);
                }
            }
            facts.add("fifo sent " + ok);
            ok = 0;
            for (int i = 0; i < 3; i++) {
                long due = System.currentTimeMillis() + DELAY_MS;
                ok += sent(producer, provider.newMessageBuilder().setTopic(delay).setDeliveryTimestamp(due)
                    .setBody(("d" + i).getBytes(StandardCharsets.UTF_8)).build(), facts);
                delays.add("d" + i + " " + due);
            }
            facts.add("delay sent " + ok);
            // A plain message to the FIFO topic and a grouped one to the normal topic.
            refused(producer, provider.newMessageBuilder().setTopic(fifo)
                .setBody("plain-to-fifo".getBytes(StandardCharsets.UTF_8)).build(), "plain-to-fifo", facts);
            refused(producer, provider.newMessageBuilder().setTopic(normal).setMessageGroup("g")
                .setBody("fifo-to-normal".getBytes(StandardCharsets.UTF_8)).build(), "fifo-to-normal", facts);
        }
        System.err.println("normal, FIFO, delayed and refused sends: " + (System.currentTimeMillis() - began) + " ms");
        began = System.currentTimeMillis();
        // A producer that "crashes" with a half message: it begins a transaction, sends, and
        // shuts down without ending it. The broker must check it back with the next producer of
        // the topic (started below), whose COMMIT stores it once.
        Set<String> checkedByFirst = ConcurrentHashMap.newKeySet();
        try (Producer first = provider.newProducerBuilder()
            .setClientConfiguration(config)
            .setTopics(tx)
            .setTransactionChecker(view -> {
                checkedByFirst.add(StandardCharsets.UTF_8.decode(view.getBody()).toString());
                return TransactionResolution.UNKNOWN;
            })
            .build()) {
            first.send(provider.newMessageBuilder().setTopic(tx)
                .setBody("tx-restart".getBytes(StandardCharsets.UTF_8)).build(), first.beginTransaction());
        }
        Set<String> checked = ConcurrentHashMap.newKeySet();
        try (Producer producer = provider.newProducerBuilder()
            .setClientConfiguration(config)
            .setTopics(tx)
            .setTransactionChecker(view -> {
                String body = StandardCharsets.UTF_8.decode(view.getBody()).toString();
                checked.add(body);
                return body.equals("tx-open") || body.equals("tx-restart") ? TransactionResolution.COMMIT
                    : TransactionResolution.ROLLBACK;
            })
            .build()) {
            for (String outcome : List.of("commit", "rollback", "open")) {
                Transaction t = producer.beginTransaction();
                producer.send(provider.newMessageBuilder().setTopic(tx)
                    .setBody(("tx-" + outcome).getBytes(StandardCharsets.UTF_8)).build(), t);
                if (outcome.equals("commit")) {
                    t.commit();
                } else if (outcome.equals("rollback")) {
                    t.rollback();
                }
            }
            facts.add("transaction sent 3");
            long deadline = System.currentTimeMillis() + 60_000;
            while (!checked.containsAll(List.of("tx-open", "tx-restart")) && System.currentTimeMillis() < deadline) {
                Thread.sleep(200);
            }
            // The open ones must be checked back. Ended ones may be too (Apache's broker checks a
            // half message whose end it has not matched yet), so only the open ones are facts.
            facts.add("transaction open one checked back " + checked.contains("tx-open"));
            facts.add("transaction left open by a closed producer checked back by the next one "
                + checked.contains("tx-restart"));
            System.err.println("checked back: " + new java.util.TreeSet<>(checked) + " after "
                + (System.currentTimeMillis() - began) + " ms");
        }
        facts.add("transaction left open checked back by its closed producer " + checkedByFirst.contains("tx-restart"));
        Collections.sort(facts);
        Files.write(out, facts, StandardCharsets.UTF_8);
        Files.write(Path.of(args[2] + ".delay"), delays, StandardCharsets.UTF_8);
        facts.forEach(System.out::println);
    }

    static int sent(Producer producer, Message message, List<String> facts) {
        try {
            producer.send(message);
            return 1;
        } catch (Exception e) {
            facts.add("send failed " + describe(e));
            return 0;
        }
    }

    static void refused(Producer producer, Message message, String what, List<String> facts) throws IOException {
        try {
            producer.send(message);
            facts.add(what + " accepted");
        } catch (Exception e) {
            // The topic names carry the run's prefix: left out, so both stacks' lines compare.
            facts.add(what + " refused " + describe(e).replace(message.getTopic(), "<topic>"));
        }
    }

    /** The exception's class and text without the per-request id, which differs per run. */
    static String describe(Throwable e) {
        String text = String.valueOf(e.getMessage()).replaceAll("request-id=[^,\\]]*,? ?", "");
        return e.getClass().getSimpleName() + ": " + text;
    }
}
