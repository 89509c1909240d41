package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import rmq.interop.harness.Await;
import rmq.interop.harness.BrokerStack;
import rmq.interop.harness.RmqBroker;
import rmq.interop.support.Targets;

/**
 * The transaction/SQL92 contract against our broker, plus what only our harness can do: restart
 * the broker on its port and store while a half message waits.
 */
@DisplayName("Java 4.9 clients vs rmq broker: transactions and SQL92 filters")
class RmqTransactionFilterTest extends TransactionFilterContract {
    @Override
    BrokerStack startStack() throws Exception {
        return RmqBroker.startStack(Targets.requireRmqNamesrvBinary(), Targets.requireRmqBrokerBinary(), OPTIONS);
    }

    @Test
    void aHalfMessageSurvivesABrokerRestart() throws Exception {
        String topic = clients.createTopic("TxRestart", 1);
        String group = Clients.unique("txp");
        Scripted undecided = new Scripted(LocalTransactionState.UNKNOW, LocalTransactionState.UNKNOW);
        TransactionMQProducer p = txProducer(group, undecided);
        ConcurrentLinkedQueue<MessageExt> got = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer c = null;
        try {
            p.sendMessageInTransaction(msg(topic, "across-a-restart"), null);
            assertTrue(Await.until(Duration.ofSeconds(20), () -> undecided.checks.get() > 0), "checked before the restart");
            ((RmqBroker.Stack) stack).restartBroker();
            int before = undecided.checks.get();
            undecided.onCheck.set(LocalTransactionState.COMMIT_MESSAGE);
            c = collect(topic, MessageSelector.byTag("*"), got);
            assertTrue(arrived(got, "across-a-restart"), "committed after the restart: " + counts(got));
            assertTrue(undecided.checks.get() > before, "checked again after the restart");
        } finally {
            p.shutdown();
            if (c != null) {
                c.shutdown();
            }
        }
    }
}
