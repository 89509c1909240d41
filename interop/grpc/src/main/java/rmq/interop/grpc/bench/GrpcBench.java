package rmq.interop.grpc.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;

/**
 * Load through a RocketMQ 5 gRPC proxy with the official Java client (rocketmq-client-java
 * 5.0.7), for bench/grpc-proxy.sh: THREADS threads send 1 KiB messages synchronously for SECONDS
 * (one shared Producer), then THREADS threads drain the backlog with SimpleConsumers (batch 32,
 * invisible 30 s, each message acked) until every sent message id was acked once. The servers'
 * CPU (utime + stime of every --pids process) is read before and after each phase, their RSS
 * sampled every 250 ms; the summary is one {@code GRPCBENCH key=value ...} line.
 *
 * <pre>java -cp CLIENT_CP rmq.interop.grpc.bench.GrpcBench --endpoint HOST:PORT --topic T
 *     --group G --pids 123,456 [--threads 8] [--seconds 20] [--size 1024] [--clkTck 100] [--label x]</pre>
 */
public class GrpcBench {
    static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new HashMap<>(Map.of("threads", "8", "seconds", "20", "size", "1024",
            "clkTck", "100", "label", "proxy", "pids", ""));
        for (int i = 0; i + 1 < args.length; i += 2) {
            o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String topic = o.get("topic");
        int threads = Integer.parseInt(o.get("threads"));
        long seconds = Long.parseLong(o.get("seconds"));
        double clkTck = Double.parseDouble(o.get("clkTck"));
        List<Integer> pids = new ArrayList<>();
        for (String p : o.get("pids").split(",")) {
            if (!p.isBlank()) {
                pids.add(Integer.parseInt(p.trim()));
            }
        }
        ClientConfiguration config = ClientConfiguration.newBuilder().setEndpoints(o.get("endpoint"))
            .setRequestTimeout(Duration.ofSeconds(10)).enableSsl(false).build();
        RssSampler rss = new RssSampler(pids);
        rss.start();

        // Consumers first: their group's POP offsets start at the (empty) queues' beginning.
        List<SimpleConsumer> consumers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            consumers.add(PROVIDER.newSimpleConsumerBuilder().setClientConfiguration(config)
                .setConsumerGroup(o.get("group"))
                .setSubscriptionExpressions(Map.of(topic, FilterExpression.SUB_ALL))
                .setAwaitDuration(Duration.ofSeconds(2)).build());
        }
        for (MessageView m : consumers.get(0).receive(32, Duration.ofSeconds(30))) {
            throw new IllegalStateException("topic " + topic + " is not empty: " + m.getMessageId());
        }

