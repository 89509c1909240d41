package rmq.interop.broker;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.apache.rocketmq.common.message.MessageExt;

import rmq.interop.broker.BrokerChaos.Cycle;
import rmq.interop.broker.BrokerChaos.Fault;
import rmq.interop.broker.BrokerChaos.Settings;
import rmq.interop.harness.ChaosBrokerStack;
import rmq.interop.harness.ChaosBrokerStack.Target;
import rmq.interop.support.ChaosFigures;

/**
 * The figures of one broker chaos run, from the clients' ledger and the store read back from
 * offset 0: acknowledged messages missing from the store (lost) or never delivered, duplicates
 * and reorderings on both sides, failed sends per fault, and outage times. Adds a problem for
 * every figure that must be zero; renders the {@code key = value} report.
 */
final class ChaosSummary {
    private final Map<String, Object> figures = new LinkedHashMap<>();
    private final List<String> cycleRows = new ArrayList<>();
    private final List<String> details = new ArrayList<>();

    private ChaosSummary() {
    }

    @SuppressWarnings("checkstyle:ParameterNumber")
    static ChaosSummary of(Target target, Settings s, ChaosBrokerStack stack, ChaosLedger ledger, List<Cycle> cycles,
                           long attempted, BrokerChaos.Drain drain, Map<Integer, List<MessageExt>> stored, long runMs,
                           List<String> problems) {
        ChaosSummary out = new ChaosSummary();
        Map<String, Object> f = out.figures;
        List<ChaosLedger.Ack> acks = ledger.acks();
        List<ChaosLedger.Failure> failures = ledger.failures();
        f.put("target", target.label());
        f.put("cycles", cycles.size());
        Map<Fault, Integer> perFault = new EnumMap<>(Fault.class);
        cycles.forEach(c -> perFault.merge(c.fault(), 1, Integer::sum));
        f.put("faults", perFault);
        f.put("runSeconds", runMs / 1000);
        f.put("settings", s.toString());
        f.put("brokerConf", new TreeMap<>(stack.brokerConf()));

        // ------------------------------------------------------------- the store, read back
        Map<String, Integer> storedCounts = new HashMap<>();
        Map<String, String> atPosition = new HashMap<>();
        long offsetGaps = 0;
        long storeReorderings = 0;
        long storedTotal = 0;
        for (Map.Entry<Integer, List<MessageExt>> q : stored.entrySet()) {
            long expect = q.getValue().isEmpty() ? 0 : q.getValue().get(0).getQueueOffset();
            Map<Integer, Long> highest = new HashMap<>();
            for (MessageExt m : q.getValue()) {
                storedTotal++;
                String id = m.getKeys();
                if (m.getQueueOffset() != expect) {
                    offsetGaps++;
                    out.detail("queue " + q.getKey() + ": offset " + m.getQueueOffset() + " where " + expect + " was next");
                }
                expect = m.getQueueOffset() + 1;
                if (storedCounts.merge(id, 1, Integer::sum) == 1) {
                    int producer = ChaosLedger.producerOf(id);
                    long seq = ChaosLedger.seqOf(id);
                    Long before = highest.get(producer);
                    if (before != null && seq < before) {
                        storeReorderings++;
                        out.detail("queue " + q.getKey() + ": stored " + id + " at offset " + m.getQueueOffset()
                                + " after seq " + before + " of the same producer");
                    } else {
                        highest.put(producer, seq);
                    }
                }
                atPosition.put(q.getKey() + "@" + m.getQueueOffset(), id);
            }
        }
        Map<Integer, Long> firstOffsets = new TreeMap<>();
        stored.forEach((q, msgs) -> firstOffsets.put(q, msgs.isEmpty() ? null : msgs.get(0).getQueueOffset()));

        // ------------------------------------------------------------- acknowledged vs store vs deliveries
        Map<String, Integer> delivered = ledger.deliveredCounts();
        long lost = 0;
        long misplaced = 0;
        long notDelivered = 0;
        long notDeliveredButStored = 0;
        Set<String> ackedIds = new HashSet<>();
        for (ChaosLedger.Ack a : acks) {
            ackedIds.add(a.id());
            boolean inStore = storedCounts.containsKey(a.id());
            if (!inStore) {
                lost++;
                out.detail("LOST (acknowledged, not in the store): " + a);
            } else if (!a.id().equals(atPosition.get(a.queueId() + "@" + a.queueOffset()))) {
                misplaced++;
                out.detail("acknowledged at queue " + a.queueId() + " offset " + a.queueOffset() + " but found "
                        + atPosition.get(a.queueId() + "@" + a.queueOffset()) + " there: " + a);
            }
            if (!delivered.containsKey(a.id())) {
                notDelivered++;
                if (inStore) {
                    notDeliveredButStored++;
                }
                out.detail("NOT DELIVERED (acknowledged" + (inStore ? ", in the store" : ", not in the store") + "): " + a);
            }
        }
        f.put("sendsAttempted", attempted);
        f.put("sendOk", acks.size());
        f.put("sendFailed", failures.size());
        f.put("sendFailedByCause", ledger.failuresByCause());
        f.put("lost", lost);
        f.put("ackedNotDelivered", notDelivered);
        f.put("ackedNotDeliveredButStored", notDeliveredButStored);
        f.put("misplaced", misplaced);
        f.put("stored", storedTotal);
        f.put("storedFirstOffsets", firstOffsets);
        f.put("duplicatesStored", storedCounts.values().stream().mapToLong(n -> n - 1).sum());
        f.put("storedNotAcked", storedCounts.keySet().stream().filter(id -> !ackedIds.contains(id)).count());
        f.put("reorderingsStored", storeReorderings);
        f.put("offsetGaps", offsetGaps);
        f.put("deliveries", ledger.deliveries());
        f.put("deliveredUnique", delivered.size());
        f.put("duplicatesDelivered", delivered.values().stream().mapToLong(n -> n - 1).sum());
        f.put("messagesDeliveredTwiceOrMore", delivered.values().stream().filter(n -> n > 1).count());
        f.put("deliveredNotAcked", ledger.notAcked(delivered.keySet()));
        f.put("reorderingsDelivered", ledger.deliveryReorderings());
        f.put("ackedNotDeliveredWhenProducersStopped", drain.lagAtStop());
        f.put("drainMs", drain.drainMs());
        ledger.reorderExamples().forEach(out::detail);

        // ------------------------------------------------------------- per fault: outage and failed sends
        Map<Fault, List<Long>> outage = new EnumMap<>(Fault.class);
        Map<Fault, List<Long>> back = new EnumMap<>(Fault.class);
        Map<Fault, List<Long>> gaps = new EnumMap<>(Fault.class);
        Map<Fault, List<Long>> consumerOutage = new EnumMap<>(Fault.class);
        Map<Fault, Long> failedPerFault = new EnumMap<>(Fault.class);
        for (Fault x : Fault.values()) {
            outage.put(x, new ArrayList<>());
            back.put(x, new ArrayList<>());
            gaps.put(x, new ArrayList<>());
            consumerOutage.put(x, new ArrayList<>());
            failedPerFault.put(x, 0L);
        }
        long failedSteady = failures.stream().filter(x -> cycles.isEmpty() || x.failedAtMs() < cycles.get(0).atMs()).count();
        for (int k = 0; k < cycles.size(); k++) {
            Cycle c = cycles.get(k);
            long until = k + 1 < cycles.size() ? cycles.get(k + 1).atMs() : Long.MAX_VALUE;
            Long firstOk = null;
            Long firstDelivery = null;
            List<Long> ackTimes = new ArrayList<>();
            ackTimes.add(c.atMs());
            for (ChaosLedger.Ack a : acks) {
                if (a.sentAtMs() >= c.downAtMs() && a.sentAtMs() < until && (firstOk == null || a.ackAtMs() < firstOk)) {
                    firstOk = a.ackAtMs();
                }
                if (a.ackAtMs() >= c.atMs() && a.ackAtMs() < until) {
                    ackTimes.add(a.ackAtMs());
                }
                Long d = a.sentAtMs() >= c.downAtMs() ? ledger.firstDeliveredAt(a.id()) : null;
                if (d != null && (firstDelivery == null || d < firstDelivery)) {
                    firstDelivery = d;
                }
            }
            ackTimes.sort(null);
            long gap = 0;
            for (int j = 1; j < ackTimes.size(); j++) {
                gap = Math.max(gap, ackTimes.get(j) - ackTimes.get(j - 1));
            }
            gaps.get(c.fault()).add(gap);
            long failed = failures.stream().filter(x -> x.failedAtMs() >= c.atMs() && x.failedAtMs() < until).count();
            failedPerFault.merge(c.fault(), failed, Long::sum);
            Long outageMs = firstOk == null ? null : firstOk - c.downAtMs();
            Long consumerMs = firstDelivery == null ? null : firstDelivery - c.downAtMs();
            if (consumerMs != null) {
                consumerOutage.get(c.fault()).add(consumerMs);
            }
            if (outageMs != null) {
                outage.get(c.fault()).add(outageMs);
            }
            if (c.backAtMs() >= 0) {
                back.get(c.fault()).add(c.backAtMs() - c.atMs());
            }
            out.cycleRows.add(String.format(Locale.ROOT,
                    "cycle %d %s backMs=%s outageMs=%s noAckGapMs=%d consumerOutageMs=%s failedSends=%d", c.index(), c.fault(),
                    c.backAtMs() < 0 ? "never" : Long.toString(c.backAtMs() - c.atMs()), outageMs, gap, consumerMs, failed));
        }
        f.put("sendFailedBeforeFirstFault", failedSteady);
        f.put("sendFailedPerFault", failedPerFault);
        f.put("outageMsKill", ChaosFigures.stats(outage.get(Fault.KILL)));
        f.put("outageMsFreeze", ChaosFigures.stats(outage.get(Fault.FREEZE)));
        f.put("outageMsTerm", ChaosFigures.stats(outage.get(Fault.TERM)));
        f.put("noAckGapMsKill", ChaosFigures.stats(gaps.get(Fault.KILL)));
        f.put("noAckGapMsFreeze", ChaosFigures.stats(gaps.get(Fault.FREEZE)));
        f.put("noAckGapMsTerm", ChaosFigures.stats(gaps.get(Fault.TERM)));
        f.put("consumerOutageMsKill", ChaosFigures.stats(consumerOutage.get(Fault.KILL)));
        f.put("consumerOutageMsFreeze", ChaosFigures.stats(consumerOutage.get(Fault.FREEZE)));
        f.put("consumerOutageMsTerm", ChaosFigures.stats(consumerOutage.get(Fault.TERM)));
        f.put("backMsKill", ChaosFigures.stats(back.get(Fault.KILL)));
        f.put("backMsTerm", ChaosFigures.stats(back.get(Fault.TERM)));
        failures.stream().limit(20).forEach(x -> out.detail("send failed: " + x));

        if (acks.isEmpty()) {
            problems.add("no SEND_OK at all");
        }
        if (lost > 0) {
            problems.add(lost + " acknowledged messages missing from the store (lost)");
        }
        if (notDelivered > 0) {
            problems.add(notDelivered + " acknowledged messages never delivered to the push consumer ("
                    + notDeliveredButStored + " of them are in the store)");
        }
        if (misplaced > 0) {
            problems.add(misplaced + " acknowledged messages not at their acknowledged queue offset");
        }
        if (offsetGaps > 0) {
            problems.add(offsetGaps + " queue offset gaps in the store");
        }
        f.put("problems", problems);
        return out;
    }

