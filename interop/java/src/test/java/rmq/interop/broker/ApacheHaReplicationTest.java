package rmq.interop.broker;

import org.junit.jupiter.api.DisplayName;

/** Apache 4.9.7 SYNC_MASTER + Apache 4.9.7 SLAVE: proves the replication contract itself. */
@DisplayName("HA: Apache master + Apache slave (self-check)")
class ApacheHaReplicationTest extends HaReplicationContract {
    @Override
    Kind masterKind() {
        return Kind.APACHE;
    }

    @Override
    Kind slaveKind() {
        return Kind.APACHE;
    }
}
