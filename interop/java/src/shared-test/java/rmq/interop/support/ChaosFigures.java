package rmq.interop.support;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The figures a chaos run's summary is made of, in one shape for every chaos run (failover in
 * {@code ../java5}, the single broker here) so scripts and the README read them alike.
 */
public final class ChaosFigures {
    private ChaosFigures() {
    }

    /** n, p50 and max (nearest-rank p50) of a list of milliseconds, plus the sorted values. */
    public static Map<String, Object> stats(List<Long> ms) {
        Map<String, Object> out = new LinkedHashMap<>();
        List<Long> s = new ArrayList<>(ms);
        Collections.sort(s);
        out.put("n", s.size());
        out.put("p50", s.isEmpty() ? null : s.get((s.size() - 1) / 2));
        out.put("max", s.isEmpty() ? null : s.get(s.size() - 1));
        out.put("values", s);
        return out;
    }

    /** Minimal JSON for maps, lists, strings, numbers, booleans and null (the summary's last line). */
    public static String json(Object o) {
        if (o == null) {
            return "null";
        }
        if (o instanceof Number || o instanceof Boolean) {
            return o.toString();
        }
        if (o instanceof Map<?, ?> m) {
            StringBuilder sb = new StringBuilder("{");
            m.forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "").append(json(String.valueOf(k))).append(':').append(json(v)));
            return sb.append('}').toString();
        }
        if (o instanceof List<?> l) {
            StringBuilder sb = new StringBuilder("[");
            l.forEach(v -> sb.append(sb.length() > 1 ? "," : "").append(json(v)));
            return sb.append(']').toString();
        }
        String s = o.toString();
        StringBuilder sb = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                default -> {
                    if (ch < 0x20) {
                        sb.append(String.format("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
