package rmq.interop.harness;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free ports for servers that bind more than one: a RocketMQ broker listening on P also binds
 * P+1 for replication (HA) and, in Apache's case, P-2 for its fast channel, so port 0 is not
 * enough when a test needs to know them all up front.
 */
public final class Ports {
    private Ports() {
    }

    /** A port P such that P-2, P and P+1 are free on every interface right now. */
    public static int freeBrokerPort() throws IOException {
        for (int attempt = 0; attempt < 200; attempt++) {
            int p = 20000 + ThreadLocalRandom.current().nextInt(12000);
            if (free(p - 2) && free(p) && free(p + 1)) {
                return p;
            }
        }
        throw new IOException("no free port triple P-2, P, P+1 found");
    }

    /** True when {@code port} can be bound on 0.0.0.0 (as the brokers bind it). */
    public static boolean free(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress("0.0.0.0", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
