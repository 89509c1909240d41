package rmq.interop.broker;

import org.junit.jupiter.api.DisplayName;

/** An rmq SLAVE follows an Apache 4.9.7 SYNC_MASTER (Apache name server): rmq's HA slave side on the wire. */
@DisplayName("HA: Apache 4.9.7 master + rmq slave")
class ApacheMasterRmqSlaveHaTest extends HaReplicationContract {
    @Override
    Kind masterKind() {
        return Kind.APACHE;
    }

    @Override
    Kind slaveKind() {
        return Kind.RMQ;
    }
}
