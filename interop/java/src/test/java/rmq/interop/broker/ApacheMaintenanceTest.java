package rmq.interop.broker;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.BrokerStack;
import rmq.interop.support.Targets;

/** The maintenance-request contract against Apache's broker 4.9.7: proves the tests (runs by default). */
@DisplayName("Java 4.9 mqadmin vs Apache broker 4.9.7: maintenance requests (self-check)")
class ApacheMaintenanceTest extends MaintenanceContract {
    @Override
    BrokerStack startStack() throws Exception {
        Targets.requireApacheBrokerRun("the maintenance-request contract");
        return ApacheBroker.startStack(Map.of());
    }
}
