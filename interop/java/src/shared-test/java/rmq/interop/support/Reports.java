package rmq.interop.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import rmq.interop.diff.DiffReport;
import rmq.interop.diff.Observation;
import rmq.interop.harness.Locations;

/** Writes differential reports next to the build output so CI logs and humans can find them. */
public final class Reports {
    private Reports() {
    }

    /** {@code rmq.interop.reports} (set by each project's Surefire config), else interop/java/target/interop-reports. */
    private static Path dir() throws IOException {
        String prop = System.getProperty("rmq.interop.reports");
        Path dir = prop != null && !prop.isBlank() ? Path.of(prop)
                : Locations.repoRoot().resolve("interop/java/target/interop-reports");
        Files.createDirectories(dir);
        return dir;
    }

    /**
     * Prints the differences of {@code report} and saves the full report (every step) as
     * {@code interop/java/target/interop-reports/NAME.txt}.
     */
    public static Path publish(String name, DiffReport report) throws IOException {
        System.out.println(report.render(false));
        Path f = dir().resolve(name + ".txt");
        Files.writeString(f, report.render(true), StandardCharsets.UTF_8);
        System.out.println("report saved to " + f);
        return f;
    }

    /** Saves (without printing) the full transcript of one run. */
    public static Path transcript(String name, String label, List<Observation> run) throws IOException {
        Path f = dir().resolve(name + ".txt");
        Files.writeString(f, DiffReport.transcript(label, run), StandardCharsets.UTF_8);
        return f;
    }
}
