package rmq.interop.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.protocol.RequestCode;
import org.apache.rocketmq.common.protocol.ResponseCode;
import org.apache.rocketmq.common.protocol.header.GetMaxOffsetRequestHeader;
import org.apache.rocketmq.remoting.RemotingClient;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/**
 * A broker benchmark with the stock Java 4.9.7 client, identical for any broker:
 * <ol>
 *   <li>produce: {@code --threads} threads send 1 KiB messages synchronously for {@code --seconds};
 *       TPS, send latency p50/p99/max;</li>
 *   <li>floor (with {@code --floorSeconds} over 0): the same threads send, through the producer's
 *       connection, requests of the same size that every broker answers from memory
 *       (GET_MAX_OFFSET with the message body attached, which the broker ignores): the broker's
 *       CPU per request there is what one request costs its network, frame and header layers
 *       and the kernel, the floor under its CPU per produced message;</li>
 *   <li>consume: a push consumer reads everything produced from the first offset; consume TPS
 *       (first to last message).</li>
 * </ol>
 * With {@code --brokerPid} it also reads the broker's CPU ticks (utime+stime of
 * {@code /proc/PID/stat}) before and after each phase and samples its RSS every 250 ms.
 * The last line is machine-readable: {@code BENCH key=value ...}.
 *
 * <pre>BrokerBench --namesrv NS --broker ADDR [--brokerPid P] [--threads 8] [--seconds 20]
 *            [--size 1024] [--queues 8] [--clkTck 100] [--label name] [--floorSeconds 0]
 *            [--accessKey AK --secretKey SK]</pre>
 * With {@code --accessKey} every client signs its requests ({@code AclClientRPCHook}, ACL 1.0).
 */
