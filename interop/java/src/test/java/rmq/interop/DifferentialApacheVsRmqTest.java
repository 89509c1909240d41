package rmq.interop;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import rmq.interop.diff.DiffReport;
import rmq.interop.diff.NamesrvScenario;
import rmq.interop.diff.Observation;
import rmq.interop.harness.ApacheNamesrv;
import rmq.interop.harness.Kit49;
import rmq.interop.harness.KnownDifferences;
import rmq.interop.harness.RmqNamesrv;
import rmq.interop.support.Reports;
import rmq.interop.support.Targets;

/**
 * The same request sequence against Apache's name server and ours. Fails on any difference a
 * Java client could observe (codes, significant headers, decoded bodies); prints warnings and
 * notes for differences it would not (extra fields, byte-level encoding, remarks). Mismatches
 * listed in {@code interop/known-differences.txt} are reported as KNOWN and do not fail.
 */
@DisplayName("differential: Apache name server vs rmq name server")
class DifferentialApacheVsRmqTest {
    /** @param config "" for defaults, or {@code key=value[,key=value]} given to both servers */
    @ParameterizedTest(name = "config [{0}]")
    @ValueSource(strings = {"", "orderMessageEnable=true"})
    @Timeout(120)
    void rmqAnswersLikeApache(String config) throws Exception {
        Path bin = Targets.requireRmqNamesrvBinary();
        Map<String, String> options = new LinkedHashMap<>();
        for (String kv : config.split(",")) {
            if (!kv.isBlank()) {
                String[] p = kv.split("=", 2);
                options.put(p[0].trim(), p[1].trim());
            }
        }
        Properties props = new Properties();
        props.putAll(options);
        String suffix = config.isEmpty() ? "" : "-" + config.replaceAll("[^A-Za-z0-9]+", "_");

        List<Observation> expected;
        List<Observation> actual;
        String apacheLabel;
        try (ApacheNamesrv a = ApacheNamesrv.startInProcess(props)) {
            apacheLabel = a.kind();
            expected = NamesrvScenario.run(Kit49.INSTANCE, a.address());
        }
        try (RmqNamesrv r = RmqNamesrv.start(bin, options)) {
            actual = NamesrvScenario.run(Kit49.INSTANCE, r.address());
        }
        Reports.transcript("namesrv-transcript-apache" + suffix, apacheLabel, expected);
        Reports.transcript("namesrv-transcript-rmq" + suffix, "rmq", actual);
        DiffReport report = DiffReport.compare(apacheLabel, expected, "rmq", actual, KnownDifferences.load());
        Reports.publish("namesrv-apache-vs-rmq" + suffix, report);
        assertFalse(report.hasMismatches(), report.summary()
                + " (full report above and in interop/java/target/interop-reports)");
    }
}
