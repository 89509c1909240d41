package rmq.interop5;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.NameServer;
import rmq.interop.support.Targets;

@DisplayName("Java 5.x client APIs vs rmq name server")
class Rmq5ClientApiTest extends Client5ApiContract {
    @Override
    NameServer startServer() throws Exception {
        return Targets.startRmqNamesrv();
    }
}