public final class BrokerBench {
    private BrokerBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new HashMap<>(Map.of("threads", "8", "seconds", "20", "size", "1024", "queues", "8",
                "clkTck", "100", "label", "broker", "brokerPid", "0", "floorSeconds", "0"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String ns = o.get("namesrv");
        String broker = o.get("broker");
        int threads = Integer.parseInt(o.get("threads"));
        int seconds = Integer.parseInt(o.get("seconds"));
        int size = Integer.parseInt(o.get("size"));
        int queues = Integer.parseInt(o.get("queues"));
        long pid = Long.parseLong(o.get("brokerPid"));
        double clkTck = Double.parseDouble(o.get("clkTck"));
        String label = o.get("label");
        int floorSeconds = Integer.parseInt(o.get("floorSeconds"));
        String topic = "BenchTopic_" + System.currentTimeMillis();

        RPCHook hook = o.containsKey("accessKey")
                ? new AclClientRPCHook(new SessionCredentials(o.get("accessKey"), o.get("secretKey")))
                : null;
        DefaultMQAdminExt admin = new DefaultMQAdminExt(hook, 10_000);
        admin.setNamesrvAddr(ns);
        admin.setInstanceName("bench-admin");
        admin.start();
        admin.createAndUpdateTopicConfig(broker, new TopicConfig(topic, queues, queues, 6));
        long routeDeadline = System.currentTimeMillis() + 30_000;
        while (true) {
            try {
                if (admin.examineTopicRouteInfo(topic).getQueueDatas().get(0).getWriteQueueNums() == queues) {
                    break;
                }
            } catch (Exception e) {
                if (System.currentTimeMillis() > routeDeadline) {
                    throw e;
                }
            }
            Thread.sleep(100);
        }
        admin.shutdown();

        DefaultMQProducer producer = new DefaultMQProducer("bench_pg", hook);
        producer.setNamesrvAddr(ns);
        producer.setInstanceName("bench-producer");
        producer.setSendMsgTimeout(10_000);
        producer.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
        producer.start();
        byte[] body = new byte[size];
        Arrays.fill(body, (byte) 'x');

        // warm-up (JIT, connections, the broker's page cache), 3 s, not measured but consumed later
        AtomicLong warm = new AtomicLong();
        Op send = () -> {
            SendResult r = producer.send(new Message(topic, "bench", body));
            return r.getSendStatus() == SendStatus.SEND_OK ? null : "status " + r.getSendStatus();
        };
        runOps(send, threads, 3, warm, new AtomicLong(), null);

        RssSampler rss = new RssSampler(pid);
        rss.start();
        long cpu0 = ticks(pid);
        AtomicLong sent = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long[][] lat = new long[threads][];
        long t0 = System.nanoTime();
        runOps(send, threads, seconds, sent, failed, lat);
        long produceNanos = System.nanoTime() - t0;
        long cpu1 = ticks(pid);

        AtomicLong floorOk = new AtomicLong();
        boolean floorMeasured = false;
        double floorTps = 0;
        double usPerFloor = 0;
        if (floorSeconds > 0) {
            RemotingClient rc = producer.getDefaultMQProducerImpl().getmQClientFactory().getMQClientAPIImpl()
                    .getRemotingClient();
            Op floor = () -> {
                GetMaxOffsetRequestHeader h = new GetMaxOffsetRequestHeader();
                h.setTopic(topic);
                h.setQueueId(0);
                RemotingCommand req = RemotingCommand.createRequestCommand(RequestCode.GET_MAX_OFFSET, h);
                req.setBody(body);
                RemotingCommand resp = rc.invokeSync(broker, req, 10_000);
                return resp.getCode() == ResponseCode.SUCCESS ? null : "code " + resp.getCode() + ": " + resp.getRemark();
            };
            runOps(floor, threads, 1, new AtomicLong(), new AtomicLong(), null);
            AtomicLong floorFailed = new AtomicLong();
            long f0 = System.nanoTime();
            long fcpu0 = ticks(pid);
            runOps(floor, threads, floorSeconds, floorOk, floorFailed, null);
            long fcpu1 = ticks(pid);
            floorTps = floorOk.get() / ((System.nanoTime() - f0) / 1e9);
            usPerFloor = (fcpu1 - fcpu0) / clkTck * 1e6 / Math.max(1, floorOk.get());
            // A broker that refuses the request has no floor figure (rather than a wrong one).
            floorMeasured = floorFailed.get() == 0;
            if (!floorMeasured) {
                System.err.printf("%s: %d floor requests failed; no floor figure%n", label, floorFailed.get());
            }
        }
        producer.shutdown();

        long total = warm.get() + sent.get();
        long[] all = Arrays.stream(lat).flatMapToLong(Arrays::stream).filter(v -> v > 0).sorted().toArray();
        double produceTps = sent.get() / (produceNanos / 1e9);

        // consume everything from the first offset
        long cpu2 = ticks(pid);
        AtomicLong consumed = new AtomicLong();
        AtomicLong firstNs = new AtomicLong();
        AtomicLong lastNs = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("bench_cg_" + System.currentTimeMillis(), hook,
                new AllocateMessageQueueAveragely());
        consumer.setNamesrvAddr(ns);
        consumer.setInstanceName("bench-consumer");
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setConsumeThreadMin(8);
        consumer.setConsumeThreadMax(8);
        consumer.setPullBatchSize(32);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            long now = System.nanoTime();
            firstNs.compareAndSet(0, now);
            long c = consumed.addAndGet(msgs.size());
            if (c >= total) {
                lastNs.compareAndSet(0, now);
                done.countDown();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        long c0 = System.nanoTime();
        consumer.start();
        boolean all0 = done.await(Math.max(120, seconds * 6L), java.util.concurrent.TimeUnit.SECONDS);
        long cpu3 = ticks(pid);
        long consumeWall = (all0 ? lastNs.get() : System.nanoTime()) - c0;
        long consumeActive = (all0 ? lastNs.get() : System.nanoTime()) - Math.max(firstNs.get(), c0);
        consumer.shutdown();
        rss.stopSampling();

        double consumeTps = consumed.get() / (consumeActive / 1e9);
        double usPerProduced = (cpu1 - cpu0) / clkTck * 1e6 / Math.max(1, sent.get());
        double usPerConsumed = (cpu3 - cpu2) / clkTck * 1e6 / Math.max(1, consumed.get());
        System.out.printf("%s: produce %d msgs (%d failed) in %.1f s = %.0f msg/s; send latency p50 %.2f ms p99 %.2f ms max %.1f ms%n",
                label, sent.get(), failed.get(), produceNanos / 1e9, produceTps, pct(all, 50) / 1e6, pct(all, 99) / 1e6,
                (all.length == 0 ? 0 : all[all.length - 1]) / 1e6);
        System.out.printf("%s: consume %d/%d msgs, %.0f msg/s (first to last; %.1f s incl. start-up)%s%n", label,
                consumed.get(), total, consumeTps, consumeWall / 1e9, all0 ? "" : "  INCOMPLETE");
        if (pid > 0) {
            System.out.printf("%s: broker CPU %.1f µs per produced msg, %.1f µs per consumed msg; RSS max %.0f MiB"
                    + " (anonymous %.0f MiB)%n", label, usPerProduced, usPerConsumed, rss.maxKib / 1024.0,
                    rss.maxAnonKib / 1024.0);
        }
        String floorKeys = "";
        if (floorMeasured) {
            System.out.printf("%s: floor %d requests answered from memory, %.0f req/s, broker CPU %.1f µs per request%n",
                    label, floorOk.get(), floorTps, usPerFloor);
            floorKeys = String.format(" floor_tps=%.0f cpu_us_per_floor=%.1f", floorTps, usPerFloor);
        }
        System.out.printf("BENCH label=%s produced=%d failed=%d produce_tps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.1f "
                        + "consumed=%d consume_tps=%.0f cpu_us_per_produced=%.1f cpu_us_per_consumed=%.1f rss_max_mib=%.0f "
                        + "anon_max_mib=%.0f complete=%s%s%n",
                label, sent.get(), failed.get(), produceTps, pct(all, 50) / 1e6, pct(all, 99) / 1e6,
                (all.length == 0 ? 0 : all[all.length - 1]) / 1e6, consumed.get(), consumeTps, usPerProduced, usPerConsumed,
                rss.maxKib / 1024.0, rss.maxAnonKib / 1024.0, all0, floorKeys);
        System.exit(0);
    }

    /** One synchronous request: null when it succeeded, else what went wrong. */
    interface Op {
        String call() throws Exception;
    }

    /** {@code threads} threads run {@code op} back to back for {@code seconds}; latencies (ns) into {@code lat} if given. */
    static void runOps(Op op, int threads, int seconds, AtomicLong sent, AtomicLong failed, long[][] lat)
            throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        Thread[] ts = new Thread[threads];
        for (int i = 0; i < threads; i++) {
            final int idx = i;
            ts[i] = new Thread(() -> {
                long[] mine = new long[1 << 16];
                int n = 0;
                while (System.nanoTime() < deadline) {
                    long s = System.nanoTime();
                    try {
                        String failure = op.call();
                        if (failure == null) {
                            sent.incrementAndGet();
                        } else if (failed.incrementAndGet() == 1) {
                            System.err.println("first failed request: " + failure);
                        }
                    } catch (Exception e) {
                        if (failed.incrementAndGet() == 1) {
                            System.err.println("first failed request: " + e);
                        }
                        continue;
                    }
                    if (n == mine.length) {
                        mine = Arrays.copyOf(mine, n * 2);
                    }
                    mine[n++] = System.nanoTime() - s;
                }
                if (lat != null) {
                    lat[idx] = Arrays.copyOf(mine, n);
                }
            }, "sender-" + i);
            ts[i].start();
        }
        for (Thread t : ts) {
            t.join();
        }
    }

    static double pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.min(sorted.length - 1, Math.ceil(p / 100.0 * sorted.length) - 1);
        return sorted[Math.max(0, i)];
    }

