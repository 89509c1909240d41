package rmq.interop5;

import java.util.Properties;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.NameServer;
import rmq.interop.harness5.Kit5;

@DisplayName("Java 5.x client APIs vs Apache 5.x name server (reference)")
class Apache5ClientApiTest extends Client5ApiContract {
    @Override
    NameServer startServer() throws Exception {
        return Kit5.INSTANCE.startApacheNamesrv(new Properties());
    }
}
