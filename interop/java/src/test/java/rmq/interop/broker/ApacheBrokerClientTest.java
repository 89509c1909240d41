package rmq.interop.broker;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.BrokerStack;

/**
 * The same contract against Apache's name server + broker 4.9.7: proves the tests themselves.
 * Opt-in ({@code RMQ_INTEROP_APACHE_BROKER=1}) to keep the default run short; the broker
 * differential runs Apache's broker on every run anyway.
 */
@DisplayName("Java 4.9 clients vs Apache broker 4.9.7 (self-check)")
@EnabledIfEnvironmentVariable(named = "RMQ_INTEROP_APACHE_BROKER", matches = "1|true")
class ApacheBrokerClientTest extends BrokerClientContract {
    @Override
    BrokerStack startStack() throws Exception {
        return ApacheBroker.startStack(Map.of());
    }
}
