package rmq.interop.harness;

import java.util.HashMap;
import java.util.Map;

import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.remoting.exception.RemotingConnectException;
import org.apache.rocketmq.remoting.exception.RemotingSendRequestException;
import org.apache.rocketmq.remoting.exception.RemotingTimeoutException;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyRemotingClient;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;

/**
 * Sends hand-made remoting requests through Apache's own Netty client, so the bytes on the wire
 * are exactly what a Java peer would send. One instance = one TCP connection per server address.
 */
public final class RawClient implements AutoCloseable {
    private final NettyRemotingClient client;

    public RawClient() {
        NettyClientConfig cfg = new NettyClientConfig();
        cfg.setClientWorkerThreads(2);
        cfg.setClientCallbackExecutorThreads(2);
        client = new NettyRemotingClient(cfg);
        client.start();
    }

    /** The underlying client, for callers that build their own {@link RemotingCommand}. */
    public NettyRemotingClient netty() {
        return client;
    }

    /**
     * Sends request {@code code} with the given extFields and body.
     *
     * @param version the {@code version} header value, or null for {@link MQVersion#CURRENT_VERSION}
     *                (what a started Java client sends)
     */
    public RemotingCommand invoke(String addr, int code, Map<String, String> ext, byte[] body, Integer version,
                                  long timeoutMillis) throws InterruptedException, RemotingConnectException,
            RemotingSendRequestException, RemotingTimeoutException {
        RemotingCommand req = RemotingCommand.createRequestCommand(code, null);
        if (ext != null && !ext.isEmpty()) {
            req.setExtFields(new HashMap<>(ext));
        }
        req.setVersion(version != null ? version : MQVersion.CURRENT_VERSION);
        req.setBody(body);
        return client.invokeSync(addr, req, timeoutMillis);
    }

    /** Sends an already-built request. */
    public RemotingCommand invoke(String addr, RemotingCommand req, long timeoutMillis) throws InterruptedException,
            RemotingConnectException, RemotingSendRequestException, RemotingTimeoutException {
        return client.invokeSync(addr, req, timeoutMillis);
    }

    /** Closes the connection(s) and the client's threads. */
    @Override
    public void close() {
        client.shutdown();
    }
}
