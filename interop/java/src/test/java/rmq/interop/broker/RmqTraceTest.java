package rmq.interop.broker;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.BrokerStack;
import rmq.interop.harness.RmqBroker;
import rmq.interop.support.Targets;

/** The message trace contract against our name server + broker. */
@DisplayName("Java 4.9 client vs rmq broker: message trace")
class RmqTraceTest extends TraceContract {
    @Override
    BrokerStack startStack() throws Exception {
        return RmqBroker.startStack(Targets.requireRmqNamesrvBinary(), Targets.requireRmqBrokerBinary(), BROKER_OPTIONS);
    }
}
