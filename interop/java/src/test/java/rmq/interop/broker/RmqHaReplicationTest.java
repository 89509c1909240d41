package rmq.interop.broker;

import org.junit.jupiter.api.DisplayName;

/** rmq SYNC_MASTER + rmq SLAVE, rmq name server: the pair under test. */
@DisplayName("HA: rmq master + rmq slave")
class RmqHaReplicationTest extends HaReplicationContract {
    @Override
    Kind masterKind() {
        return Kind.RMQ;
    }

    @Override
    Kind slaveKind() {
        return Kind.RMQ;
    }
}
