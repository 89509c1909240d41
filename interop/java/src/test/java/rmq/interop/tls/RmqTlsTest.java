package rmq.interop.tls;

import java.nio.file.Files;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.RmqBroker;
import rmq.interop.harness.RmqNamesrv;
import rmq.interop.harness.ServerProcess;
import rmq.interop.support.Targets;

/** The TLS contract against rmq's name server and broker (tls.* keys on their command lines). */
@DisplayName("Java 4.9 client with TLS vs rmq")
class RmqTlsTest extends TlsContract {
    @Override
    Servers start(String mode) throws Exception {
        RmqNamesrv ns = RmqNamesrv.start(Targets.requireRmqNamesrvBinary(), Map.of("tls.server.mode", mode));
        ServerProcess broker;
        try {
            broker = RmqBroker.start(Targets.requireRmqBrokerBinary(), ns.address(),
                    Map.of("tls.server.mode", mode, "tls.enable", "true"));
        } catch (Exception e) {
            ns.close();
            throw e;
        }
        return new Servers(ns, broker, () -> {
            try {
                return Files.readString(ns.process().logFile()) + Files.readString(broker.logFile());
            } catch (java.io.IOException e) {
                return "cannot read the logs: " + e;
            }
        });
    }
}
