package rmq.interop;

import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.ApacheNamesrv;
import rmq.interop.harness.NameServer;

/** The client-API contract against Apache's name server: proves the contract tests themselves. */
@DisplayName("Java 4.9 client APIs vs Apache name server (reference)")
class ApacheNamesrvApiTest extends NamesrvApiContract {
    @Override
    boolean isReference() {
        return true;
    }

    @Override
    NameServer startServer(Map<String, String> config) throws Exception {
        Properties props = new Properties();
        props.putAll(config);
        return ApacheNamesrv.startInProcess(props);
    }
}
