package rmq.interop.broker;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.BrokerStack;
import rmq.interop.support.Targets;

/**
 * The same contract against Apache's name server + broker 4.9.7: proves the tests themselves.
 * Runs by default (CI included); {@code RMQ_INTEROP_APACHE_BROKER=0} skips it loudly outside CI.
 */
@DisplayName("Java 4.9 clients vs Apache broker 4.9.7 (self-check)")
class ApacheBrokerClientTest extends BrokerClientContract {
    @Override
    BrokerStack startStack() throws Exception {
        Targets.requireApacheBrokerRun("the broker client contract");
        return ApacheBroker.startStack(Map.of());
    }
}
