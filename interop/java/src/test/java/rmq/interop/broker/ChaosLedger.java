package rmq.interop.broker;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.rocketmq.common.message.MessageExt;

/**
 * What the broker chaos run saw from the clients' side: every SEND_OK (with where the broker
 * said it stored the message), every failed send, and every delivery to the push consumer as a
 * multiset. Each message is named {@code p<producer>-<seq>} (its key and the start of its body),
 * so a count per name shows losses and duplicates, and the sequence numbers of one producer
 * within one queue show reorderings.
 */
final class ChaosLedger {
    /** One SEND_OK: the message, the position the broker acknowledged, and when. */
    record Ack(String id, int producer, long seq, int queueId, long queueOffset, long sentAtMs, long ackAtMs) {
    }

    /** One send that did not end in SEND_OK (exception or another status). */
    record Failure(int producer, long seq, long sentAtMs, long failedAtMs, String cause) {
    }

    private final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
    private final Map<String, Integer> delivered = new ConcurrentHashMap<>();
    /** When each message was first delivered (monotonic ms). */
    private final Map<String, Long> firstDeliveredAt = new ConcurrentHashMap<>();
    /** queue id, producer → highest sequence number delivered the first time so far. */
    private final Map<String, Long> highestFirstDelivery = new ConcurrentHashMap<>();
    private final AtomicLong deliveries = new AtomicLong();
    private final AtomicLong deliveryReorderings = new AtomicLong();
    private final List<String> reorderExamples = new ArrayList<>();
    /** When the last delivery arrived (monotonic ms), for the drain wait. */
    private volatile long lastDeliveryMs;

    /** The name of a message: its key and the first field of its body. */
    static String id(int producer, long seq) {
        return "p" + producer + "-" + seq;
    }

    /** The producer index of a message name. */
    static int producerOf(String id) {
        return Integer.parseInt(id.substring(1, id.indexOf('-')));
    }

    /** The sequence number of a message name. */
    static long seqOf(String id) {
        return Long.parseLong(id.substring(id.indexOf('-') + 1));
    }

    void ack(Ack a) {
        acks.add(a);
    }

    void failure(Failure f) {
        failures.add(f);
    }

    /**
     * Records one delivery. Only a message's first delivery takes part in the order check: a
     * redelivery (the consumer resuming from an older committed offset) is a duplicate, not a
     * reordering.
     */
    void delivered(MessageExt m, long nowMs) {
        deliveries.incrementAndGet();
        lastDeliveryMs = nowMs;
        String id = m.getKeys();
        int n = delivered.merge(id, 1, Integer::sum);
        if (n == 1) {
            firstDeliveredAt.put(id, nowMs);
            String lane = m.getQueueId() + "/" + producerOf(id);
            long seq = seqOf(id);
            Long before = highestFirstDelivery.get(lane);
            if (before != null && seq < before) {
                deliveryReorderings.incrementAndGet();
                synchronized (reorderExamples) {
                    if (reorderExamples.size() < 20) {
                        reorderExamples.add("queue " + m.getQueueId() + ": " + id + " (offset " + m.getQueueOffset()
                                + ") delivered after seq " + before + " of the same producer");
                    }
                }
            } else {
                highestFirstDelivery.put(lane, seq);
            }
        }
    }

    List<Ack> acks() {
        return new ArrayList<>(acks);
    }

    List<Failure> failures() {
        return new ArrayList<>(failures);
    }

    int ackCount() {
        return acks.size();
    }

    long lastDeliveryMs() {
        return lastDeliveryMs;
    }

    long deliveries() {
        return deliveries.get();
    }

    long deliveryReorderings() {
        return deliveryReorderings.get();
    }

    List<String> reorderExamples() {
        synchronized (reorderExamples) {
            return new ArrayList<>(reorderExamples);
        }
    }

    /** How often each message was delivered (a copy). */
    Map<String, Integer> deliveredCounts() {
        return new HashMap<>(delivered);
    }

    /** When {@code id} was first delivered, or null. */
    Long firstDeliveredAt(String id) {
        return firstDeliveredAt.get(id);
    }

    /** Acknowledged messages not delivered yet. */
    long ackedNotDelivered() {
        long n = 0;
        for (Ack a : acks) {
            if (!delivered.containsKey(a.id())) {
                n++;
            }
        }
        return n;
    }

    /** The number of names in {@code ids} not acknowledged. */
    long notAcked(Set<String> ids) {
        Set<String> acked = new HashSet<>();
        acks.forEach(a -> acked.add(a.id()));
        return ids.stream().filter(i -> !acked.contains(i)).count();
    }

    /** Failed sends per cause, e.g. {@code RemotingTooMuchRequestException}. */
    Map<String, Long> failuresByCause() {
        Map<String, Long> out = new TreeMap<>();
        failures.forEach(f -> out.merge(f.cause(), 1L, Long::sum));
        return out;
    }
}
