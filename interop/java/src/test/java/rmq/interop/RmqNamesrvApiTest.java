package rmq.interop;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

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
}
