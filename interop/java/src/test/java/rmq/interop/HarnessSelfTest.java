package rmq.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;

import org.apache.rocketmq.common.protocol.RequestCode;
import org.apache.rocketmq.common.protocol.ResponseCode;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import rmq.interop.harness.ApacheNamesrv;
import rmq.interop.harness.RawClient;
import rmq.interop.harness.ServerProcess;

/** Checks the process helpers on something that always exists: Apache's name server in a child JVM. */
@DisplayName("harness: process helpers")
class HarnessSelfTest {
    @Test
    void parsesBootLines() {
        assertEquals("127.0.0.1:40123", ServerProcess.parseListeningAddress(
                "The Name Server boot success. serializeType=JSON, listening on 127.0.0.1:40123"));
        assertEquals("127.0.0.1:9876", ServerProcess.parseListeningAddress("listening on 127.0.0.1:9876 (apache)"));
        assertEquals("127.0.0.1:9876", ServerProcess.parseListeningAddress("listening on 127.0.0.1:9876."));
        assertEquals("[::1]:9876", ServerProcess.parseListeningAddress("listening on [::1]:9876"));
        assertNull(ServerProcess.parseListeningAddress("booting..."));
        assertNull(ServerProcess.parseListeningAddress("listening on nowhere"));
    }

    @Test
    @Timeout(90)
    void childJvmNameServerBootsServesAndStopsOnSigterm() throws Exception {
        ApacheNamesrv child = ApacheNamesrv.startChildJvm(Map.of());
        try (RawClient c = new RawClient()) {
            assertTrue(child.child().isAlive());
            RemotingCommand r = c.invoke(child.address(), RequestCode.GET_ROUTEINFO_BY_TOPIC, Map.of("topic", "Nope"),
                    null, null, 5000);
            assertEquals(ResponseCode.TOPIC_NOT_EXIST, r.getCode());
        } finally {
            Integer code = child.child().stop(Duration.ofSeconds(15));
            assertNotNull(code, "child JVM ignored SIGTERM\n" + child.child().describeTail());
            assertFalse(child.child().isAlive());
        }
    }
}
