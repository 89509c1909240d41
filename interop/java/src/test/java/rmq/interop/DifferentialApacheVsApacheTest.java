package rmq.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import rmq.interop.diff.DiffReport;
import rmq.interop.diff.NamesrvScenario;
import rmq.interop.diff.Observation;
import rmq.interop.harness.ApacheNamesrv;
import rmq.interop.harness.Kit49;
import rmq.interop.support.Reports;

/**
 * Harness self-check: two Apache name servers must give identical answers to the scenario.
 * If this fails, the differential harness (not our server) is wrong.
 */
@DisplayName("differential harness self-check: Apache vs Apache")
class DifferentialApacheVsApacheTest {
    @Test
    @Timeout(120)
    void twoApacheNameServersAgreeCompletely() throws Exception {
        List<Observation> first;
        List<Observation> second;
        try (ApacheNamesrv a = ApacheNamesrv.startInProcess()) {
            first = NamesrvScenario.run(Kit49.INSTANCE, a.address());
        }
        try (ApacheNamesrv b = ApacheNamesrv.startInProcess()) {
            second = NamesrvScenario.run(Kit49.INSTANCE, b.address());
        }
        DiffReport report = DiffReport.compare("apache#1", first, "apache#2", second);
        Reports.transcript("namesrv-transcript-apache", "apache", first);
        Reports.publish("namesrv-apache-vs-apache", report);
        assertFalse(report.hasMismatches(), report.summary());
        assertEquals(0, report.warnings(), report.summary());
        assertEquals(0, report.notes(), report.summary());
        // sanity: the scenario really exercised the server (success and error answers)
        assertFalse(first.stream().noneMatch(o -> o.code() == 17), "no TOPIC_NOT_EXIST seen");
        assertFalse(first.stream().noneMatch(o -> o.code() == 22), "no QUERY_NOT_FOUND seen");
        assertFalse(first.stream().anyMatch(o -> o.code() == -1), "a request got no answer from Apache");
    }
}
