package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import rmq.interop.harness.Await;
import rmq.interop.harness.ChaosBrokerStack;
import rmq.interop.harness.ChaosBrokerStack.Target;
import rmq.interop.harness.ChaosProcess;
import rmq.interop.harness.Locations;
import rmq.interop.support.QueueReader;

/**
 * One broker under chaos with the official 4.9.7 clients: several producers send synchronously
 * without pause while a push consumer (CLUSTERING) consumes, and every cycle the broker (its own
 * OS process, {@code flushDiskType=SYNC_FLUSH}) is killed with {@code kill -9} and restarted on
 * the same store and ports, frozen with {@code SIGSTOP} for a few seconds, or stopped with
 * {@code SIGTERM} and restarted, in rotation. At the end no acknowledged message may be missing,
 * neither from the consumer's deliveries nor from the store read back with a pull consumer;
 * duplicates, reorderings, failed sends and outage times are reported
 * ({@code target/broker-chaos-<target>.txt}).
 *
 * <p>Not part of the default suite (the class name does not match Surefire's includes); run it
 * alone: {@code mvn -B -ntp test -Dtest=BrokerChaos -Dtarget=rmq|apache [-Dcycles=20]
 * [-DbudgetSeconds=S]} (a budget runs cycles until it is spent, whatever {@code cycles} says).
 * Knobs: {@code producers} (3), {@code rate} (sends per second per producer, 100), {@code queues}
 * (8), {@code intervalMs} (steady sending before each fault, 1500), {@code restartDelayMs} (after
 * a kill, 300), {@code freezeMs} (3000), {@code drainSeconds} (90), {@code recoverSeconds} (60,
 * the longest a cycle may wait for a SEND_OK from every producer after the fault). The rmq target
 * needs {@code mqnamesrv} and {@code mqbroker} ({@code RMQ_NAMESRV_BIN}, {@code RMQ_BROKER_BIN});
 * missing binaries fail under {@code CI=true} and skip otherwise.
 *
 * <p>Outage = time from the fault to the first SEND_OK of a send issued after it (any producer);
 * for SIGTERM the fault counts from the moment the process has exited (a broker keeps serving
 * while it shuts down). The longest time without any SEND_OK in a cycle is reported too.
 * Only a message's first delivery counts for reorderings (a message of a producer delivered after
 * a later message of the same producer from the same queue); redeliveries count as duplicates.
 * The consumer has one consume thread, so delivery order is queue order. Consumer outage = from
 * the broker going down to the first delivery of a message sent after it: the 4.9.7 client fails
 * its pending pulls at once only when the connection breaks with an error; when the server's end
 * closes it cleanly, a pull in flight waits out its 30 s timeout (seen with both servers).
 */
class BrokerChaos {
    private static final String TOPIC = "BrokerChaosTopic";
    private static final long T0 = System.nanoTime();

    /** What a cycle does to the broker. */
    enum Fault {
        KILL, FREEZE, TERM;

        static Fault forCycle(int i) {
            return values()[i % values().length];
        }
    }

    /**
     * One fault as injected: when the signal was delivered, when the broker stopped serving (the
     * same moment, except for SIGTERM: when the process had exited), and when it was back
     * (restart booted or SIGCONT sent; -1 if never).
     */
    record Cycle(int index, Fault fault, long atMs, long downAtMs, long backAtMs) {
    }

    /** The knobs of one run (system properties, defaults in the class comment). */
    record Settings(int cycles, long budgetSeconds, int producers, int rate, int queues, long intervalMs,
                    long restartDelayMs, long freezeMs, long drainSeconds, long recoverSeconds) {
        static Settings fromSystemProperties() {
            return new Settings(Integer.getInteger("cycles", 20), Long.getLong("budgetSeconds", 0L),
                    Integer.getInteger("producers", 3), Integer.getInteger("rate", 100), Integer.getInteger("queues", 8),
                    Long.getLong("intervalMs", 1500L), Long.getLong("restartDelayMs", 300L), Long.getLong("freezeMs", 3000L),
                    Long.getLong("drainSeconds", 90L), Long.getLong("recoverSeconds", 60L));
        }
    }

