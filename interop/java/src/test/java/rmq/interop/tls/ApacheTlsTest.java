package rmq.interop.tls;

import java.util.List;
import java.util.Map;

import org.apache.rocketmq.remoting.common.TlsMode;
import org.apache.rocketmq.remoting.netty.TlsSystemConfig;
import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.ApacheNamesrv;
import rmq.interop.harness.ServerProcess;
import rmq.interop.support.Targets;

/**
 * The TLS contract against Apache 4.9.7 (self-check): its name server in this JVM, started while
 * {@code TlsSystemConfig.tlsMode} says the mode (its handshake handler keeps the mode it started
 * with), and its broker in a child JVM with {@code -Dtls.server.mode} and {@code -Dtls.enable=true}.
 */
@DisplayName("Java 4.9 client with TLS vs Apache 4.9.7 (self-check)")
class ApacheTlsTest extends TlsContract {
    @Override
    Servers start(String mode) throws Exception {
        Targets.requireApacheBrokerRun("the TLS contract");
        TlsMode before = TlsSystemConfig.tlsMode;
        ApacheNamesrv ns;
        TlsSystemConfig.tlsMode = TlsMode.parse(mode);
        try {
            ns = ApacheNamesrv.startInProcess();
        } finally {
            TlsSystemConfig.tlsMode = before;
        }
        ServerProcess broker;
        try {
            broker = ApacheBroker.start(ns.address(),
                    List.of("-Xmx384m", "-Xms128m", "-XX:+UseSerialGC", "-Dtls.server.mode=" + mode, "-Dtls.enable=true"), Map.of());
        } catch (Exception e) {
            ns.close();
            throw e;
        }
        return new Servers(ns, broker, () -> "" /* Apache logs the refusal through its own logger, not captured here */);
    }
}
