package rmq.interop5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import rmq.interop.diff.DiffReport;
import rmq.interop.diff.NamesrvScenario;
import rmq.interop.diff.Observation;
import rmq.interop.harness.KnownDifferences;
import rmq.interop.harness.NameServer;
import rmq.interop.harness.RmqNamesrv;
import rmq.interop.harness5.Kit5;
import rmq.interop.support.Reports;
import rmq.interop.support.Targets;

/**
 * The name-server scenario with 5.x requests (protocol version of 5.x, 5.x registration
 * headers and bodies) against Apache's 5.x name server and ours.
 */
@DisplayName("differential with 5.x jars")
class Differential5Test {
    static final String KEY_PREFIX = "namesrv5-diff:";

    @Test
    @Timeout(120)
    @DisplayName("harness self-check: Apache 5.x vs Apache 5.x")
    void twoApache5NameServersAgree() throws Exception {
        List<Observation> first;
        List<Observation> second;
        try (NameServer a = Kit5.INSTANCE.startApacheNamesrv(new Properties())) {
            first = NamesrvScenario.run(Kit5.INSTANCE, a.address());
        }
        try (NameServer b = Kit5.INSTANCE.startApacheNamesrv(new Properties())) {
            second = NamesrvScenario.run(Kit5.INSTANCE, b.address());
        }
        DiffReport report = DiffReport.compare("apache5#1", first, "apache5#2", second);
        Reports.transcript("namesrv5-transcript-apache", "apache 5.x", first);
        Reports.publish("namesrv5-apache-vs-apache", report);
        assertFalse(report.hasMismatches(), report.summary());
        assertEquals(0, report.warnings(), report.summary());
    }

    @Test
    @Timeout(120)
    @DisplayName("Apache 5.x name server vs rmq name server")
    void rmqAnswersLikeApache5() throws Exception {
        Path bin = Targets.requireRmqNamesrvBinary();
        List<Observation> expected;
        List<Observation> actual;
        String label;
        try (NameServer a = Kit5.INSTANCE.startApacheNamesrv(new Properties())) {
            label = a.kind();
            expected = NamesrvScenario.run(Kit5.INSTANCE, a.address());
        }
        try (RmqNamesrv r = RmqNamesrv.start(bin)) {
            actual = NamesrvScenario.run(Kit5.INSTANCE, r.address());
        }
        Reports.transcript("namesrv5-transcript-rmq", "rmq (5.x requests)", actual);
        DiffReport report = DiffReport.compare(label, expected, "rmq", actual, KnownDifferences.load(), KEY_PREFIX);
        Reports.publish("namesrv5-apache-vs-rmq", report);
        assertFalse(report.hasMismatches(), report.summary()
                + " (full report above and in interop/java5/target/interop-reports)");
    }
}
