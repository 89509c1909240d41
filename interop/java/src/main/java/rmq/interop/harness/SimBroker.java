package rmq.interop.harness;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

import org.apache.rocketmq.common.DataVersion;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.protocol.RequestCode;
import org.apache.rocketmq.common.protocol.body.RegisterBrokerBody;
import org.apache.rocketmq.common.protocol.body.TopicConfigSerializeWrapper;
import org.apache.rocketmq.common.protocol.header.namesrv.QueryDataVersionRequestHeader;
import org.apache.rocketmq.common.protocol.header.namesrv.RegisterBrokerRequestHeader;
import org.apache.rocketmq.common.protocol.header.namesrv.UnRegisterBrokerRequestHeader;
import org.apache.rocketmq.remoting.exception.RemotingException;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;

/**
 * A simulated Java broker as a name server sees it: it registers, re-registers, queries its data
 * version and unregisters with exactly the headers and bodies a 4.9 broker sends, over its own
 * TCP connection ({@link RawClient}). Nothing listens on {@link #brokerAddr()}; name servers never
 * connect to brokers, so a placeholder address is enough.
 *
 * <p>Closing it closes the registering connection, which makes name servers drop its routes.
 */
public final class SimBroker implements AutoCloseable {
    /** Default permissions: read + write. */
    public static final int PERM_RW = 6;
    /** Read + write + inherit, what TBW102 uses. */
    public static final int PERM_RWX = 7;
    /** Read only. */
    public static final int PERM_R = 4;

    private final String clusterName;
    private final String brokerName;
    private final long brokerId;
    private final String brokerAddr;
    private final String haServerAddr;
    private final Map<String, TopicConfig> topics = new LinkedHashMap<>();
    private final DataVersion dataVersion = new DataVersion();
    private boolean compressed;
    private RawClient conn;

    /**
     * @param timestamp fixed data-version timestamp, so that two runs of a scenario register byte-identical bodies
     */
    public SimBroker(String clusterName, String brokerName, long brokerId, String brokerAddr, String haServerAddr,
                     long timestamp) {
        this.clusterName = clusterName;
        this.brokerName = brokerName;
        this.brokerId = brokerId;
        this.brokerAddr = brokerAddr;
        this.haServerAddr = haServerAddr;
        this.dataVersion.setTimestamp(timestamp);
        this.dataVersion.setCounter(new AtomicLong(1));
    }

    /** Adds or replaces a topic in the table this broker registers. */
    public SimBroker topic(String name, int readQueues, int writeQueues, int perm) {
        topics.put(name, new TopicConfig(name, readQueues, writeQueues, perm));
        return this;
    }

    /** Removes a topic from the table this broker registers. */
    public SimBroker removeTopic(String name) {
        topics.remove(name);
        return this;
    }

    /** Registers with a zlib-compressed body (broker option {@code compressedRegister}). */
    public SimBroker compressed(boolean on) {
        this.compressed = on;
        return this;
    }

    /** Increments the data-version counter, as a broker does after any topic change. */
    public SimBroker bumpDataVersion() {
        dataVersion.getCounter().incrementAndGet();
        return this;
    }

    /** A copy of the current data version. */
    public DataVersion dataVersion() {
        DataVersion copy = new DataVersion();
        copy.assignNewOne(dataVersion);
        return copy;
    }

    private RawClient conn() {
        if (conn == null) {
            conn = new RawClient();
        }
        return conn;
    }

    /** Builds the REGISTER_BROKER request a 4.9 broker would send for the current state. */
    public RemotingCommand buildRegisterRequest() {
        TopicConfigSerializeWrapper wrapper = new TopicConfigSerializeWrapper();
        ConcurrentHashMap<String, TopicConfig> table = new ConcurrentHashMap<>(topics);
        wrapper.setTopicConfigTable(table);
        wrapper.setDataVersion(dataVersion());
        RegisterBrokerBody body = new RegisterBrokerBody();
        body.setTopicConfigSerializeWrapper(wrapper);
        body.setFilterServerList(new ArrayList<>());
        byte[] bytes = body.encode(compressed);

        RegisterBrokerRequestHeader h = new RegisterBrokerRequestHeader();
        h.setBrokerName(brokerName);
        h.setBrokerAddr(brokerAddr);
        h.setClusterName(clusterName);
        h.setHaServerAddr(haServerAddr);
        h.setBrokerId(brokerId);
        h.setCompressed(compressed);
        h.setBodyCrc32(crc32(bytes));
        RemotingCommand req = RemotingCommand.createRequestCommand(RequestCode.REGISTER_BROKER, h);
        req.setBody(bytes);
        // a real broker sets rocketmq.remoting.version at startup; without it Java sends version 0
        // and a name server would decode the body in the pre-3.0.11 format
        req.setVersion(MQVersion.CURRENT_VERSION);
        return req;
    }

    /** CRC32 masked to a positive int, as brokers put into {@code bodyCrc32}. */
    public static int crc32(byte[] bytes) {
        CRC32 c = new CRC32();
        c.update(bytes);
        return (int) (c.getValue() & 0x7FFFFFFF);
    }

    /** Sends REGISTER_BROKER to {@code nsAddr} over this broker's connection. */
    public RemotingCommand register(String nsAddr) throws InterruptedException, RemotingException {
        return conn().invoke(nsAddr, buildRegisterRequest(), 5000);
    }

    /** Sends UNREGISTER_BROKER. */
    public RemotingCommand unregister(String nsAddr) throws InterruptedException, RemotingException {
        UnRegisterBrokerRequestHeader h = new UnRegisterBrokerRequestHeader();
        h.setBrokerName(brokerName);
        h.setBrokerAddr(brokerAddr);
        h.setClusterName(clusterName);
        h.setBrokerId(brokerId);
        RemotingCommand req = RemotingCommand.createRequestCommand(RequestCode.UNREGISTER_BROKER, h);
        req.setVersion(MQVersion.CURRENT_VERSION);
        return conn().invoke(nsAddr, req, 5000);
    }

    /** Sends QUERY_DATA_VERSION with {@code version} as the body (the broker's own by default). */
    public RemotingCommand queryDataVersion(String nsAddr, DataVersion version) throws InterruptedException, RemotingException {
        QueryDataVersionRequestHeader h = new QueryDataVersionRequestHeader();
        h.setBrokerName(brokerName);
        h.setBrokerAddr(brokerAddr);
        h.setClusterName(clusterName);
        h.setBrokerId(brokerId);
        RemotingCommand req = RemotingCommand.createRequestCommand(RequestCode.QUERY_DATA_VERSION, h);
        req.setVersion(MQVersion.CURRENT_VERSION);
        req.setBody((version == null ? dataVersion() : version).encode());
        return conn().invoke(nsAddr, req, 5000);
    }

    public String clusterName() {
        return clusterName;
    }

    public String brokerName() {
        return brokerName;
    }

    public long brokerId() {
        return brokerId;
    }

    public String brokerAddr() {
        return brokerAddr;
    }

    public String haServerAddr() {
        return haServerAddr;
    }

    public Map<String, TopicConfig> topics() {
        return topics;
    }

    /** Closes the registering connection (the name server should then drop this broker). */
    @Override
    public void close() {
        if (conn != null) {
            conn.close();
            conn = null;
        }
    }
}