    private void detail(String line) {
        if (details.size() < 60) {
            details.add(line);
        }
    }

    private static String statsLine(Map<?, ?> m) {
        return m.get("n") + " faults, p50 " + m.get("p50") + " ms, max " + m.get("max") + " ms " + m.get("values");
    }

    /** The report: one {@code key = value} line per figure, one line per cycle, examples, then JSON. */
    String render() {
        StringBuilder sb = new StringBuilder("# BrokerChaos summary\n");
        figures.forEach((k, v) -> sb.append(k).append(" = ").append(k.endsWith("MsKill") || k.endsWith("MsFreeze") || k.endsWith("MsTerm")
                ? statsLine((Map<?, ?>) v) : v).append('\n'));
        sb.append("# cycle fault backMs (signal to broker back) outageMs (broker down to first SEND_OK of a later send)"
                + " noAckGapMs (longest time without SEND_OK) consumerOutageMs (broker down to the first delivery of a"
                + " message sent after it) failedSends\n");
        cycleRows.forEach(r -> sb.append(r).append('\n'));
        if (!details.isEmpty()) {
            sb.append("# details (first ones)\n");
            details.forEach(d -> sb.append(d).append('\n'));
        }
        sb.append("json = ").append(ChaosFigures.json(figures)).append('\n');
        return sb.toString();
    }
}
