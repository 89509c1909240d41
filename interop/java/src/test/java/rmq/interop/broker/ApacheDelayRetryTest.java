package rmq.interop.broker;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.BrokerStack;
import rmq.interop.support.Targets;

/** The delay/retry contract against Apache's broker 4.9.7: proves the tests (runs by default, as the main contract). */
@DisplayName("Java 4.9 clients vs Apache broker 4.9.7: delays, retries, dead letters (self-check)")
class ApacheDelayRetryTest extends DelayRetryContract {
    @Override
    BrokerStack startStack() throws Exception {
        Targets.requireApacheBrokerRun("the delay/retry contract");
        return ApacheBroker.startStack(LEVELS);
    }
}
