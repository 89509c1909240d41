package rmq.interop.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import rmq.interop.harness.Locations;
import rmq.interop.harness.RmqNamesrv;

/** JUnit-side policy for our binaries: fail under CI when missing, skip locally. */
public final class Targets {
    private Targets() {
    }

    /**
     * Path of our name server binary. If it is missing the test fails when {@code CI=true}
     * and is skipped (with the reason) otherwise.
     */
    public static Path requireRmqNamesrvBinary() {
        Path p = Locations.namesrvBinary();
        if (Files.isRegularFile(p) && Files.isExecutable(p)) {
            return p;
        }
        String msg = "our name server binary is missing: " + p
                + " — build it with `cargo build -p rmq-namesrv` (interop/run.sh does) or point RMQ_NAMESRV_BIN at it";
        if (Locations.isCi()) {
            Assertions.fail(msg + " [CI=true: missing binaries are failures]");
        }
        Assumptions.abort(msg + " [skipped locally; with CI=true this fails]");
        return p; // unreachable
    }

    /**
     * Path of our broker binary ({@code RMQ_BROKER_BIN}, default {@code target/debug/mqbroker});
     * same missing-binary policy as the name server.
     */
    public static Path requireRmqBrokerBinary() {
        Path p = Locations.brokerBinary();
        if (Files.isRegularFile(p) && Files.isExecutable(p)) {
            return p;
        }
        String msg = "our broker binary is missing: " + p
                + " — build it with `cargo build -p rmq-broker` (interop/run.sh does) or point RMQ_BROKER_BIN at it";
        if (Locations.isCi()) {
            Assertions.fail(msg + " [CI=true: missing binaries are failures]");
        }
        Assumptions.abort(msg + " [skipped locally; with CI=true this fails]");
        return p; // unreachable
    }

    /**
     * Whether the Apache-broker self-checks of the broker contracts run: always, unless
     * {@code RMQ_INTEROP_APACHE_BROKER=0}; then the test is skipped with a visible SKIPPED line,
     * or fails when {@code CI=true} (CI never skips the reference run).
     */
    public static void requireApacheBrokerRun(String what) {
        String env = System.getenv("RMQ_INTEROP_APACHE_BROKER");
        if (!"0".equals(env) && !"false".equalsIgnoreCase(env)) {
            return;
        }
        String msg = what + " against Apache's broker turned off by RMQ_INTEROP_APACHE_BROKER=" + env;
        if (Locations.isCi()) {
            Assertions.fail(msg + " [CI=true: the Apache self-checks must run]");
        }
        System.out.println("SKIPPED " + msg);
        Assumptions.abort(msg + " [skipped locally; with CI=true this fails]");
    }

    /** Starts our name server, applying the missing-binary policy first. */
    public static RmqNamesrv startRmqNamesrv() throws IOException {
        return RmqNamesrv.start(requireRmqNamesrvBinary());
    }
}
