package rmq.interop.harness;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Finds the repository root, our binaries and a scratch directory, independent of the directory
 * Maven or an IDE was started from.
 */
public final class Locations {
    private Locations() {
    }

    /**
     * The repository root: {@code RMQ_REPO_ROOT} if set, otherwise the nearest ancestor of the
     * working directory that holds both a {@code Cargo.toml} and an {@code interop/} folder.
     */
    public static Path repoRoot() {
        String env = System.getenv("RMQ_REPO_ROOT");
        if (env != null && !env.isBlank()) {
            return Paths.get(env).toAbsolutePath().normalize();
        }
        Path dir = Paths.get("").toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("Cargo.toml")) && Files.isDirectory(p.resolve("interop"))) {
                return p.normalize();
            }
        }
        // interop/java is two levels below the root: the documented default layout
        return dir.resolve("../..").normalize();
    }

    /** Cargo's target directory: {@code CARGO_TARGET_DIR} if absolute, otherwise {@code <root>/target}. */
    public static Path cargoTargetDir() {
        String env = System.getenv("CARGO_TARGET_DIR");
        if (env != null && !env.isBlank()) {
            Path p = Paths.get(env);
            return p.isAbsolute() ? p : repoRoot().resolve(p).normalize();
        }
        return repoRoot().resolve("target");
    }

    /**
     * Where our binary {@code name} is expected: the environment variable {@code envVar} if set
     * (a relative value is tried against the working directory, then the repository root), else
     * {@code <target>/debug/<name>}. The path may not exist; callers decide whether to skip or fail.
     */
    public static Path binary(String envVar, String name) {
        String env = System.getenv(envVar);
        if (env != null && !env.isBlank()) {
            Path p = Paths.get(env);
            if (p.isAbsolute()) {
                return p.normalize();
            }
            Path fromCwd = p.toAbsolutePath().normalize();
            if (Files.exists(fromCwd)) {
                return fromCwd;
            }
            return repoRoot().resolve(p).normalize();
        }
        return cargoTargetDir().resolve("debug").resolve(name);
    }

    /** Our name server binary ({@code RMQ_NAMESRV_BIN}, default {@code target/debug/mqnamesrv}). */
    public static Path namesrvBinary() {
        return binary("RMQ_NAMESRV_BIN", "mqnamesrv");
    }

    /** Our broker binary ({@code RMQ_BROKER_BIN}, default {@code target/debug/mqbroker}). */
    public static Path brokerBinary() {
        return binary("RMQ_BROKER_BIN", "mqbroker");
    }

    /** A scratch directory for logs and data of started servers: {@code interop/java/target/interop-run}. */
    public static Path scratchDir() {
        String env = System.getenv("RMQ_INTEROP_SCRATCH");
        Path base = env != null && !env.isBlank()
                ? Paths.get(env)
                : repoRoot().resolve("interop").resolve("java").resolve("target").resolve("interop-run");
        return base.toAbsolutePath().normalize();
    }

    /** True when running under CI ({@code CI=true}): missing binaries are failures there, not skips. */
    public static boolean isCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }
}
