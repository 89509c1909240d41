// The broker's 5.x POP requests spoken by Apache's own 5.3.3 remoting classes (NettyRemotingClient,
// the request header classes, BatchAckMessageRequestBody, MessageDecoder), against one broker:
// PEEK, POP, NOTIFICATION, BATCH_ACK (bit sets, an empty body), redelivery, POLLING_INFO, FIFO pop
// (blocking, orderly acks, orderCountInfo after the invisible time) and topic attributes. It
// prints one normalised line per observation; run.sh runs it on Apache 5.3.3's broker and on
// rmq's and compares the two transcripts line by line.
//
//   java -cp <rocketmq 5.3.3 classpath> PopBrokerCheck.java <namesrv> <suffix>

import java.nio.ByteBuffer;
import java.util.*;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.message.*;
import org.apache.rocketmq.remoting.netty.*;
import org.apache.rocketmq.remoting.protocol.*;
import org.apache.rocketmq.remoting.protocol.body.*;
import org.apache.rocketmq.remoting.protocol.header.*;
import org.apache.rocketmq.remoting.protocol.header.namesrv.*;
import org.apache.rocketmq.remoting.protocol.route.*;

public class PopBrokerCheck {
    static NettyRemotingClient rc;
    static String broker, brokerName;
    static final String GROUP = "PopBrokerGroup";
    static final List<String> out = new ArrayList<>();

    static void line(String s) { out.add(s); System.out.println(s); }

    static RemotingCommand call(RemotingCommand c) throws Exception {
        RemotingCommand r = rc.invokeSync(broker, c, 15000);
        if (r == null) throw new IllegalStateException("no answer");
        return r;
    }

    record Msg(String body, int queue, long offset, int reconsume, String ck) {}

    static List<Msg> decode(RemotingCommand r) {
        List<Msg> msgs = new ArrayList<>();
        if (r.getBody() == null) return msgs;
        for (MessageExt m : MessageDecoder.decodesBatch(ByteBuffer.wrap(r.getBody()), true, false, true)) {
            msgs.add(new Msg(new String(m.getBody()), m.getQueueId(), m.getQueueOffset(), m.getReconsumeTimes(),
                m.getProperty(MessageConst.PROPERTY_POP_CK)));
        }
        return msgs;
    }

    static String bodies(List<Msg> msgs) {
        List<String> b = new ArrayList<>();
        for (Msg m : msgs) b.add(m.body);
        Collections.sort(b);
        return String.join(",", b);
    }

    static RemotingCommand popRequest(String topic, int queue, int max, long invisible, long poll, boolean order) {
        PopMessageRequestHeader h = new PopMessageRequestHeader();
        h.setConsumerGroup(GROUP); h.setTopic(topic); h.setQueueId(queue); h.setMaxMsgNums(max);
        h.setInvisibleTime(invisible); h.setPollTime(poll); h.setBornTime(System.currentTimeMillis());
        h.setInitMode(0); h.setExpType("TAG"); h.setExp("*"); h.setOrder(order);
        return RemotingCommand.createRequestCommand(RequestCode.POP_MESSAGE, h);
    }

    // A popped message with its receipt as the client builds it.
    record Popped(Msg m, String receipt, String ackTopic) {}

