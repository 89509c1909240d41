package rmq.interop.broker;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.BrokerStack;
import rmq.interop.harness.RmqBroker;
import rmq.interop.support.Targets;

/** The ACL contract against our name server + broker ({@code rocketmqHome} names the ACL home). */
@DisplayName("Java 4.9 clients with AclClientRPCHook vs rmq broker: ACL")
class RmqAclTest extends AclContract {
    @Override
    BrokerStack startStack(Path home) throws Exception {
        return RmqBroker.startStack(Targets.requireRmqNamesrvBinary(), Targets.requireRmqBrokerBinary(),
                Map.of("aclEnable", "true", "rocketmqHome", home.toString()));
    }
}
