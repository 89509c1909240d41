package rmq.interop;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import rmq.interop.harness.Locations;
import rmq.interop.harness.NameServer;
import rmq.interop.harness.RmqNamesrv;
import rmq.interop.support.Targets;

/** The client-API contract against our name server binary. */
@DisplayName("Java 4.9 client APIs vs rmq name server")
class RmqNamesrvApiTest extends NamesrvApiContract {
    @Override
    boolean isReference() {
        return false;
    }

    @Override
    NameServer startServer(Map<String, String> config) throws Exception {
        return RmqNamesrv.start(Targets.requireRmqNamesrvBinary(), config);
    }

    @Test
    void stopsOnSigterm() {
        RmqNamesrv rmq = (RmqNamesrv) ns;
        Integer code = rmq.process().stop(Duration.ofSeconds(10));
        assertNotNull(code, "mqnamesrv did not exit within 10 s of SIGTERM (had to be killed)\n" + rmq.process().describeTail());
        // 0 = handled the signal and exited cleanly; 143 = died of SIGTERM without a handler
        assertTrue(code == 0 || code == 143, "unexpected exit code after SIGTERM: " + code + "\n" + rmq.process().describeTail());
        System.out.println("mqnamesrv exit code after SIGTERM: " + code);
    }

    /**
     * Like a server started as {@code mqnamesrv ... 2>&1 | head -1}: the reader of its
     * stdout/stderr pipe goes away after the boot line. Shutting down must still exit cleanly.
     */
    @Test
    void stopsCleanlyWhenItsOutputPipeIsGone() throws Exception {
        unlessKnownDifference("stopsCleanlyWhenItsOutputPipeIsGone");
        Path dir = Files.createTempDirectory(Locations.scratchDir(), "closed-pipe-");
        Process p = new ProcessBuilder(Targets.requireRmqNamesrvBinary().toString(), "--listenPort", "0",
                "--kvConfigPath", dir.resolve("kv.json").toString())
                .redirectErrorStream(true).start();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String boot = r.readLine();
            assertNotNull(boot, "no boot line");
            r.close(); // no other thread reads: the pipe's read end is really gone now
            Thread.sleep(300);
            p.toHandle().destroy(); // SIGTERM
            assertTrue(p.waitFor(10, TimeUnit.SECONDS), "no exit within 10 s of SIGTERM");
            int code = p.exitValue();
            assertTrue(code == 0 || code == 143, "exit code after SIGTERM with its output pipe closed: " + code
                    + " (101 = a Rust panic, e.g. eprintln! failing on the broken stderr; its message is lost)");
        } finally {
            p.destroyForcibly();
        }
    }
}