    static List<Popped> pop(String topic, int queue, int max, long invisible, long poll, boolean order, Map<String, String> header) throws Exception {
        RemotingCommand r = call(popRequest(topic, queue, max, invisible, poll, order));
        List<Popped> got = new ArrayList<>();
        if (r.getCode() != ResponseCode.SUCCESS) {
            if (header != null) header.put("code", String.valueOf(r.getCode()));
            return got;
        }
        PopMessageResponseHeader h = (PopMessageResponseHeader) r.decodeCommandCustomHeader(PopMessageResponseHeader.class);
        if (header != null) {
            header.put("code", "0");
            header.put("reviveQid", String.valueOf(h.getReviveQid()));
            header.put("orderCountInfo", String.valueOf(h.getOrderCountInfo()));
        }
        Map<String, Long> starts = ExtraInfoUtil.parseStartOffsetInfo(h.getStartOffsetInfo());
        for (Msg m : decode(r)) {
            String receipt;
            String ackTopic = topic;
            if (m.ck != null) {
                receipt = m.ck;
                ackTopic = org.apache.rocketmq.common.KeyBuilder.buildPopRetryTopicV1(topic, GROUP);
            } else {
                long ck = starts.get(ExtraInfoUtil.getStartOffsetInfoMapKey(topic, m.queue));
                receipt = ExtraInfoUtil.buildExtraInfo(ck, h.getPopTime(), h.getInvisibleTime(), h.getReviveQid(), topic, brokerName, m.queue, m.offset);
            }
            got.add(new Popped(m, receipt, ackTopic));
        }
        return got;
    }

    static List<Popped> popUntil(String topic, long invisible, int want, long limitMs) throws Exception {
        List<Popped> got = new ArrayList<>();
        long deadline = System.currentTimeMillis() + limitMs;
        while (got.size() < want && System.currentTimeMillis() < deadline) {
            got.addAll(pop(topic, -1, 32, invisible, 1000, false, null));
        }
        return got;
    }

    static String bodiesOf(List<Popped> p) {
        List<Msg> m = new ArrayList<>();
        for (Popped x : p) m.add(x.m);
        return bodies(m);
    }

    static int batchAck(String topic, List<Popped> acked) throws Exception {
        Map<String, BatchAck> merged = new TreeMap<>();
        for (Popped p : acked) {
            String[] e = ExtraInfoUtil.split(p.receipt);
            String key = ExtraInfoUtil.getRetry(e) + "@" + ExtraInfoUtil.getQueueId(e) + "@" + ExtraInfoUtil.getCkQueueOffset(e) + "@" + ExtraInfoUtil.getPopTime(e);
            BatchAck b = merged.computeIfAbsent(key, k -> {
                BatchAck n = new BatchAck();
                n.setConsumerGroup(GROUP); n.setTopic(topic); n.setRetry(ExtraInfoUtil.getRetry(e));
                n.setStartOffset(ExtraInfoUtil.getCkQueueOffset(e)); n.setQueueId(ExtraInfoUtil.getQueueId(e));
                n.setReviveQueueId(ExtraInfoUtil.getReviveQid(e)); n.setPopTime(ExtraInfoUtil.getPopTime(e));
                n.setInvisibleTime(ExtraInfoUtil.getInvisibleTime(e)); n.setBitSet(new BitSet());
                return n;
            });
            b.getBitSet().set((int) (ExtraInfoUtil.getQueueOffset(e) - ExtraInfoUtil.getCkQueueOffset(e)));
        }
        BatchAckMessageRequestBody body = new BatchAckMessageRequestBody();
        body.setBrokerName(brokerName);
        body.setAcks(new ArrayList<>(merged.values()));
        RemotingCommand c = RemotingCommand.createRequestCommand(RequestCode.BATCH_ACK_MESSAGE, null);
        c.setBody(body.encode());
        return call(c).getCode();
    }

    static int ack(Popped p) throws Exception {
        AckMessageRequestHeader h = new AckMessageRequestHeader();
        h.setConsumerGroup(GROUP); h.setTopic(p.ackTopic); h.setQueueId(p.m.queue); h.setExtraInfo(p.receipt); h.setOffset(p.m.offset);
        return call(RemotingCommand.createRequestCommand(RequestCode.ACK_MESSAGE, h)).getCode();
    }

    static String notification(String topic, int queue, long poll, boolean order) throws Exception {
        NotificationRequestHeader h = new NotificationRequestHeader();
        h.setConsumerGroup(GROUP); h.setTopic(topic); h.setQueueId(queue); h.setPollTime(poll);
        h.setBornTime(System.currentTimeMillis()); h.setOrder(order);
        RemotingCommand r = call(RemotingCommand.createRequestCommand(RequestCode.NOTIFICATION, h));
        NotificationResponseHeader nh = (NotificationResponseHeader) r.decodeCommandCustomHeader(NotificationResponseHeader.class);
        return r.getCode() + " hasMsg=" + nh.isHasMsg();
    }

