package rmq.interop.broker;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.BrokerStack;
import rmq.interop.harness.RmqBroker;
import rmq.interop.support.Targets;

/** The maintenance-request contract against our name server + broker. */
@DisplayName("Java 4.9 mqadmin vs rmq broker: maintenance requests")
class RmqMaintenanceTest extends MaintenanceContract {
    @Override
    BrokerStack startStack() throws Exception {
        return RmqBroker.startStack(Targets.requireRmqNamesrvBinary(), Targets.requireRmqBrokerBinary(), Map.of());
    }
}
