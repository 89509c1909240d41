package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import rmq.interop.harness.Await;
import rmq.interop.harness.BrokerStack;
import rmq.interop.harness.RmqBroker;
import rmq.interop.support.Targets;

/** Delays, retries and dead letters of the Java 4.9.7 client against our broker. */
@DisplayName("Java 4.9 clients vs rmq broker: delays, retries, dead letters")
class RmqDelayRetryTest extends DelayRetryContract {
    @Override
    BrokerStack startStack() throws Exception {
        return RmqBroker.startStack(Targets.requireRmqNamesrvBinary(), Targets.requireRmqBrokerBinary(), LEVELS);
    }

    /** RocketMQ 5's delivery-time property, set by hand on a 4.9.7 client (Apache 4.9.7 ignores it). */
    @Test
    void aDeliveryTimeIsHonoured() throws Exception {
        String topic = clients.createTopic("Timer", 1);
        ConcurrentLinkedQueue<Delivery> got = new ConcurrentLinkedQueue<>();
        consume(Clients.unique("timerg"), topic, 0, -1, got);
        Message m = msg(topic, "timed");
        long at = System.currentTimeMillis() + 1_500;
        m.putUserProperty("TIMER_DELIVER_MS", Long.toString(at));
        SendResult r = clients.producer().send(m);
        assertTrue(Await.until(Duration.ofSeconds(15), () -> !of(got, r.getMsgId()).isEmpty()), "delivered: " + got);
        List<Delivery> d = of(got, r.getMsgId());
        assertEquals(1, d.size());
        assertTrue(d.get(0).at() >= at, "arrived " + (d.get(0).at() - at) + " ms after its time");
        assertEquals(topic, d.get(0).topic());
    }
}
