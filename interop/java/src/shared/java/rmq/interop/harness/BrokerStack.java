package rmq.interop.harness;

/**
 * A name server plus one master broker registered with it, whichever implementation runs them
 * (ours or Apache's). Clients get {@link #namesrvAddr()}; admin calls that target the broker
 * directly use {@link #brokerAddr()}. Closing it stops both.
 */
public interface BrokerStack extends AutoCloseable {
    /** {@code HOST:PORT} of the name server. */
    String namesrvAddr();

    /** {@code HOST:PORT} the broker registered (what clients connect to). */
    String brokerAddr();

    String brokerName();

    String clusterName();

    /** A short label for reports, e.g. {@code rmq} or {@code apache-V4_9_7}. */
    String kind();

    /** The broker's process (a child process in both implementations). */
    ServerProcess brokerProcess();

    @Override
    void close();
}
