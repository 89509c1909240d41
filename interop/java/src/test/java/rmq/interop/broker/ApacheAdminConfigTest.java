package rmq.interop.broker;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.BrokerStack;
import rmq.interop.support.Targets;

/** The updateBrokerConfig contract against Apache's broker 4.9.7: proves the tests (runs by default). */
@DisplayName("Java 4.9 mqadmin vs Apache broker 4.9.7: updateBrokerConfig (self-check)")
class ApacheAdminConfigTest extends AdminConfigContract {
    @Override
    BrokerStack startStack() throws Exception {
        Targets.requireApacheBrokerRun("the updateBrokerConfig contract");
        return ApacheBroker.startStack(Map.of());
    }
}
