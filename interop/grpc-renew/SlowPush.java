import java.time.Duration;
import java.util.Collections;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.producer.Producer;

/**
 * For interop/grpc-renew/run.sh: sends three messages to args[1] through the proxy args[0], then
 * a PushConsumer with one consumption thread takes args[2] ms over each, far longer than the
 * proxy's defaultInvisibleTimeMills; prints one "delivered BODY ATTEMPT" line per delivery.
 */
public class SlowPush {
    public static void main(String[] args) throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        ClientConfiguration config = ClientConfiguration.newBuilder().setEndpoints(args[0])
            .setRequestTimeout(Duration.ofSeconds(10)).enableSsl(false).build();
        long hold = Long.parseLong(args[2]);
        PushConsumer consumer = provider.newPushConsumerBuilder().setClientConfiguration(config)
            .setConsumerGroup("RenewGroup").setConsumptionThreadCount(1)
            .setSubscriptionExpressions(Collections.singletonMap(args[1], new FilterExpression("*", FilterExpressionType.TAG)))
            .setMessageListener(m -> {
                // Printed at once: a consumer that is redelivered to may not close in time.
                System.out.println("delivered " + java.nio.charset.StandardCharsets.UTF_8.decode(m.getBody()) + " " + m.getDeliveryAttempt());
                System.out.flush();
                try {
                    Thread.sleep(hold);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return ConsumeResult.SUCCESS;
            }).build();
        Thread.sleep(3000);
        // The producer stays open until the consumer is done, so nothing but the consumer's own
        // close ends its session.
        Producer producer = provider.newProducerBuilder().setClientConfiguration(config).setTopics(args[1]).build();
        for (int i = 0; i < 3; i++) {
            producer.send(provider.newMessageBuilder().setTopic(args[1]).setBody(("m" + i).getBytes()).build());
        }
        Thread.sleep(3 * hold + 8000);
        Thread closer = new Thread(() -> {
            try {
                consumer.close();
                producer.close();
            } catch (Exception e) {
                e.printStackTrace();
            }
        });
        closer.setDaemon(true);
        closer.start();
        closer.join(15_000);
        System.exit(0);
    }
}
