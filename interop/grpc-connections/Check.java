import java.time.Duration;
import java.util.Collections;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;

/** For interop/grpc-connections/run.sh: a PushConsumer (group CcPush) and a SimpleConsumer (group CcSimple) of args[1] through the proxy args[0], alive 40 s. */
public class Check {
    public static void main(String[] args) throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        ClientConfiguration config = ClientConfiguration.newBuilder().setEndpoints(args[0]).enableSsl(false).build();
        FilterExpression all = new FilterExpression("*", FilterExpressionType.TAG);
        PushConsumer push = provider.newPushConsumerBuilder().setClientConfiguration(config)
            .setConsumerGroup("CcPush").setSubscriptionExpressions(Collections.singletonMap(args[1], all))
            .setMessageListener(m -> ConsumeResult.SUCCESS).build();
        SimpleConsumer simple = provider.newSimpleConsumerBuilder().setClientConfiguration(config)
            .setConsumerGroup("CcSimple").setSubscriptionExpressions(Collections.singletonMap(args[1], all))
            .setAwaitDuration(Duration.ofSeconds(5)).build();
        System.out.println("consumers started");
        long end = System.currentTimeMillis() + 40_000;
        while (System.currentTimeMillis() < end) {
            try {
                simple.receive(1, Duration.ofSeconds(30));
            } catch (Exception e) {
                Thread.sleep(200);
            }
        }
        simple.close();
        push.close();
    }
}
