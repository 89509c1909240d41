package rmq.interop.diff;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.alibaba.fastjson.JSON;

import org.apache.rocketmq.remoting.protocol.RemotingSerializable;

/**
 * Order-independent text forms of JSON bodies, for comparing two servers' answers.
 *
 * <ul>
 *   <li>{@link #generic}: every field the server sent, keys sorted, arrays treated as sets.
 *       Parsed with fastjson, so unquoted numeric keys ({@code {0:"addr"}}) are accepted.</li>
 *   <li>{@link #typed}: only what a Java client sees after decoding into the protocol class
 *       (unknown fields dropped, defaults filled in), then put into the generic form.</li>
 * </ul>
 * Name-server answers have no ordered arrays (topic lists, queue datas, broker datas are sets), so
 * sorting arrays loses nothing.
 */
public final class Canonical {
    private Canonical() {
    }

    public static final String NONE = "<none>";

    /** Canonical form of every field in {@code body}. */
    public static String generic(byte[] body) {
        if (body == null || body.length == 0) {
            return NONE;
        }
        String text = new String(body, StandardCharsets.UTF_8);
        try {
            return write(JSON.parse(text));
        } catch (RuntimeException e) {
            return "<unparseable JSON (" + e.getMessage() + "): " + abbreviate(text, 300) + ">";
        }
    }

    /** Canonical form of {@code body} as seen through Java class {@code cls}. */
    public static String typed(byte[] body, Class<?> cls) {
        if (body == null || body.length == 0) {
            return NONE;
        }
        try {
            Object obj = RemotingSerializable.decode(body, cls);
            if (obj == null) {
                return "<decoded to null as " + cls.getSimpleName() + ">";
            }
            return write(JSON.parse(JSON.toJSONString(obj)));
        } catch (RuntimeException e) {
            return "<undecodable as " + cls.getSimpleName() + " (" + e + "): "
                    + abbreviate(new String(body, StandardCharsets.UTF_8), 300) + ">";
        }
    }

    /** Canonical text of a parsed JSON value (fastjson maps/lists/scalars). */
    public static String write(Object v) {
        StringBuilder sb = new StringBuilder();
        write(v, sb);
        return sb.toString();
    }

    private static void write(Object v, StringBuilder sb) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Map) {
            TreeMap<String, Object> sorted = new TreeMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                sorted.put(String.valueOf(e.getKey()), e.getValue());
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<String, Object> e : sorted.entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                quote(e.getKey(), sb);
                sb.append(':');
                write(e.getValue(), sb);
            }
            sb.append('}');
        } else if (v instanceof Collection) {
            List<String> items = new ArrayList<>();
            for (Object o : (Collection<?>) v) {
                items.add(write(o));
            }
            items.sort(null);
            sb.append('[').append(String.join(",", items)).append(']');
        } else if (v instanceof CharSequence) {
            quote(v.toString(), sb);
        } else if (v instanceof Number || v instanceof Boolean) {
            sb.append(v);
        } else {
            quote(String.valueOf(v), sb);
        }
    }

    private static void quote(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        sb.append('"');
    }

    /** Shortens {@code s} to {@code max} characters with an ellipsis. */
    public static String abbreviate(String s, int max) {
        if (s == null) {
            return "null";
        }
        return s.length() <= max ? s : s.substring(0, max) + "…(" + s.length() + " chars)";
    }
}
