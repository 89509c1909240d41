package rmq.interop.broker;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;

import rmq.interop.harness.ApacheBroker;
import rmq.interop.harness.BrokerStack;
import rmq.interop.support.Targets;

/**
 * The ACL contract against Apache's broker 4.9.7: proves the tests (runs by default). Apache's
 * ACL finds its files under the {@code rocketmq.home.dir} system property (or ROCKETMQ_HOME),
 * not under the broker's {@code rocketmqHome} option.
 */
@DisplayName("Java 4.9 clients with AclClientRPCHook vs Apache broker 4.9.7: ACL (self-check)")
class ApacheAclTest extends AclContract {
    @Override
    BrokerStack startStack(Path home) throws Exception {
        Targets.requireApacheBrokerRun("the ACL contract");
        return ApacheBroker.startStack(Map.of("aclEnable", "true"), List.of("-Drocketmq.home.dir=" + home));
    }
}
