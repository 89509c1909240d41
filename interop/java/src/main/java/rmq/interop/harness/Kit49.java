package rmq.interop.harness;

import java.io.IOException;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.rocketmq.common.DataVersion;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.protocol.body.ClusterInfo;
import org.apache.rocketmq.common.protocol.body.KVTable;
import org.apache.rocketmq.common.protocol.body.TopicList;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;

import rmq.interop.proto.ProtocolKit;
import rmq.interop.proto.Response;

/** {@link ProtocolKit} backed by the Apache RocketMQ 4.9.x jars of this project. */
public final class Kit49 implements ProtocolKit {
    public static final Kit49 INSTANCE = new Kit49();

    private Kit49() {
    }

    static Response toResponse(RemotingCommand r) {
        return new Response(r.getCode(), r.getRemark(), r.getExtFields(), r.getBody());
    }

    @Override
    public String release() {
        return MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION).replace("V", "").replace('_', '.');
    }

    @Override
    public int currentVersion() {
        return MQVersion.CURRENT_VERSION;
    }

    @Override
    public Requester newRequester() {
        RawClient raw = new RawClient();
        return new Requester() {
            @Override
            public Response invoke(String addr, int code, Map<String, String> ext, byte[] body, Integer version,
                                   long timeoutMillis) throws Exception {
                return toResponse(raw.invoke(addr, code, ext, body, version, timeoutMillis));
            }

            @Override
            public void close() {
                raw.close();
            }
        };
    }

    @Override
    public Broker newBroker(String cluster, String brokerName, long brokerId, String brokerAddr, String haServerAddr,
                            long timestamp) {
        SimBroker b = new SimBroker(cluster, brokerName, brokerId, brokerAddr, haServerAddr, timestamp);
        return new Broker() {
            @Override
            public Broker topic(String name, int readQueues, int writeQueues, int perm) {
                b.topic(name, readQueues, writeQueues, perm);
                return this;
            }

            @Override
            public Broker removeTopic(String name) {
                b.removeTopic(name);
                return this;
            }

            @Override
            public Broker compressed(boolean on) {
                b.compressed(on);
                return this;
            }

            @Override
            public Broker bumpDataVersion() {
                b.bumpDataVersion();
                return this;
            }

            @Override
            public String brokerName() {
                return b.brokerName();
            }

            @Override
            public long brokerId() {
                return b.brokerId();
            }

            @Override
            public Set<String> topicNames() {
                return b.topics().keySet();
            }

            @Override
            public long dataVersionCounter() {
                return b.dataVersion().getCounter().get();
            }

            @Override
            public Response register(String nsAddr) throws Exception {
                return toResponse(b.register(nsAddr));
            }

            @Override
            public Response unregister(String nsAddr) throws Exception {
                return toResponse(b.unregister(nsAddr));
            }

            @Override
            public Response queryDataVersion(String nsAddr, long counterDelta) throws Exception {
                DataVersion dv = b.dataVersion();
                dv.getCounter().addAndGet(counterDelta);
                return toResponse(b.queryDataVersion(nsAddr, dv));
            }

            @Override
            public void close() {
                b.close();
            }
        };
    }

    @Override
    public Class<?> topicRouteDataClass() {
        return TopicRouteData.class;
    }

    @Override
    public Class<?> clusterInfoClass() {
        return ClusterInfo.class;
    }

    @Override
    public Class<?> topicListClass() {
        return TopicList.class;
    }

    @Override
    public Class<?> kvTableClass() {
        return KVTable.class;
    }

    @Override
    public Class<?> dataVersionClass() {
        return DataVersion.class;
    }

    @Override
    public rmq.interop.harness.NameServer startApacheNamesrv(Properties config) throws IOException {
        return ApacheNamesrv.startInProcess(config);
    }
}
