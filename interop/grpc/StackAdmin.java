import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.apache.rocketmq.tools.command.CommandUtil;

/**
 * The remoting half of the gRPC scenarios (Apache's 5.3.3 admin and lite pull consumer, on the
 * servers' classpath): {@code create} makes the scenario topics with their 5.x message types
 * ({@code +message.type}); {@code read} reads every stored message of them from the first
 * offset and writes what a consumer sees, one fact per line, sorted: the multiset of bodies per
 * topic, whether each FIFO group sits in one queue in send order, whether each delayed message
 * became visible no earlier than its delivery timestamp, and which transactions were delivered.
 * Checked on both stacks and compared by run.sh.
 *
 * Usage: java -cp SERVERS_CP StackAdmin.java create NAMESRV PREFIX
 *        java -cp SERVERS_CP StackAdmin.java read NAMESRV PREFIX PRODUCED_FILE OUT
 */
public class StackAdmin {
    public static void main(String[] args) throws Exception {
        String namesrv = args[1];
        String prefix = args[2];
        if (args[0].equals("create")) {
            create(namesrv, prefix);
        } else {
            read(namesrv, prefix, Path.of(args[3] + ".delay"), Path.of(args[4]));
        }
    }

    static void create(String namesrv, String prefix) throws Exception {
        DefaultMQAdminExt admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("grpc-scenarios-admin");
        admin.start();
        try {
            Collection<String> masters = retried("masters", () -> CommandUtil.fetchMasterAddrByClusterName(admin, "DefaultCluster"));
            for (String[] topic : new String[][] {{"Normal", "NORMAL"}, {"Fifo", "FIFO"}, {"Delay", "DELAY"},
                {"Tx", "TRANSACTION"}}) {
                TopicConfig config = new TopicConfig(prefix + topic[0], 4, 4);
                Map<String, String> attributes = new HashMap<>();
                attributes.put("+message.type", topic[1]);
                config.setAttributes(attributes);
                for (String addr : masters) {
                    retried("topic " + config.getTopicName(), () -> {
                        admin.createAndUpdateTopicConfig(addr, config);
                        return null;
                    });
                }
            }
        } finally {
            admin.shutdown();
        }
    }

    static void read(String namesrv, String prefix, Path delays, Path out) throws Exception {
        Map<String, Long> due = new HashMap<>();
        for (String line : Files.readAllLines(delays)) {
            String[] parts = line.split(" ");
            due.put(parts[0], Long.parseLong(parts[1]));
        }
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer("grpc-scenarios-reader");
        consumer.setNamesrvAddr(namesrv);
        consumer.setAutoCommit(false);
        consumer.setPollTimeoutMillis(500);
        consumer.start();
        List<String> facts = new ArrayList<>();
        Map<String, Long> seenAt = new HashMap<>();
        Map<String, List<MessageExt>> byTopic = new TreeMap<>();
        try {
            List<MessageQueue> queues = new ArrayList<>();
            for (String t : List.of("Normal", "Fifo", "Delay", "Tx")) {
                queues.addAll(retried("queues of " + prefix + t, () -> consumer.fetchMessageQueues(prefix + t)));
                byTopic.put(prefix + t, new ArrayList<>());
            }
            consumer.assign(queues);
            for (MessageQueue q : queues) {
                retried("seek " + q, () -> {
                    consumer.seek(q, 0);
                    return null;
                });
            }
            // 10 normal + 30 FIFO + 3 delayed + 3 committed transactions.
            long deadline = System.currentTimeMillis() + 45_000;
            long quietUntil = Long.MAX_VALUE;
            while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
                List<MessageExt> batch = consumer.poll();
                long now = System.currentTimeMillis();
                for (MessageExt m : batch) {
                    byTopic.get(m.getTopic()).add(m);
                    seenAt.putIfAbsent(body(m), now);
                }
                int total = byTopic.values().stream().mapToInt(List::size).sum();
                if (total >= 46 && quietUntil == Long.MAX_VALUE) {
                    quietUntil = now + 3_000;
                }
            }
        } finally {
            consumer.shutdown();
        }
        for (Map.Entry<String, List<MessageExt>> e : byTopic.entrySet()) {
            String topic = e.getKey().substring(prefix.length());
            TreeMap<String, Integer> bodies = new TreeMap<>();
            e.getValue().forEach(m -> bodies.merge(body(m), 1, Integer::sum));
            facts.add(topic + " bodies " + bodies);
        }
        for (MessageExt m : byTopic.get(prefix + "Normal")) {
            facts.add("Normal " + body(m) + " tag=" + m.getTags() + " keys=" + m.getKeys() + " p=" + m.getUserProperty("p"));
        }
        Map<String, List<MessageExt>> groups = new TreeMap<>();
        for (MessageExt m : byTopic.get(prefix + "Fifo")) {
            groups.computeIfAbsent(m.getProperty("__SHARDINGKEY"), g -> new ArrayList<>()).add(m);
        }
        for (Map.Entry<String, List<MessageExt>> g : groups.entrySet()) {
            List<MessageExt> ms = g.getValue();
            long queuesUsed = ms.stream().map(MessageExt::getQueueId).distinct().count();
            ms.sort((a, b) -> Long.compare(a.getQueueOffset(), b.getQueueOffset()));
            boolean inOrder = true;
            for (int i = 0; i < ms.size(); i++) {
                inOrder &= body(ms.get(i)).equals(g.getKey() + "-" + i);
            }
            facts.add("Fifo group " + g.getKey() + ": " + ms.size() + " messages, queues " + queuesUsed
                + (inOrder ? ", in send order" : ", OUT OF ORDER"));
        }
        for (MessageExt m : byTopic.get(prefix + "Delay")) {
            long early = due.get(body(m)) - seenAt.get(body(m));
            facts.add("Delay " + body(m) + (early > 0 ? " visible " + early + " ms EARLY" : " visible after its delivery time")
                + ", TIMER_DELIVER_MS " + (String.valueOf(due.get(body(m))).equals(m.getProperty("TIMER_DELIVER_MS")) ? "kept" : "= " + m.getProperty("TIMER_DELIVER_MS")));
        }
        facts.sort(null);
        Files.write(out, facts, StandardCharsets.UTF_8);
        facts.forEach(System.out::println);
    }

    /** One request of the admin or the reader. */
    interface Step<T> {
        T run() throws Exception;
    }

    /**
     * Runs `step`, again after a failure (five tries, a second apart): on a loaded machine a
     * request to the name server or the broker can pass Apache's client timeout (3 s), and a
     * timed-out request closes the connection, failing the others sent on it ("send request
     * ... failed"). Each step is idempotent.
     */
    static <T> T retried(String what, Step<T> step) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                return step.run();
            } catch (Exception e) {
                if (attempt == 5) {
                    throw e;
                }
                System.err.println(what + " failed, again in 1 s: " + e);
                Thread.sleep(1000);
            }
        }
    }

    static String body(MessageExt m) {
        return new String(m.getBody(), StandardCharsets.UTF_8);
    }
}
