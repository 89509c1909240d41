package rmq.interop.proto;

import java.io.IOException;
import java.util.Properties;

import rmq.interop.harness.NameServer;

/**
 * What a version-independent suite needs from one Apache RocketMQ release on the classpath:
 * raw requests, a simulated broker, the protocol classes for decoding bodies, and Apache's name
 * server. {@code ../java} implements it for 4.9.x, {@code ../java5} for 5.x.
 */
public interface ProtocolKit {
    /** e.g. {@code 4.9.7}. */
    String release();

    /** The protocol version a started client of this release sends. */
    int currentVersion();

    /** A new connection pool for raw requests. */
    Requester newRequester();

    /** A simulated broker (not yet registered). */
    Broker newBroker(String cluster, String brokerName, long brokerId, String brokerAddr, String haServerAddr,
                     long dataVersionTimestamp);

    /** Protocol classes used to decode bodies the way this release's clients do. */
    Class<?> topicRouteDataClass();

    Class<?> clusterInfoClass();

    Class<?> topicListClass();

    Class<?> kvTableClass();

    Class<?> dataVersionClass();

    /** Starts this release's name server in-process on an ephemeral port. */
    NameServer startApacheNamesrv(Properties config) throws IOException;

    /** Sends requests; one TCP connection per server address. */
    interface Requester extends AutoCloseable {
        /** @param version null for {@link #currentVersion()} */
        Response invoke(String addr, int code, java.util.Map<String, String> ext, byte[] body, Integer version,
                        long timeoutMillis) throws Exception;

        @Override
        void close();
    }

    /** A broker as a name server sees it, registering over its own connection. */
    interface Broker extends AutoCloseable {
        Broker topic(String name, int readQueues, int writeQueues, int perm);

        Broker removeTopic(String name);

        Broker compressed(boolean on);

        Broker bumpDataVersion();

        String brokerName();

        long brokerId();

        java.util.Set<String> topicNames();

        long dataVersionCounter();

        Response register(String nsAddr) throws Exception;

        Response unregister(String nsAddr) throws Exception;

        /** QUERY_DATA_VERSION with the broker's data version, its counter raised by {@code counterDelta}. */
        Response queryDataVersion(String nsAddr, long counterDelta) throws Exception;

        /** Closes the registering connection. */
        @Override
        void close();
    }
}
