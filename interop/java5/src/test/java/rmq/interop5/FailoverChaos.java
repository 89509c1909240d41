package rmq.interop5;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.body.BrokerReplicasInfo;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import rmq.interop.harness.ChaosProcess;
import rmq.interop.harness.Locations;
import rmq.interop.harness.Await;
import rmq.interop.harness5.failover.EpochFiles;
import rmq.interop.harness5.failover.FailoverCluster;
import rmq.interop.harness5.failover.FailoverCluster.Target;
import rmq.interop.support.ChaosFigures;
import rmq.interop.support.QueueReader;

/**
 * Automatic failover under chaos: a controller-mode group of three brokers keeps taking sync
 * sends while its master is killed ({@code kill -9}) or frozen ({@code SIGSTOP} for a while),
 * sometimes together with the controllers' Raft leader; afterwards no acknowledged message may be
 * missing, every queue must read back gap-free, and the replicas' epoch files must tell one history.
 *
 * <p>Not part of the default suite (the class name does not match Surefire's includes); run it
 * alone with {@code mvn -B -ntp test -Dtest=FailoverChaos -Dtarget=apache|rmq [-Dcycles=10]}.
 * Other knobs: {@code intervalMs} (steady sending between faults, 10000), {@code restartDelayMs}
 * (3000), {@code freezeMs} (15000), {@code rate} (sends per second, 300), {@code settleSeconds}
 * (60, wait for all three replicas back in sync at the end) and {@code requireFullResync}
 * (false: a replica left outside the sync state set is reported, not failed). The summary goes
 * to {@code target/failover-<target>.txt}. The rmq target needs {@code mqcontroller},
 * {@code mqnamesrv} and {@code mqbroker} ({@code RMQ_CONTROLLER_BIN}, {@code RMQ_NAMESRV_BIN},
 * {@code RMQ_BROKER_BIN}, default {@code target/debug/}); it is skipped while the tree has no
 * {@code rmq-controller} crate, and a missing binary fails it under {@code CI=true}.
 *
 * <p>Two times per fault: until the first SEND_OK stored by another broker (what the client
 * sees; one sync sender, so a send blocked on a frozen master adds up to its 3 s timeout) and
 * until the controllers are first seen naming the new master (polled every 300 ms).
 */
class FailoverChaos {
    private static final String TOPIC = "FailoverChaosTopic";
    private static final int QUEUES = 4;

    /** What a cycle does to the master (and maybe the controller leader). */
    enum Fault {
        KILL, FREEZE, KILL_WITH_CONTROLLER_LEADER;

        /** The fixed rotation: kill, freeze, kill with the controller leader, kill, freeze. */
        static Fault forCycle(int i) {
            return switch (i % 5) {
                case 1, 4 -> FREEZE;
                case 2 -> KILL_WITH_CONTROLLER_LEADER;
                default -> KILL;
            };
        }
    }

    /** One SEND_OK: the position the broker acknowledged and which broker stored it. */
    record Ack(long seq, String msgId, int queueId, long queueOffset, String storeHost, long sentAtMs, long ackAtMs) {
    }

    /** One fault as injected. */
    record Cycle(int index, Fault fault, String master, int epoch, String controllerLeader, int inSync, long atMs) {
    }

    private static final long T0 = System.nanoTime();

    /** Milliseconds since the class loaded, monotonic. */
    private static long now() {
        return (System.nanoTime() - T0) / 1_000_000L;
    }

