package rmq.interop.broker;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.BrokerStack;

/** The delay/retry contract against Apache's broker 4.9.7: proves the tests (opt-in, as the main contract). */
@DisplayName("Java 4.9 clients vs Apache broker 4.9.7: delays, retries, dead letters (self-check)")
@EnabledIfEnvironmentVariable(named = "RMQ_INTEROP_APACHE_BROKER", matches = "1|true")
class ApacheDelayRetryTest extends DelayRetryContract {
    @Override
    BrokerStack startStack() throws Exception {
        return ApacheBroker.startStack(LEVELS);
    }
}