    static String peek(String topic) throws Exception {
        PeekMessageRequestHeader h = new PeekMessageRequestHeader();
        h.setConsumerGroup(GROUP); h.setTopic(topic); h.setQueueId(-1); h.setMaxMsgNums(32);
        RemotingCommand r = call(RemotingCommand.createRequestCommand(RequestCode.PEEK_MESSAGE, h));
        return r.getCode() + " " + r.getRemark() + " [" + bodies(decode(r)) + "]";
    }

    static String updateTopic(String topic, String attributes) throws Exception {
        CreateTopicRequestHeader h = new CreateTopicRequestHeader();
        h.setTopic(topic); h.setDefaultTopic("TBW102"); h.setReadQueueNums(1); h.setWriteQueueNums(1);
        h.setPerm(6); h.setTopicFilterType("SINGLE_TAG"); h.setTopicSysFlag(0); h.setOrder(false);
        h.setAttributes(attributes);
        RemotingCommand r = call(RemotingCommand.createRequestCommand(RequestCode.UPDATE_AND_CREATE_TOPIC, h));
        return r.getCode() + (r.getCode() == 0 ? "" : " " + r.getRemark());
    }

    static String topicAttributes(String topic) throws Exception {
        GetTopicConfigRequestHeader h = new GetTopicConfigRequestHeader();
        h.setTopic(topic);
        RemotingCommand r = call(RemotingCommand.createRequestCommand(RequestCode.GET_TOPIC_CONFIG, h));
        if (r.getCode() != 0) return r.getCode() + "";
        org.apache.rocketmq.common.TopicConfig c = RemotingSerializable.decode(r.getBody(), org.apache.rocketmq.common.TopicConfig.class);
        return new TreeMap<>(c.getAttributes()).toString();
    }

