package rmq.interop.broker;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.BrokerStack;
import rmq.interop.harness.RmqBroker;
import rmq.interop.support.Targets;

/** The request-reply contract through our name server + broker. */
@DisplayName("Java 4.9 and rmq-client request-reply through the rmq broker")
class RmqRequestReplyTest extends RequestReplyContract {
    @Override
    BrokerStack startStack() throws Exception {
        return RmqBroker.startStack(Targets.requireRmqNamesrvBinary(), Targets.requireRmqBrokerBinary(), Map.of());
    }
}