        // Phase 1: synchronous sends.
        Set<String> sentIds = ConcurrentHashMap.newKeySet();
        AtomicLong sendErrors = new AtomicLong();
        long[][] latencies = new long[threads][];
        int[] counts = new int[threads];
        byte[] body = new byte[Integer.parseInt(o.get("size"))];
        Arrays.fill(body, (byte) 'x');
        long cpu0 = cpu(pids);
        long t0 = System.nanoTime();
        long end = t0 + seconds * 1_000_000_000L;
        try (Producer producer = PROVIDER.newProducerBuilder().setClientConfiguration(config).setTopics(topic).build()) {
            List<Thread> senders = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int idx = t;
                latencies[t] = new long[1 << 16];
                Thread th = new Thread(() -> {
                    while (System.nanoTime() < end) {
                        Message m = PROVIDER.newMessageBuilder().setTopic(topic).setTag("bench").setBody(body).build();
                        long s = System.nanoTime();
                        try {
                            sentIds.add(producer.send(m).getMessageId().toString());
                        } catch (Exception e) {
                            sendErrors.incrementAndGet();
                            continue;
                        }
                        if (counts[idx] == latencies[idx].length) {
                            latencies[idx] = Arrays.copyOf(latencies[idx], counts[idx] * 2);
                        }
                        latencies[idx][counts[idx]++] = System.nanoTime() - s;
                    }
                });
                senders.add(th);
                th.start();
            }
            for (Thread th : senders) {
                th.join();
            }
        }
        double sendSecs = (System.nanoTime() - t0) / 1e9;
        long cpu1 = cpu(pids);
        long[] all = new long[Arrays.stream(counts).sum()];
        int at = 0;
        for (int t = 0; t < threads; t++) {
            System.arraycopy(latencies[t], 0, all, at, counts[t]);
            at += counts[t];
        }
        Arrays.sort(all);
        long sent = sentIds.size();

        // Phase 2: receive + ack the backlog until every sent id was acked (or 20 s without any).
        Map<String, Integer> acked = new ConcurrentHashMap<>();
        AtomicLong ackErrors = new AtomicLong();
        AtomicLong lastProgress = new AtomicLong(System.nanoTime());
        AtomicBoolean done = new AtomicBoolean();
        long cpu2 = cpu(pids);
        long t2 = System.nanoTime();
        List<Thread> receivers = new ArrayList<>();
        for (SimpleConsumer c : consumers) {
            Thread th = new Thread(() -> {
                while (!done.get()) {
                    List<MessageView> batch;
                    try {
                        batch = c.receive(32, Duration.ofSeconds(30));
                    } catch (Exception e) {
                        batch = List.of();
                    }
                    for (MessageView m : batch) {
                        try {
                            c.ack(m);
                            acked.merge(m.getMessageId().toString(), 1, Integer::sum);
                            lastProgress.set(System.nanoTime());
                        } catch (Exception e) {
                            ackErrors.incrementAndGet();
                        }
                    }
                    if (acked.keySet().containsAll(sentIds)
                        || System.nanoTime() - lastProgress.get() > 20_000_000_000L) {
                        done.set(true);
                    }
                }
            });
            receivers.add(th);
            th.start();
        }
        for (Thread th : receivers) {
            th.join();
        }
        double recvSecs = (lastProgress.get() - t2) / 1e9;
        long cpu3 = cpu(pids);
        for (SimpleConsumer c : consumers) {
            c.close();
        }
        rss.finish();
        long ackedOnce = sentIds.stream().filter(acked::containsKey).count();
        long duplicates = acked.values().stream().mapToLong(n -> n - 1).sum();
        long ackedTotal = acked.values().stream().mapToLong(Integer::longValue).sum();
        System.out.printf("GRPCBENCH label=%s threads=%d sent=%d send_errors=%d send_tps=%.0f p50_ms=%.2f p99_ms=%.2f "
                + "cpu_us_per_send=%.0f acked=%d acked_of_sent=%d duplicates=%d ack_errors=%d recv_tps=%.0f "
                + "cpu_us_per_recv=%.0f rss_max_mib=%.0f anon_max_mib=%.0f rss_per_pid_mib=%s%n",
            o.get("label"), threads, sent, sendErrors.get(), sent / sendSecs, pct(all, 0.50), pct(all, 0.99),
            (cpu1 - cpu0) / clkTck * 1e6 / Math.max(1, sent), ackedTotal, ackedOnce, duplicates, ackErrors.get(),
            ackedTotal / Math.max(recvSecs, 1e-3), (cpu3 - cpu2) / clkTck * 1e6 / Math.max(1, ackedTotal),
            rss.maxTotalKib / 1024.0, rss.maxAnonKib / 1024.0, rss.perPid());
        System.exit(ackedOnce == sent && sendErrors.get() == 0 ? 0 : 1);
    }

    static double pct(long[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[(int) Math.min(sorted.length - 1, p * sorted.length)] / 1e6;
    }

    /** utime + stime of the processes in clock ticks (fields 14 and 15 of /proc/PID/stat). */
    static long cpu(List<Integer> pids) throws Exception {
        long sum = 0;
        for (int pid : pids) {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            sum += Long.parseLong(f[11]) + Long.parseLong(f[12]);
        }
        return sum;
    }

    /**
     * Samples the processes' VmRSS and RssAnon every 250 ms: the largest sums, and each one's
     * largest RSS (KiB). RSS also counts the mapped commit-log pages a broker touched (page
     * cache); RssAnon is what the processes hold themselves: heap, stacks, buffers.
     */
    static class RssSampler extends Thread {
        final List<Integer> pids;
        final long[] maxKib;
        volatile long maxTotalKib;
        volatile long maxAnonKib;
        volatile boolean stopped;

        RssSampler(List<Integer> pids) {
            this.pids = pids;
            this.maxKib = new long[pids.size()];
            setDaemon(true);
        }

        @Override
        public void run() {
            while (!stopped) {
                long total = 0;
                long anon = 0;
                for (int i = 0; i < pids.size(); i++) {
                    long kib = status(pids.get(i), "VmRSS:");
                    maxKib[i] = Math.max(maxKib[i], kib);
                    total += kib;
                    anon += status(pids.get(i), "RssAnon:");
                }
                maxTotalKib = Math.max(maxTotalKib, total);
                maxAnonKib = Math.max(maxAnonKib, anon);
                try {
                    Thread.sleep(250);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        void finish() throws InterruptedException {
            stopped = true;
            join();
        }

        String perPid() {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < pids.size(); i++) {
                b.append(i == 0 ? "" : ",").append(pids.get(i)).append(':').append(maxKib[i] / 1024);
            }
            return b.toString();
        }

        static long status(int pid, String key) {
            try {
                for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                    if (l.startsWith(key)) {
                        return Long.parseLong(l.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (Exception e) {
                return 0;
            }
            return 0;
        }
    }
}
