package rmq.interop.broker;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.BrokerStack;
import rmq.interop.support.Targets;

/** The message trace contract against Apache's broker 4.9.7: proves the tests (runs by default). */
@DisplayName("Java 4.9 client vs Apache broker 4.9.7: message trace (self-check)")
class ApacheTraceTest extends TraceContract {
    @Override
    BrokerStack startStack() throws Exception {
        Targets.requireApacheBrokerRun("the message trace contract");
        return ApacheBroker.startStack(BROKER_OPTIONS);
    }
}
