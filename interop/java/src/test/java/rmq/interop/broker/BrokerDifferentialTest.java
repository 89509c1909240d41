package rmq.interop.broker;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import rmq.interop.diff.DiffReport;
import rmq.interop.diff.Observation;
import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.BrokerStack;
import rmq.interop.harness.KnownDifferences;
import rmq.interop.harness.RmqBroker;
import rmq.interop.support.Reports;
import rmq.interop.support.Targets;

/**
 * The same fixed broker scenario against Apache's name server + broker 4.9.7 and against ours;
 * what the Java client observes must match step by step (report in target/interop-reports).
 */
@DisplayName("Broker differential: Apache 4.9.7 vs rmq")
class BrokerDifferentialTest {
    static final String KEY_PREFIX = "broker-diff:";

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void apacheVsRmq() throws Exception {
        var nsBin = Targets.requireRmqNamesrvBinary();
        var brokerBin = Targets.requireRmqBrokerBinary();
        List<Observation> apache;
        String apacheLabel;
        try (BrokerStack a = ApacheBroker.startStack(Map.of())) {
            apacheLabel = a.kind();
            apache = BrokerScenario.run(a);
        }
        List<Observation> ours;
        try (BrokerStack r = RmqBroker.startStack(nsBin, brokerBin, Map.of())) {
            ours = BrokerScenario.run(r);
        }
        Reports.transcript("broker-transcript-apache", apacheLabel, apache);
        Reports.transcript("broker-transcript-rmq", "rmq", ours);
        DiffReport report = DiffReport.compare(apacheLabel, apache, "rmq", ours, KnownDifferences.load(), KEY_PREFIX);
        Reports.publish("broker-differential", report);
        assertFalse(report.hasMismatches(), report.summary() + "\n" + report.render(false));
    }
}
