package rmq.interop.proto;

import java.util.Map;
import java.util.TreeMap;

/** A response as the suites compare it, independent of the RocketMQ version that decoded it. */
public record Response(int code, String remark, Map<String, String> ext, byte[] body) {
    public Response {
        ext = ext == null ? new TreeMap<>() : new TreeMap<>(ext);
    }
}
