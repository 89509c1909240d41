package rmq.interop.harness;

/**
 * A running name server under test, whichever implementation it is. Closing it stops it.
 */
public interface NameServer extends AutoCloseable {
    /** {@code HOST:PORT} clients connect to. */
    String address();

    /** A short label for reports, e.g. {@code apache-4.9.7} or {@code rmq}. */
    String kind();

    @Override
    void close();
}
