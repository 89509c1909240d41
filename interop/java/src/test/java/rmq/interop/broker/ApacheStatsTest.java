package rmq.interop.broker;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.BrokerStack;
import rmq.interop.support.Targets;

/** The statistics contract against Apache's broker 4.9.7: proves the tests (runs by default). */
@DisplayName("Java 4.9 admin vs Apache broker 4.9.7: statistics (self-check)")
class ApacheStatsTest extends StatsContract {
    @Override
    BrokerStack startStack() throws Exception {
        Targets.requireApacheBrokerRun("the statistics contract");
        return ApacheBroker.startStack(Map.of());
    }
}
