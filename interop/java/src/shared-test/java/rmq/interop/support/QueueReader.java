package rmq.interop.support;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Reads back everything a topic holds, queue by queue from its first offset to its end, with
 * the official pull consumer: what the store really has, independent of any push consumer's
 * committed offsets, for the "acknowledged but not stored" check of the chaos runs.
 */
public final class QueueReader {
    private QueueReader() {
    }

    /**
     * Every message of {@code topic}, per queue id, from the queue's min offset up to its max
     * offset as the broker reports them (pull requests go to brokerId 0 of the route). A queue
     * that stops answering below its max offset fails instead of being read short.
     */
    public static Map<Integer, List<MessageExt>> readAll(String namesrvAddr, String topic, String group) throws Exception {
        DefaultMQPullConsumer c = new DefaultMQPullConsumer(group);
        c.setNamesrvAddr(namesrvAddr);
        c.setInstanceName(group + "-" + ProcessHandle.current().pid());
        c.start();
        try {
            Map<Integer, List<MessageExt>> out = new TreeMap<>();
            List<MessageQueue> mqs = new ArrayList<>(c.fetchSubscribeMessageQueues(topic));
            mqs.sort(Comparator.comparingInt(MessageQueue::getQueueId));
            for (MessageQueue mq : mqs) {
                long max = c.maxOffset(mq);
                long off = c.minOffset(mq);
                List<MessageExt> msgs = new ArrayList<>();
                int empty = 0;
                while (off < max) {
                    PullResult r = c.pull(mq, "*", off, 32);
                    switch (r.getPullStatus()) {
                        case FOUND -> {
                            msgs.addAll(r.getMsgFoundList());
                            off = r.getNextBeginOffset();
                        }
                        case NO_NEW_MSG, NO_MATCHED_MSG -> {
                            if (++empty > 20) {
                                throw new IllegalStateException(mq + ": nothing at offset " + off + " below max " + max);
                            }
                            Thread.sleep(200);
                        }
                        case OFFSET_ILLEGAL -> throw new IllegalStateException(mq + ": offset " + off + " illegal (max " + max + ")");
                        default -> throw new IllegalStateException(mq + ": pull status " + r.getPullStatus());
                    }
                }
                out.put(mq.getQueueId(), msgs);
                System.out.printf("queue %d: read %d messages (max offset %d)%n", mq.getQueueId(), msgs.size(), max);
            }
            return out;
        } finally {
            c.shutdown();
        }
    }
}