    public static void main(String[] args) throws Exception {
        String namesrv = args[0], suffix = args[1];
        rc = new NettyRemotingClient(new NettyClientConfig());
        rc.start();
        RemotingCommand ci = rc.invokeSync(namesrv, RemotingCommand.createRequestCommand(RequestCode.GET_BROKER_CLUSTER_INFO, null), 10000);
        ClusterInfo cluster = ClusterInfo.decode(ci.getBody(), ClusterInfo.class);
        BrokerData bd = cluster.getBrokerAddrTable().values().iterator().next();
        broker = bd.getBrokerAddrs().get(0L);
        brokerName = bd.getBrokerName();
        String topic = "PopB" + suffix, fifo = "PopF" + suffix;

        DefaultMQProducer producer = new DefaultMQProducer("PopBrokerProducer");
        producer.setNamesrvAddr(namesrv);
        producer.start();
        for (int i = 0; i < 6; i++) {
            producer.send(new Message(topic, ("m" + i).getBytes()), new MessageQueue(topic, brokerName, i % 4));
        }
        for (int i = 0; i < 4; i++) {
            producer.send(new Message(fifo, ("f" + i).getBytes()), new MessageQueue(fifo, brokerName, 0));
        }

        line("peek: " + peek(topic));
        List<Popped> first = popUntil(topic, 3000, 6, 10000);
        line("pop: [" + bodiesOf(first) + "]");
        line("peek after pop: " + peek(topic));
        line("notification after pop: " + notification(topic, -1, 0, false));
        List<Popped> done = new ArrayList<>(), kept = new ArrayList<>();
        for (Popped p : first) (p.m.body.equals("m1") || p.m.body.equals("m4") ? kept : done).add(p);
        line("batch ack 4: " + batchAck(topic, done));
        List<Popped> again = popUntil(topic, 60000, 2, 40000);
        StringBuilder rc1 = new StringBuilder();
        for (Popped p : again) rc1.append(p.m.reconsume);
        line("redelivered: [" + bodiesOf(again) + "] reconsume=" + rc1);
        line("batch ack retried: " + batchAck(topic, again));
        line("batch ack empty: " + call(RemotingCommand.createRequestCommand(RequestCode.BATCH_ACK_MESSAGE, null)).getCode());
        PollingInfoRequestHeader ph = new PollingInfoRequestHeader();
        ph.setConsumerGroup(GROUP); ph.setTopic(topic); ph.setQueueId(-1);
        RemotingCommand pr = call(RemotingCommand.createRequestCommand(RequestCode.POLLING_INFO, ph));
        line("polling info: " + pr.getCode() + " " + ((PollingInfoResponseHeader) pr.decodeCommandCustomHeader(PollingInfoResponseHeader.class)).getPollingNum());

        Map<String, String> h = new TreeMap<>();
        List<Popped> f1 = pop(fifo, 0, 2, 2000, 0, true, h);
        line("fifo pop: [" + bodiesOf(f1) + "] " + h);
        h.clear();
        line("fifo pop while in flight: [" + bodiesOf(pop(fifo, 0, 2, 2000, 0, true, h)) + "] code=" + h.get("code"));
        line("fifo notification while in flight: " + notification(fifo, 0, 0, true));
        line("fifo ack: " + ack(f1.get(0)) + " " + ack(f1.get(1)));
        h.clear();
        List<Popped> f2 = pop(fifo, 0, 2, 2000, 0, true, h);
        line("fifo pop after acks: [" + bodiesOf(f2) + "] " + h);
        Thread.sleep(2600);
        h.clear();
        List<Popped> f3 = pop(fifo, 0, 2, 60000, 0, true, h);
        line("fifo pop after invisible time: [" + bodiesOf(f3) + "] " + h);
        ChangeInvisibleTimeRequestHeader ch = new ChangeInvisibleTimeRequestHeader();
        Popped f2again = f3.get(0).m.body.equals("f2") ? f3.get(0) : f3.get(1);
        Popped f3again = f2again == f3.get(0) ? f3.get(1) : f3.get(0);
        ch.setConsumerGroup(GROUP); ch.setTopic(fifo); ch.setQueueId(0); ch.setExtraInfo(f2again.receipt);
        ch.setOffset(f2again.m.offset); ch.setInvisibleTime(1500L);
        RemotingCommand cr = call(RemotingCommand.createRequestCommand(RequestCode.CHANGE_MESSAGE_INVISIBLETIME, ch));
        ChangeInvisibleTimeResponseHeader crh = (ChangeInvisibleTimeResponseHeader) cr.decodeCommandCustomHeader(ChangeInvisibleTimeResponseHeader.class);
        String[] old = ExtraInfoUtil.split(f2again.receipt);
        line("fifo change: " + cr.getCode() + " popTime kept=" + (crh.getPopTime() == ExtraInfoUtil.getPopTime(old))
            + " reviveQid=" + crh.getReviveQid() + " invisibleTime>=1500=" + (crh.getInvisibleTime() >= 1500));
        line("fifo ack f3 only: " + ack(f3again));
        h.clear();
        line("fifo pop while f2 held: [" + bodiesOf(pop(fifo, 0, 2, 60000, 0, true, h)) + "] code=" + h.get("code"));
        Thread.sleep(1800);
        h.clear();
        line("fifo pop after the change: [" + bodiesOf(pop(fifo, 0, 2, 60000, 0, true, h)) + "] " + h);

        String typed = "PopT" + suffix;
        line("create typed: " + updateTopic(typed, "+message.type=FIFO"));
        line("typed attributes: " + topicAttributes(typed));
        line("unknown attribute: " + updateTopic(typed, "+colour=red"));
        line("bad value: " + updateTopic(typed, "+message.type=ODD"));
        line("mixed: " + updateTopic(typed + "M", "+message.type=MIXED"));
        line("remove: " + updateTopic(typed, "-message.type"));
        line("removed attributes: " + topicAttributes(typed));
        producer.shutdown();
        rc.shutdown();
    }
}
