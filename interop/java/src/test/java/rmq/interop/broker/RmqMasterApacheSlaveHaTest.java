package rmq.interop.broker;

import org.junit.jupiter.api.DisplayName;

/** An Apache 4.9.7 SLAVE follows an rmq SYNC_MASTER (rmq name server): rmq's HA master side on the wire. */
@DisplayName("HA: rmq master + Apache 4.9.7 slave")
class RmqMasterApacheSlaveHaTest extends HaReplicationContract {
    @Override
    Kind masterKind() {
        return Kind.RMQ;
    }

    @Override
    Kind slaveKind() {
        return Kind.APACHE;
    }
}