    @Test
    void chaos() throws Exception {
        Target target = Target.parse(System.getProperty("target", "apache"));
        int cycles = Integer.getInteger("cycles", 10);
        long intervalMs = Long.getLong("intervalMs", 10_000L);
        long restartDelayMs = Long.getLong("restartDelayMs", 3_000L);
        long freezeMs = Long.getLong("freezeMs", 15_000L);
        int rate = Integer.getInteger("rate", 300);
        FailoverCluster.Binaries bins = target.needsRmq() ? rmqBinaries() : null;

        Path buildDir = Paths.get("target").toAbsolutePath();
        Path root = buildDir.resolve("failover-run").resolve(target.label() + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        log("target=%s cycles=%d root=%s", target.label(), cycles, root);

        List<Ack> acks = Collections.synchronizedList(new ArrayList<>());
        ConcurrentLinkedQueue<String> sendErrors = new ConcurrentLinkedQueue<>();
        Map<String, AtomicLong> notOk = new ConcurrentHashMap<>();
        AtomicLong failedSends = new AtomicLong();
        Map<Integer, String> epochMasters = new ConcurrentHashMap<>();
        Map<Integer, Long> epochFirstSeen = new ConcurrentHashMap<>();
        List<String> epochMasterConflicts = Collections.synchronizedList(new ArrayList<>());
        List<Cycle> done = Collections.synchronizedList(new ArrayList<>());
        List<String> problems = new ArrayList<>();
        Map<String, Object> summary = new LinkedHashMap<>();

        long tBoot = now();
        try (FailoverCluster cluster = FailoverCluster.start(target, root, bins)) {
            runChaos(cluster, target, cycles, intervalMs, restartDelayMs, freezeMs, rate, tBoot, buildDir, acks, sendErrors,
                    notOk, failedSends, epochMasters, epochFirstSeen, epochMasterConflicts, done, problems, summary);
        } catch (Exception | Error e) {
            if (!summary.containsKey("problems")) {
                // the run broke off: leave what happened so far where the summary would be
                StringBuilder sb = new StringBuilder("# FailoverChaos ABORTED\ntarget = ").append(target.label())
                        .append("\nerror = ").append(e).append("\nroot = ").append(root).append('\n');
                done.forEach(c -> sb.append("fault ").append(c).append('\n'));
                sb.append("sendOk = ").append(acks.size()).append("\nsendFailed = ").append(failedSends.get()).append('\n');
                Files.createDirectories(buildDir);
                Files.writeString(buildDir.resolve("failover-" + target.label() + ".txt"), sb.toString(), StandardCharsets.UTF_8);
            }
            throw e;
        }
        assertTrue(problems.isEmpty(), "failover chaos found problems: " + problems);
    }

    @SuppressWarnings("checkstyle:ParameterNumber")
    private static void runChaos(FailoverCluster cluster, Target target, int cycles, long intervalMs, long restartDelayMs,
                                 long freezeMs, int rate, long tBoot, Path buildDir, List<Ack> acks,
                                 ConcurrentLinkedQueue<String> sendErrors, Map<String, AtomicLong> notOk,
                                 AtomicLong failedSends, Map<Integer, String> epochMasters, Map<Integer, Long> epochFirstSeen,
                                 List<String> epochMasterConflicts, List<Cycle> done, List<String> problems,
                                 Map<String, Object> summary) throws Exception {
        long bootMs;
        {
            bootMs = now() - tBoot;
            log("cluster up in %d ms: controllers %s, namesrv %s, brokers %s", bootMs, cluster.controllerAddrs(),
                    cluster.namesrvAddr(), cluster.brokerAddrs());
            cluster.createTopic(TOPIC, QUEUES);
            Await.require(Duration.ofSeconds(60), "route of " + TOPIC + " with " + QUEUES + " write queues",
                    () -> cluster.routeWriteQueues(TOPIC) == QUEUES);
            Await.require(Duration.ofSeconds(90), "all three replicas in the sync state set",
                    () -> inSync(cluster) == FailoverCluster.REPLICAS);

            // watches the controllers: which broker is master in which epoch
            RunFlag running = new RunFlag();
            Thread monitor = new Thread(() -> {
                while (running.on) {
                    BrokerReplicasInfo.ReplicasInfo r = cluster.replicaInfo();
                    if (r != null && r.getMasterAddress() != null && !r.getMasterAddress().isBlank()) {
                        epochFirstSeen.putIfAbsent(r.getMasterEpoch(), now());
                        String prev = epochMasters.putIfAbsent(r.getMasterEpoch(), r.getMasterAddress());
                        if (prev != null && !prev.equals(r.getMasterAddress())) {
                            epochMasterConflicts.add("epoch " + r.getMasterEpoch() + ": " + prev + " and " + r.getMasterAddress());
                        }
                    }
                    sleep(300);
                }
            }, "failover-monitor");
            monitor.setDaemon(true);
            monitor.start();

            DefaultMQProducer producer = new DefaultMQProducer("failover_chaos_producer");
            producer.setNamesrvAddr(cluster.namesrvAddr());
            producer.setInstanceName("failover-producer-" + ProcessHandle.current().pid());
            producer.setPollNameServerInterval(200);
            producer.start();
            AtomicLong nextSeq = new AtomicLong();
            // what the sender saw last when a send was not SEND_OK, for a health wait that gives up
            AtomicReference<String> lastNotOk = new AtomicReference<>("none");
            Thread sender = new Thread(() -> {
                long periodNs = rate > 0 ? 1_000_000_000L / rate : 0;
                long next = System.nanoTime();
                byte[] pad = "x".repeat(64).getBytes(StandardCharsets.UTF_8);
                while (running.on) {
                    if (periodNs > 0) {
                        long wait = next - System.nanoTime();
                        if (wait > 0) {
                            sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
                        }
                        next = Math.max(next + periodNs, System.nanoTime() - 10 * periodNs);
                    }
                    long seq = nextSeq.getAndIncrement();
                    String body = "seq=" + seq + ";" + new String(pad, StandardCharsets.UTF_8);
                    Message m = new Message(TOPIC, "chaos", "seq-" + seq, body.getBytes(StandardCharsets.UTF_8));
                    long sent = now();
                    try {
                        SendResult r = producer.send(m);
                        if (r.getSendStatus() == SendStatus.SEND_OK) {
                            acks.add(new Ack(seq, r.getMsgId(), r.getMessageQueue().getQueueId(), r.getQueueOffset(),
                                    storeHost(r.getOffsetMsgId()), sent, now()));
                        } else {
                            notOk.computeIfAbsent(r.getSendStatus().name(), k -> new AtomicLong()).incrementAndGet();
                            lastNotOk.set(now() + "ms seq " + seq + ": " + r.getSendStatus() + " from " + r.getMessageQueue());
                        }
                    } catch (Exception e) {
                        failedSends.incrementAndGet();
                        String error = now() + "ms seq " + seq + ": " + e.getClass().getSimpleName() + ": "
                                + String.valueOf(e.getMessage()).lines().findFirst().orElse("");
                        lastNotOk.set(error);
                        if (sendErrors.size() < 50) {
                            sendErrors.add(error);
                        }
                        sleep(10);
                    }
                }
            }, "failover-sender");
            sender.start();

            try {
                Await.require(Duration.ofSeconds(30), "first SEND_OK", () -> !acks.isEmpty());
                for (int i = 0; i < cycles; i++) {
                    sleep(intervalMs);
                    waitHealthy(cluster, acks, lastNotOk);
                    Fault fault = Fault.forCycle(i);
                    BrokerReplicasInfo.ReplicasInfo info = cluster.replicaInfo();
                    String master = info.getMasterAddress();
                    int mi = cluster.brokerIndex(master);
                    String leader = fault == Fault.KILL_WITH_CONTROLLER_LEADER ? cluster.controllerLeader() : null;
                    int ci = leader == null ? -1 : cluster.controllerIndex(leader);
                    if (mi < 0 || (fault == Fault.KILL_WITH_CONTROLLER_LEADER && ci < 0)) {
                        throw new IllegalStateException("cycle " + i + ": master " + master + " / controller leader "
                                + leader + " is not one of ours");
                    }
                    ChaosProcess victim = cluster.brokers().get(mi);
                    long at = now();
                    int inSyncNow = info.getInSyncReplicas().size();
                    Cycle c = new Cycle(i, fault, master, info.getMasterEpoch(), leader, inSyncNow, at);
                    done.add(c);
                    log("cycle %d: %s master %s (broker-%d, epoch %d, %d in sync)%s", i, fault, master, mi,
                            info.getMasterEpoch(), inSyncNow,
                            leader != null ? " and controller leader " + leader : "");
                    switch (fault) {
                        case KILL, KILL_WITH_CONTROLLER_LEADER -> {
                            victim.kill9();
                            if (ci >= 0) {
                                cluster.controllers().get(ci).kill9();
                            }
                            sleep(restartDelayMs);
                            if (ci >= 0) {
                                cluster.controllers().get(ci).start(Duration.ofSeconds(90));
                            }
                            victim.start(Duration.ofSeconds(90));
                        }
                        case FREEZE -> {
                            victim.freeze();
                            sleep(freezeMs);
                            victim.thaw();
                        }
                    }
                    log("cycle %d: %s back (pid %d)", i, victim.name(), victim.pid());
                }
                sleep(Math.min(intervalMs, 5_000L));
                waitHealthy(cluster, acks, lastNotOk);
            } finally {
                running.on = false;
                sender.join(30_000);
                monitor.join(10_000);
                producer.shutdown();
            }

            // ---------------------------------------------------------- settle and read back
            // all three back in sync with equal commit-log ends, or at least the sync state set agreeing
            boolean fullySynced = Await.until(Duration.ofSeconds(Long.getLong("settleSeconds", 60L)),
                    () -> inSync(cluster) == FailoverCluster.REPLICAS && equalEnds(cluster, List.of(0, 1, 2)));
            BrokerReplicasInfo.ReplicasInfo last = cluster.replicaInfo();
            List<Integer> syncIdx = new ArrayList<>();
            List<String> outOfSync = new ArrayList<>();
            if (last != null) {
                last.getInSyncReplicas().forEach(r -> syncIdx.add(cluster.brokerIndex(r.getBrokerAddress())));
                last.getNotInSyncReplicas().forEach(r -> outOfSync.add(r.getBrokerAddress()));
            }
            boolean settled = fullySynced || (syncIdx.size() >= 2 && !syncIdx.contains(-1)
                    && Await.until(Duration.ofSeconds(30), () -> equalEnds(cluster, syncIdx)));
            List<Long> ends = new ArrayList<>();
            for (int i = 0; i < FailoverCluster.REPLICAS; i++) {
                ends.add(cluster.commitLogMaxOffset(i));
            }
            summary.put("fullyResynced", fullySynced);
            summary.put("outOfSyncAtEnd", outOfSync);
            summary.put("commitLogMaxOffsets", ends);
            if (!settled) {
                problems.add("group did not settle (sync state set " + syncIdx + " with equal commit-log ends): " + ends);
            }
            if (!fullySynced && Boolean.getBoolean("requireFullResync")) {
                problems.add("replicas not back in the sync state set at the end: " + outOfSync);
            }
            String master = cluster.masterAddress();
            summary.put("finalMaster", master);

            Map<Integer, List<MessageExt>> read = QueueReader.readAll(cluster.namesrvAddr(), TOPIC, "failover_chaos_reader");

            // ---------------------------------------------------------- checks
            Map<Long, Integer> seen = new HashMap<>();
            Map<String, Long> atPosition = new HashMap<>();
            long orderErrors = 0;
            List<String> orderDetails = new ArrayList<>();
            long total = 0;
            for (Map.Entry<Integer, List<MessageExt>> q : read.entrySet()) {
                long expect = 0;
                for (MessageExt m : q.getValue()) {
                    total++;
                    if (m.getQueueOffset() != expect) {
                        orderErrors++;
                        if (orderDetails.size() < 20) {
                            orderDetails.add("queue " + q.getKey() + ": offset " + m.getQueueOffset() + " where " + expect + " was next");
                        }
                    }
                    expect = m.getQueueOffset() + 1;
                    long seq = seqOf(m);
                    seen.merge(seq, 1, Integer::sum);
                    atPosition.put(q.getKey() + "@" + m.getQueueOffset(), seq);
                }
            }
            long duplicates = seen.values().stream().mapToLong(n -> n - 1).sum();
            long lost = 0;
            long misplaced = 0;
            List<String> lostDetails = new ArrayList<>();
            List<Ack> ackList;
            synchronized (acks) {
                ackList = new ArrayList<>(acks);
            }
            java.util.Set<Long> acked = new java.util.HashSet<>();
            for (Ack a : ackList) {
                acked.add(a.seq());
                if (!seen.containsKey(a.seq())) {
                    lost++;
                    if (lostDetails.size() < 20) {
                        lostDetails.add(a.toString());
                    }
                }
                Long there = atPosition.get(a.queueId() + "@" + a.queueOffset());
                if (there == null || there != a.seq()) {
                    misplaced++;
                    if (lostDetails.size() < 40) {
                        lostDetails.add("acked at queue " + a.queueId() + " offset " + a.queueOffset() + " but found "
                                + (there == null ? "nothing" : "seq " + there) + ": " + a);
                    }
                }
            }
            long unackedStored = seen.keySet().stream().filter(s -> !acked.contains(s)).count();

            // epoch files of every replica
            Map<String, List<EpochFiles.Entry>> epochs = new LinkedHashMap<>();
            for (int i = 0; i < FailoverCluster.REPLICAS; i++) {
                List<String> format = new ArrayList<>();
                try {
                    epochs.put("broker-" + i, EpochFiles.parse(cluster.epochFile(i), format));
                } catch (IOException | RuntimeException e) {
                    format.add(cluster.epochFile(i) + ": unreadable: " + e);
                }
                format.forEach(f -> problems.add("epoch file format: " + f));
            }
            List<String> epochConflicts = EpochFiles.conflicts(epochs);
            for (Map.Entry<String, List<EpochFiles.Entry>> e : epochs.entrySet()) {
                if (e.getValue().isEmpty()) {
                    problems.add(e.getKey() + " has no epoch file entries");
                }
            }

            // failover times
            List<Map<String, Object>> cycleRows = new ArrayList<>();
            Map<Fault, List<Long>> times = new java.util.EnumMap<>(Fault.class);
            Map<Fault, List<Long>> electTimes = new java.util.EnumMap<>(Fault.class);
            for (Fault f : Fault.values()) {
                times.put(f, new ArrayList<>());
                electTimes.put(f, new ArrayList<>());
            }
            List<Integer> returnedBeforeElection = new ArrayList<>();
            for (int k = 0; k < done.size(); k++) {
                Cycle c = done.get(k);
                long until = k + 1 < done.size() ? done.get(k + 1).atMs() : Long.MAX_VALUE;
                Ack first = null;
                for (Ack a : ackList) {
                    if (a.ackAtMs() > c.atMs() && a.ackAtMs() < until && a.storeHost() != null
                            && !a.storeHost().equals(c.master())) {
                        if (first == null || a.ackAtMs() < first.ackAtMs()) {
                            first = a;
                        }
                    }
                }
                // when the controllers were first seen naming a master of a later epoch (300 ms polls)
                Long elected = epochFirstSeen.entrySet().stream().filter(e -> e.getKey() > c.epoch())
                        .min(Map.Entry.comparingByKey()).map(e -> e.getValue() - c.atMs()).orElse(null);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("cycle", c.index());
                row.put("fault", c.fault().name());
                row.put("oldMaster", c.master());
                row.put("oldEpoch", c.epoch());
                row.put("controllerLeaderKilled", c.controllerLeader());
                row.put("inSyncAtFault", c.inSync());
                row.put("electedSeenMs", elected);
                // The killed master restarted before the controllers elected anyone (a slow
                // controller election, e.g. Apache's after its Raft leader died, against a fast
                // broker restart) and led the same epoch again: no failover, but no outage either.
                boolean returned = first == null && k + 1 < done.size()
                        && c.master().equals(done.get(k + 1).master()) && c.epoch() == done.get(k + 1).epoch()
                        && ackList.stream().anyMatch(a -> a.ackAtMs() > c.atMs() && a.ackAtMs() < until
                                && c.master().equals(a.storeHost()));
                if (returned) {
                    returnedBeforeElection.add(c.index());
                    row.put("failoverMs", null);
                    row.put("returnedBeforeElection", true);
                } else if (first == null) {
                    problems.add("cycle " + c.index() + " (" + c.fault() + " " + c.master() + "): no SEND_OK from another broker before the next fault");
                    row.put("failoverMs", null);
                } else {
                    long ms = first.ackAtMs() - c.atMs();
                    row.put("failoverMs", ms);
                    row.put("newMaster", first.storeHost());
                    times.get(c.fault()).add(ms);
                    if (elected != null) {
                        electTimes.get(c.fault()).add(elected);
                    }
                }
                cycleRows.add(row);
            }
            List<Long> all = new ArrayList<>();
            times.values().forEach(all::addAll);

            summary.put("target", target.label());
            summary.put("cycles", cycles);
            summary.put("returnedBeforeElection", returnedBeforeElection);
            summary.put("bootMs", bootMs);
            summary.put("controllerKnobs", new TreeMap<>(FailoverCluster.CONTROLLER_KNOBS));
            summary.put("brokerKnobs", new TreeMap<>(FailoverCluster.BROKER_KNOBS));
            summary.put("clientPollNameServerIntervalMs", 200);
            summary.put("intervalMs", intervalMs);
            summary.put("restartDelayMs", restartDelayMs);
            summary.put("freezeMs", freezeMs);
            summary.put("rate", rate);
            summary.put("sendsAttempted", nextSeq.get());
            summary.put("sendOk", ackList.size());
            summary.put("sendNotOk", new TreeMap<>(toLongs(notOk)));
            summary.put("sendFailed", failedSends.get());
            summary.put("messagesRead", total);
            summary.put("lost", lost);
            summary.put("misplaced", misplaced);
            summary.put("duplicates", duplicates);
            summary.put("unackedButStored", unackedStored);
            summary.put("orderErrors", orderErrors);
            summary.put("epochFiles", epochs.entrySet().stream().collect(java.util.stream.Collectors.toMap(
                    Map.Entry::getKey, e -> e.getValue().toString(), (a, b) -> a, TreeMap::new)));
            summary.put("epochFileConflicts", epochConflicts);
            summary.put("observedEpochMasters", new TreeMap<>(epochMasters));
            summary.put("observedEpochMasterConflicts", epochMasterConflicts);
            summary.put("failoverMsAll", ChaosFigures.stats(all));
            summary.put("failoverMsKill", ChaosFigures.stats(times.get(Fault.KILL)));
            summary.put("failoverMsKillWithControllerLeader", ChaosFigures.stats(times.get(Fault.KILL_WITH_CONTROLLER_LEADER)));
            summary.put("failoverMsFreeze", ChaosFigures.stats(times.get(Fault.FREEZE)));
            summary.put("electedSeenMsKill", ChaosFigures.stats(electTimes.get(Fault.KILL)));
            summary.put("electedSeenMsKillWithControllerLeader", ChaosFigures.stats(electTimes.get(Fault.KILL_WITH_CONTROLLER_LEADER)));
            summary.put("electedSeenMsFreeze", ChaosFigures.stats(electTimes.get(Fault.FREEZE)));
            summary.put("cyclesDetail", cycleRows);

            if (lost > 0) {
                problems.add(lost + " acknowledged messages lost");
            }
            if (misplaced > 0) {
                problems.add(misplaced + " acknowledged messages not at their acknowledged queue offset");
            }
            if (orderErrors > 0) {
                problems.add(orderErrors + " queue offset gaps or reorderings: " + orderDetails);
            }
            if (!epochConflicts.isEmpty()) {
                problems.add("epoch files disagree: " + epochConflicts);
            }
            if (!epochMasterConflicts.isEmpty()) {
                problems.add("two masters in one epoch (controller view): " + epochMasterConflicts);
            }
            if (ackList.isEmpty()) {
                problems.add("no SEND_OK at all");
            }
            summary.put("problems", problems);
            String report = render(summary, lostDetails, new ArrayList<>(sendErrors));
            Path out = buildDir.resolve("failover-" + target.label() + ".txt");
            Files.createDirectories(buildDir);
            Files.writeString(out, report, StandardCharsets.UTF_8);
            System.out.println(report);
            log("summary written to %s", out);
            if (problems.isEmpty()) {
                cluster.close();
                cluster.deleteStores();
            }
        }
    }

    /** A mutable flag the worker threads poll. */
    private static final class RunFlag {
        volatile boolean on = true;
    }

    /**
     * Blocks until the group can survive the next fault: every server up and running, the
     * controllers report a master with at least one other replica in its sync state set (so a
     * successor is electable), the name server routes to that master, and a send was
     * acknowledged by it. A replica that never rejoins the sync state set does not block the run;
     * it is reported at the end.
     */
    private static void waitHealthy(FailoverCluster cluster, List<Ack> acks, AtomicReference<String> lastNotOk) {
        long since = now();
        boolean ok = Await.until(Duration.ofSeconds(180), () -> {
            for (ChaosProcess p : cluster.brokers()) {
                if (!p.isAlive() || p.isFrozen()) {
                    return false;
                }
            }
            for (ChaosProcess p : cluster.controllers()) {
                if (!p.isAlive()) {
                    return false;
                }
            }
            BrokerReplicasInfo.ReplicasInfo r = cluster.replicaInfo();
            if (r == null || r.getMasterAddress() == null || r.getInSyncReplicas().size() < 2) {
                return false;
            }
            if (!r.getMasterAddress().equals(cluster.routeMaster(TOPIC))) {
                return false;
            }
            synchronized (acks) {
                for (int i = acks.size() - 1; i >= 0; i--) {
                    Ack a = acks.get(i);
                    if (a.ackAtMs() < since) {
                        break;
                    }
                    if (r.getMasterAddress().equals(a.storeHost())) {
                        return true;
                    }
                }
            }
            return false;
        });
        if (!ok) {
            throw new IllegalStateException("no healthy group after 180 s (all up, >= 2 in sync, route and SEND_OK on "
                    + "the master): " + cluster.describe(TOPIC) + "; last send not SEND_OK at " + lastNotOk.get());
        }
    }

    /** True when the brokers {@code idx} report the same commit-log end (or do not report one at all). */
    private static boolean equalEnds(FailoverCluster cluster, List<Integer> idx) {
        List<Long> ends = new ArrayList<>();
        for (int i : idx) {
            ends.add(cluster.commitLogMaxOffset(i));
        }
        return ends.stream().allMatch(e -> e < 0) || (ends.stream().noneMatch(e -> e < 0) && ends.stream().distinct().count() == 1);
    }

    private static int inSync(FailoverCluster cluster) {
        BrokerReplicasInfo.ReplicasInfo r = cluster.replicaInfo();
        return r == null || r.getInSyncReplicas() == null ? 0 : r.getInSyncReplicas().size();
    }

    private static long seqOf(MessageExt m) {
        String body = new String(m.getBody(), StandardCharsets.UTF_8);
        int end = body.indexOf(';');
        return Long.parseLong(body.substring(4, end));
    }

    /** The broker that stored a message: the address inside its offset message id. */
    private static String storeHost(String offsetMsgId) {
        try {
            InetSocketAddress a = (InetSocketAddress) MessageDecoder.decodeMessageId(offsetMsgId).getAddress();
            return a.getAddress().getHostAddress() + ":" + a.getPort();
        } catch (Exception e) {
            return null;
        }
    }

    private static Map<String, Long> toLongs(Map<String, AtomicLong> m) {
        Map<String, Long> out = new HashMap<>();
        m.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    private static String render(Map<String, Object> summary, List<String> lostDetails, List<String> sendErrors) {
        StringBuilder sb = new StringBuilder();
        sb.append("# FailoverChaos summary\n");
        summary.forEach((k, v) -> {
            if (!k.equals("cyclesDetail")) {
                sb.append(k).append(" = ").append(v).append('\n');
            }
        });
        sb.append("# cycle fault oldMaster oldEpoch inSyncAtFault newMaster failoverMs controllerLeaderKilled electedSeenMs\n");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) summary.get("cyclesDetail");
        for (Map<String, Object> r : rows) {
            sb.append(String.format(Locale.ROOT, "cycle %s %s %s %s %s %s %s %s %s%n", r.get("cycle"), r.get("fault"),
                    r.get("oldMaster"), r.get("oldEpoch"), r.get("inSyncAtFault"), r.get("newMaster"), r.get("failoverMs"),
                    r.get("controllerLeaderKilled"), r.get("electedSeenMs")));
        }
        if (!lostDetails.isEmpty()) {
            sb.append("# lost or misplaced (first ones)\n");
            lostDetails.forEach(l -> sb.append(l).append('\n'));
        }
        if (!sendErrors.isEmpty()) {
            sb.append("# first send errors\n");
            sendErrors.forEach(l -> sb.append(l).append('\n'));
        }
        sb.append("json = ").append(ChaosFigures.json(summary)).append('\n');
        return sb.toString();
    }

    /**
     * Our three binaries, or a skip: the rmq target waits for {@code rmq-controller} to exist in
     * the tree; once it does, a missing binary fails under {@code CI=true} and skips otherwise.
     */
    private static FailoverCluster.Binaries rmqBinaries() {
        Path controller = Locations.binary("RMQ_CONTROLLER_BIN", "mqcontroller");
        Path namesrv = Locations.namesrvBinary();
        Path broker = Locations.brokerBinary();
        List<String> missing = new ArrayList<>();
        for (Path p : List.of(controller, namesrv, broker)) {
            if (!Files.isExecutable(p)) {
                missing.add(p.toString());
            }
        }
        if (!missing.isEmpty()) {
            String msg = "rmq target: binaries missing " + missing
                    + " (cargo build -p rmq-controller -p rmq-namesrv -p rmq-broker, or set RMQ_*_BIN)";
            if (Locations.isCi()) {
                fail(msg);
            }
            Assumptions.abort(msg);
        }
        return new FailoverCluster.Binaries(controller, namesrv, broker);
    }

    private static void log(String fmt, Object... args) {
        System.out.printf(Locale.ROOT, "[failover %6.1fs] " + fmt + "%n",
                prepend(now() / 1000.0, args));
    }

    private static Object[] prepend(Object first, Object[] rest) {
        Object[] out = new Object[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    private static void sleep(long ms) {
        sleep(ms, 0);
    }

    private static void sleep(long ms, int nanos) {
        try {
            Thread.sleep(ms, nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
