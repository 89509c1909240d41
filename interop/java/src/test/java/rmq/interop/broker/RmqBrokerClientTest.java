package rmq.interop.broker;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.BrokerStack;
import rmq.interop.harness.RmqBroker;
import rmq.interop.support.Targets;

/** The Java 4.9.7 client contract against our name server + our broker. */
@DisplayName("Java 4.9 clients vs rmq broker")
class RmqBrokerClientTest extends BrokerClientContract {
    @Override
    BrokerStack startStack() throws Exception {
        return RmqBroker.startStack(Targets.requireRmqNamesrvBinary(), Targets.requireRmqBrokerBinary(), Map.of());
    }
}