    /** Acknowledged messages not delivered yet when the producers stopped, and how long they took to arrive. */
    record Drain(long lagAtStop, long drainMs) {
    }

    /** Milliseconds since the class loaded, monotonic. */
    static long now() {
        return (System.nanoTime() - T0) / 1_000_000L;
    }

    @Test
    void chaos() throws Exception {
        Target target = Target.parse(System.getProperty("target", "rmq"));
        Settings s = Settings.fromSystemProperties();
        Path namesrvBin = Locations.namesrvBinary();
        Path brokerBin = Locations.brokerBinary();
        if (target == Target.RMQ && !(Files.isExecutable(namesrvBin) && Files.isExecutable(brokerBin))) {
            String msg = "rmq target: binaries missing (" + namesrvBin + ", " + brokerBin
                    + "); cargo build -p rmq-namesrv -p rmq-broker, or set RMQ_NAMESRV_BIN / RMQ_BROKER_BIN";
            if (Locations.isCi()) {
                fail(msg);
            }
            Assumptions.abort(msg);
        }
        Path buildDir = Paths.get("target").toAbsolutePath();
        Path root = buildDir.resolve("broker-chaos-run").resolve(target.label() + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Path reportFile = buildDir.resolve("broker-chaos-" + target.label() + ".txt");
        log("target=%s %s root=%s", target.label(), s, root);

        ChaosLedger ledger = new ChaosLedger();
        List<Cycle> cycles = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        long started = now();
        ChaosBrokerStack stack = ChaosBrokerStack.start(target, root, namesrvBin, brokerBin, Map.of());
        boolean clean = false;
        try {
            log("up: namesrv %s, broker %s (pid %d)", stack.namesrvAddr(), stack.brokerAddr(), stack.broker().pid());
            createTopic(stack, s.queues());
            Run run = new Run(stack, s, ledger, cycles, problems);
            run.go();
            ChaosSummary summary = ChaosSummary.of(target, s, stack, ledger, cycles, run.attempted(), run.drain(),
                    QueueReader.readAll(stack.namesrvAddr(), TOPIC, "broker_chaos_reader"), now() - started, problems);
            Files.createDirectories(buildDir);
            Files.writeString(reportFile, summary.render(), StandardCharsets.UTF_8);
            System.out.println(summary.render());
            log("summary written to %s", reportFile);
            clean = problems.isEmpty();
        } catch (Exception | Error e) {
            Files.createDirectories(buildDir);
            Files.writeString(reportFile, "# BrokerChaos ABORTED\ntarget = " + target.label() + "\nerror = " + e
                    + "\nroot = " + root + "\ncyclesDone = " + cycles.size() + "\nsendOk = " + ledger.ackCount()
                    + "\nproblems = " + problems + "\n" + stack.broker().describeTail() + "\n", StandardCharsets.UTF_8);
            throw e;
        } finally {
            stack.close();
            if (clean) {
                stack.deleteStore();
            }
        }
        assertTrue(problems.isEmpty(), "broker chaos found problems: " + problems + " (report " + reportFile
                + ", broker log " + stack.broker().logFile() + ")");
    }

    /** Creates the topic on the broker and waits for its route in the name server. */
    private static void createTopic(ChaosBrokerStack stack, int queues) throws Exception {
        DefaultMQAdminExt admin = new DefaultMQAdminExt(5000);
        admin.setNamesrvAddr(stack.namesrvAddr());
        admin.setInstanceName("broker-chaos-admin-" + ProcessHandle.current().pid());
        admin.start();
        try {
            admin.createAndUpdateTopicConfig(stack.brokerAddr(), new TopicConfig(TOPIC, queues, queues, 6));
            Await.require(Duration.ofSeconds(30), "route of " + TOPIC + " with " + queues + " queues", () -> {
                try {
                    TopicRouteData r = admin.examineTopicRouteInfo(TOPIC);
                    return !r.getQueueDatas().isEmpty() && r.getQueueDatas().get(0).getWriteQueueNums() == queues;
                } catch (Exception e) {
                    return false;
                }
            });
        } finally {
            admin.shutdown();
        }
    }

    /** The producers, the consumer and the fault loop of one run. */
    private static final class Run {
        private final ChaosBrokerStack stack;
        private final Settings s;
        private final ChaosLedger ledger;
        private final List<Cycle> cycles;
        private final List<String> problems;
        private final AtomicLong attempted = new AtomicLong();
        /** Per producer: when the send of its latest SEND_OK was issued. */
        private final AtomicLongArray lastOkSentAt;
        private volatile boolean sending = true;
        private long drainMs;
        private long lagAtStop;

        Run(ChaosBrokerStack stack, Settings s, ChaosLedger ledger, List<Cycle> cycles, List<String> problems) {
            this.stack = stack;
            this.s = s;
            this.ledger = ledger;
            this.cycles = cycles;
            this.problems = problems;
            this.lastOkSentAt = new AtomicLongArray(s.producers());
            for (int p = 0; p < s.producers(); p++) {
                lastOkSentAt.set(p, -1);
            }
        }

        long attempted() {
            return attempted.get();
        }

        /** The consumer's catching up once the producers stopped. */
        Drain drain() {
            return new Drain(lagAtStop, drainMs);
        }

        void go() throws Exception {
            DefaultMQPushConsumer consumer = startConsumer();
            List<DefaultMQProducer> producers = new ArrayList<>();
            List<Thread> senders = new ArrayList<>();
            try {
                for (int p = 0; p < s.producers(); p++) {
                    DefaultMQProducer producer = new DefaultMQProducer("broker_chaos_producer");
                    producer.setNamesrvAddr(stack.namesrvAddr());
                    producer.setInstanceName("broker-chaos-producer-" + p + "-" + ProcessHandle.current().pid());
                    producer.setPollNameServerInterval(200);
                    producer.start();
                    producers.add(producer);
                    int index = p;
                    Thread t = new Thread(() -> send(producer, index), "chaos-sender-" + p);
                    t.start();
                    senders.add(t);
                }
                faults();
            } finally {
                sending = false;
                lagAtStop = ledger.ackedNotDelivered();
                log("producers stopping: %d acknowledged, %d of them not delivered yet", ledger.ackCount(), lagAtStop);
                for (Thread t : senders) {
                    t.join(30_000);
                }
                producers.forEach(DefaultMQProducer::shutdown);
            }
            try {
                long t = now();
                boolean drained = Await.until(Duration.ofSeconds(s.drainSeconds()), () -> ledger.ackedNotDelivered() == 0);
                drainMs = now() - t;
                log("drain %s after %d ms: %d acknowledged, %d not delivered yet", drained ? "done" : "TIMED OUT", drainMs,
                        ledger.ackCount(), ledger.ackedNotDelivered());
            } finally {
                consumer.shutdown();
            }
        }

        private DefaultMQPushConsumer startConsumer() throws Exception {
            DefaultMQPushConsumer c = new DefaultMQPushConsumer("broker_chaos_consumer");
            c.setNamesrvAddr(stack.namesrvAddr());
            c.setInstanceName("broker-chaos-consumer-" + ProcessHandle.current().pid());
            c.setMessageModel(MessageModel.CLUSTERING);
            c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            // one consume thread: deliveries reach the listener in queue order
            c.setConsumeThreadMin(1);
            c.setConsumeThreadMax(1);
            c.setPollNameServerInterval(200);
            // a restarted broker knows the group again only after a heartbeat (30 s by default)
            c.setHeartbeatBrokerInterval(1000);
            c.subscribe(TOPIC, "*");
            c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                long t = now();
                for (MessageExt m : msgs) {
                    ledger.delivered(m, t);
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            c.start();
            return c;
        }

        /** One producer's loop: sync sends at {@code rate} per second, each message unique. */
        private void send(DefaultMQProducer producer, int index) {
            long periodNs = 1_000_000_000L / Math.max(1, s.rate());
            long next = System.nanoTime();
            String pad = ";" + "x".repeat(64);
            for (long seq = 0; sending; seq++) {
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    sleep(wait / 1_000_000L);
                }
                next = Math.max(next + periodNs, System.nanoTime() - 10 * periodNs);
                String id = ChaosLedger.id(index, seq);
                Message m = new Message(TOPIC, "chaos", id, (id + pad).getBytes(StandardCharsets.UTF_8));
                attempted.incrementAndGet();
                long sent = now();
                try {
                    SendResult r = producer.send(m);
                    if (r.getSendStatus() == SendStatus.SEND_OK) {
                        ledger.ack(new ChaosLedger.Ack(id, index, seq, r.getMessageQueue().getQueueId(), r.getQueueOffset(),
                                sent, now()));
                        lastOkSentAt.accumulateAndGet(index, sent, Math::max);
                    } else {
                        ledger.failure(new ChaosLedger.Failure(index, seq, sent, now(), r.getSendStatus().name()));
                    }
                } catch (Exception e) {
                    ledger.failure(new ChaosLedger.Failure(index, seq, sent, now(), e.getClass().getSimpleName()));
                    sleep(50);
                }
            }
        }

        /** The cycles: wait until every producer had a SEND_OK since the last fault, then the next fault. */
        private void faults() {
            ChaosProcess broker = stack.broker();
            long deadline = s.budgetSeconds() > 0 ? now() + s.budgetSeconds() * 1000L : Long.MAX_VALUE;
            long since = 0;
            for (int i = 0; s.budgetSeconds() > 0 ? now() < deadline : i < s.cycles(); i++) {
                if (!healthy(since)) {
                    problems.add("cycle " + i + ": not every producer had a SEND_OK within " + s.recoverSeconds()
                            + " s after the broker was back from the previous fault " + (cycles.isEmpty() ? "(start)"
                            : cycles.get(cycles.size() - 1)) + "; broker alive=" + broker.isAlive());
                    return;
                }
                sleep(s.intervalMs());
                Fault fault = Fault.forCycle(i);
                // the fault's time: once the signal is delivered
                long at = now();
                long down = at;
                try {
                    switch (fault) {
                        case KILL -> {
                            broker.kill9();
                            at = now();
                            down = at;
                            sleep(s.restartDelayMs());
                            broker.start(Duration.ofSeconds(90));
                        }
                        case FREEZE -> {
                            broker.freeze();
                            at = now();
                            down = at;
                            sleep(s.freezeMs());
                            broker.thaw();
                        }
                        case TERM -> {
                            broker.stop(Duration.ofSeconds(30));
                            down = now();
                            broker.start(Duration.ofSeconds(90));
                        }
                    }
                } catch (Exception e) {
                    problems.add("cycle " + i + " (" + fault + "): the broker did not come back: " + e.getMessage());
                    cycles.add(new Cycle(i, fault, at, down, -1));
                    return;
                }
                since = now();
                cycles.add(new Cycle(i, fault, at, down, since));
                if (i % 10 == 0 || s.cycles() <= 30) {
                    log("cycle %d: %s, back after %d ms (pid %d), %d SEND_OK so far", i, fault, since - at, broker.pid(),
                            ledger.ackCount());
                }
            }
            sleep(s.intervalMs());
            if (!healthy(since)) {
                problems.add("after the last cycle: not every producer had a SEND_OK within " + s.recoverSeconds() + " s");
            }
        }

        private boolean healthy(long since) {
            return Await.until(Duration.ofSeconds(s.recoverSeconds()), () -> {
                for (int p = 0; p < s.producers(); p++) {
                    if (lastOkSentAt.get(p) < since) {
                        return false;
                    }
                }
                return stack.broker().isAlive();
            });
        }
    }

    static void log(String fmt, Object... args) {
        System.out.println(String.format(Locale.ROOT, "[broker-chaos %7.1fs] ", now() / 1000.0)
                + String.format(Locale.ROOT, fmt, args));
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