    /** utime + stime of a process in clock ticks (0 when unknown). */
    static long ticks(long pid) throws IOException {
        if (pid <= 0) {
            return 0;
        }
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        // the command name (field 2) may contain spaces: split after its closing parenthesis
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /**
     * Samples VmRSS and RssAnon of a process every 250 ms and keeps their maxima (KiB). RSS counts
     * the commit-log pages a broker has mapped and touched (page cache, given back under memory
     * pressure); RssAnon is the memory the process itself holds: heap, stacks, buffers.
     */
    static final class RssSampler extends Thread {
        private final long pid;
        private volatile boolean running = true;
        volatile long maxKib;
        volatile long maxAnonKib;

        RssSampler(long pid) {
            super("rss-sampler");
            setDaemon(true);
            this.pid = pid;
        }

        @Override
        public void run() {
            while (running && pid > 0) {
                try {
                    for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                        if (l.startsWith("VmRSS:")) {
                            maxKib = Math.max(maxKib, Long.parseLong(l.replaceAll("[^0-9]", "")));
                        } else if (l.startsWith("RssAnon:")) {
                            maxAnonKib = Math.max(maxAnonKib, Long.parseLong(l.replaceAll("[^0-9]", "")));
                        }
                    }
                    Thread.sleep(250);
                } catch (Exception e) {
                    return;
                }
            }
        }

        void stopSampling() {
            running = false;
        }
    }
}
