package rmq.interop.broker;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.BrokerStack;
import rmq.interop.support.Targets;

/** The request-reply contract through Apache's broker 4.9.7: proves the tests (runs by default). */
@DisplayName("Java 4.9 and rmq-client request-reply through Apache broker 4.9.7 (self-check)")
class ApacheRequestReplyTest extends RequestReplyContract {
    @Override
    BrokerStack startStack() throws Exception {
        Targets.requireApacheBrokerRun("the request-reply contract");
        return ApacheBroker.startStack(Map.of());
    }
}
