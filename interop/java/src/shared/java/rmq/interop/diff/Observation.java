package rmq.interop.diff;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one request in a scenario produced on one server.
 *
 * @param step     scenario step id, e.g. {@code 09 route TopicA}
 * @param request  a human description of the request that was sent
 * @param code     response code, or -1 when no response arrived (timeout, connection error)
 * @param remark   response remark (compared only as information)
 * @param ext      all response extFields
 * @param body     raw response body (may be null)
 * @param typed    the view that must match: code, significant headers, body as a Java client decodes it
 * @param generic  every header and every body field, order-normalised (a mismatch is a warning)
 */
public record Observation(String step, String request, int code, String remark, Map<String, String> ext,
                          byte[] body, String typed, String generic) {

    public Observation {
        ext = ext == null ? new TreeMap<>() : new TreeMap<>(ext);
    }

    /** Raw body as text (bodies of name-server answers are JSON). */
    public String bodyText() {
        return body == null ? Canonical.NONE : new String(body, StandardCharsets.UTF_8);
    }
}
