package rmq.interop.bench;

import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Drains a backlog with the stock Java 4.9.7 consumer, so that {@code mqbench consume --drain}
 * (rmq's client) can be compared with it in one run: a new group reads {@code --topic} from the
 * first offset until {@code --expect} messages arrived; the listener only counts. The rate is
 * from the first to the last message, as mqbench's.
 * <ul>
 *   <li>{@code --mode push}: {@code DefaultMQPushConsumer}, one message per listener call,
 *       {@code --threads} consume threads (Java's default 20), pullBatchSize 32 and the default
 *       process-queue limits;</li>
 *   <li>{@code --mode lite}: {@code DefaultLitePullConsumer} with its defaults (pullBatchSize
 *       10, auto-commit), {@code poll} in a loop.</li>
 * </ul>
 * The process does nothing else, so its CPU time (from {@code /usr/bin/time}) over the messages
 * is the client's CPU per consumed message, start-up and JIT included; {@code cpu_seconds} is the
 * process's CPU time from the first to the last message only. The last line is machine-readable:
 * {@code BENCH key=value ...}.
 *
 * <pre>ConsumeBench --namesrv NS --topic T --expect N [--mode push|lite] [--threads 20] [--timeout 120]</pre>
 */
public final class ConsumeBench {
    private ConsumeBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new HashMap<>(Map.of("mode", "push", "threads", "20", "timeout", "120"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String ns = o.get("namesrv");
        String topic = o.get("topic");
        long expect = Long.parseLong(o.get("expect"));
        int threads = Integer.parseInt(o.get("threads"));
        long timeout = Long.parseLong(o.get("timeout"));
        String mode = o.get("mode");
        String group = "java_drain_" + mode + "_" + System.currentTimeMillis();

        AtomicLong consumed = new AtomicLong();
        AtomicLong firstNs = new AtomicLong();
        AtomicLong lastNs = new AtomicLong();
        AtomicLong firstCpuNs = new AtomicLong();
        AtomicLong lastCpuNs = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        Runnable stop;
        if (mode.equals("push")) {
            DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
            consumer.setNamesrvAddr(ns);
            consumer.setInstanceName("drain-push");
            consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            consumer.setConsumeThreadMin(threads);
            consumer.setConsumeThreadMax(threads);
            consumer.setPullBatchSize(32);
            consumer.setConsumeMessageBatchMaxSize(1);
            consumer.subscribe(topic, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                count(msgs.size(), expect, consumed, firstNs, lastNs, firstCpuNs, lastCpuNs, done);
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            done.await(timeout, TimeUnit.SECONDS);
            stop = consumer::shutdown;
        } else if (mode.equals("lite")) {
            DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(group);
            consumer.setNamesrvAddr(ns);
            consumer.setInstanceName("drain-lite");
            consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            consumer.subscribe(topic, "*");
            consumer.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeout);
            while (done.getCount() > 0 && System.nanoTime() < deadline) {
                List<MessageExt> msgs = consumer.poll(200);
                if (!msgs.isEmpty()) {
                    count(msgs.size(), expect, consumed, firstNs, lastNs, firstCpuNs, lastCpuNs, done);
                }
            }
            stop = consumer::shutdown;
        } else {
            throw new IllegalArgumentException("--mode push or lite, not " + mode);
        }
        boolean complete = done.getCount() == 0;
        long end = complete ? lastNs.get() : System.nanoTime();
        double seconds = (end - firstNs.get()) / 1e9;
        // the first `expect` messages were timed; calls running then may add a few more
        double tps = firstNs.get() == 0 ? 0 : Math.min(consumed.get(), expect) / seconds;
        stop.run();
        System.out.printf("java %s consumer: %d/%d msgs in %.2f s = %.0f msg/s%s%n", mode, consumed.get(), expect,
                seconds, tps, complete ? "" : "  INCOMPLETE");
        double cpuSeconds = (complete ? lastCpuNs.get() - firstCpuNs.get() : 0) / 1e9;
        System.out.printf("BENCH mode=%s consumed=%d consume_tps=%.0f seconds=%.3f cpu_seconds=%.3f complete=%s%n", mode,
                consumed.get(), tps, seconds, cpuSeconds, complete);
        System.exit(0);
    }

    private static void count(int n, long expect, AtomicLong consumed, AtomicLong firstNs, AtomicLong lastNs,
                              AtomicLong firstCpuNs, AtomicLong lastCpuNs, CountDownLatch done) {
        long now = System.nanoTime();
        if (firstNs.compareAndSet(0, now)) {
            firstCpuNs.set(cpuNanos());
        }
        if (consumed.addAndGet(n) >= expect && lastNs.compareAndSet(0, now)) {
            lastCpuNs.set(cpuNanos());
            done.countDown();
        }
    }

    /** CPU time of the whole JVM process (all threads, GC and JIT included), ns. */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }
}
