package rmq.interop.diff;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

import rmq.interop.harness.Await;
import rmq.interop.proto.Codes;
import rmq.interop.proto.ProtocolKit;
import rmq.interop.proto.ProtocolKit.Broker;
import rmq.interop.proto.ProtocolKit.Requester;
import rmq.interop.proto.Response;

/**
 * A fixed sequence of name-server requests, run identically against any name server. The result
 * is one {@link Observation} per step; {@link DiffReport} compares two runs.
 *
 * <p>It covers: empty-state answers, registration of masters/slaves/compressed bodies, the
 * ORDER_TOPIC_CONFIG KV namespace showing up in register answers and routes, both route JSON
 * encodings (version ≥ 401 vs legacy, {@code acceptStandardJsonOnly}), cluster info, topic lists,
 * QUERY_DATA_VERSION {@code changed} semantics, re-registration with an unchanged / bumped data
 * version, the KV commands, write-permission wipe/add, topic deletion, unregistration, and route
 * removal when a registering connection closes.
 *
 * <p>Each step uses deterministic names and a fixed data-version timestamp, so two correct servers
 * must give the same typed answers. Requests, simulated brokers and the classes used to decode
 * answers come from a {@link ProtocolKit}, so the same scenario runs with 4.9 or 5.x jars.
 */
public final class NamesrvScenario {
    /** Protocol version a Go client sends (4.5.2): routes come back in fastjson's legacy encoding. */
    public static final int LEGACY_VERSION = 317;
    /** How long a server gets to notice a closed connection. */
    public static final Duration CLOSE_DETECTION = Duration.ofSeconds(10);

    public static final String CLUSTER = "InteropCluster";
    public static final String OTHER_CLUSTER = "OtherCluster";
    static final long TS = 1718000000000L;
    static final int PERM_R = Codes.PERM_READ;
    static final int PERM_RW = Codes.PERM_READ | Codes.PERM_WRITE;
    static final int PERM_RWX = PERM_RW | Codes.PERM_INHERIT;

    private interface Action {
        Response run() throws Exception;
    }

    private enum Body {
        NONE, ROUTE, CLUSTER, TOPICS, KV, DATA_VERSION
    }

    private final ProtocolKit kit;
    private final String ns;
    private final Requester admin;
    private final List<Observation> out = new ArrayList<>();
    private int seq;

    private NamesrvScenario(ProtocolKit kit, String nsAddr) {
        this.kit = kit;
        this.ns = nsAddr;
        this.admin = kit.newRequester();
    }

    /** Runs the whole scenario against the name server at {@code nsAddr}. */
    public static List<Observation> run(ProtocolKit kit, String nsAddr) throws Exception {
        NamesrvScenario s = new NamesrvScenario(kit, nsAddr);
        try {
            s.script();
        } finally {
            s.admin.close();
        }
        return s.out;
    }

    private void script() throws Exception {
        Broker a0 = kit.newBroker(CLUSTER, "broker-a", 0, "127.0.0.1:30911", "127.0.0.1:30912", TS)
                .topic("TopicA", 4, 4, PERM_RW)
                .topic("TopicShared", 4, 4, PERM_RW)
                .topic("TopicOrder", 2, 2, PERM_RW)
                .topic("TBW102", 8, 8, PERM_RWX);
        Broker a1 = kit.newBroker(CLUSTER, "broker-a", 1, "127.0.0.1:30921", "127.0.0.1:30922", TS)
                .topic("TopicA", 4, 4, PERM_RW)
                .topic("TopicShared", 4, 4, PERM_RW)
                .topic("TopicOrder", 2, 2, PERM_RW)
                .topic("TBW102", 8, 8, PERM_RWX);
        Broker b0 = kit.newBroker(CLUSTER, "broker-b", 0, "127.0.0.1:31911", "127.0.0.1:31912", TS)
                .topic("TopicShared", 2, 2, PERM_RW)
                .topic("TopicB", 8, 8, PERM_RW)
                .topic("TopicReadOnly", 4, 4, PERM_R);
        Broker c0 = kit.newBroker(OTHER_CLUSTER, "broker-c", 0, "127.0.0.1:32911", "127.0.0.1:32912", TS)
                .topic("TopicC", 3, 3, PERM_RW)
                .topic("TopicShared", 1, 1, PERM_RW);
        // compressed registration is isolated on its own broker so that a server rejecting it
        // shows one mismatch instead of changing every later answer
        Broker z0 = kit.newBroker("ZipCluster", "broker-z", 0, "127.0.0.1:35911", "127.0.0.1:35912", TS)
                .topic("TopicZip", 5, 5, PERM_RW)
                .compressed(true);
        try {
            // --- empty server
            route("TopicA", null, null);
            step("cluster info (empty)", "GET_BROKER_CLUSTER_INFO", Body.CLUSTER,
                    () -> admin.invoke(ns, Codes.GET_BROKER_CLUSTER_INFO, null, null, null, 5000));
            allTopics();
            kvGet("ns1", "k1");
            kvList("ns1");

            // --- order-topic config first, so register answers carry it
            kvPut(Codes.NAMESPACE_ORDER_TOPIC_CONFIG, "TopicOrder", "broker-a:2");

            // --- registrations
            register("broker-a master", a0);
            register("broker-a slave", a1);
            register("broker-b master", b0);
            register("broker-c master", c0);
            register("broker-z master, compressed body (4.9 broker option compressedRegister=true)", z0);
            route("TopicZip", null, null, "registered compressed");
            step("unregister broker-z", "UNREGISTER_BROKER broker-z id 0", Body.NONE, () -> z0.unregister(ns));
            z0.close();

            // --- routes in both encodings
            route("TopicA", null, null);
            route("TopicShared", null, null);
            route("TopicShared", LEGACY_VERSION, null);
            route("TopicShared", LEGACY_VERSION, Boolean.TRUE);
            route("TopicOrder", null, null);
            route("TopicReadOnly", null, null);
            route("TopicC", null, null);
            route("TBW102", null, null);
            route("NoSuchTopic", null, null);
            clusterInfo();
            allTopics();
            topicsByCluster(CLUSTER);
            topicsByCluster(OTHER_CLUSTER);
            topicsByCluster("NoSuchCluster");

            // --- data version semantics
            step("query data version, same version", "QUERY_DATA_VERSION broker-a master, its current version",
                    Body.DATA_VERSION, () -> a0.queryDataVersion(ns, 0), "changed");
            step("query data version, newer version", "QUERY_DATA_VERSION broker-a master, counter+1",
                    Body.DATA_VERSION, () -> a0.queryDataVersion(ns, 1), "changed");
            Broker ghost = kit.newBroker(CLUSTER, "broker-ghost", 0, "127.0.0.1:33911", "127.0.0.1:33912", TS);
            try {
                step("query data version, unknown broker", "QUERY_DATA_VERSION never-registered broker",
                        Body.DATA_VERSION, () -> ghost.queryDataVersion(ns, 0), "changed");
            } finally {
                ghost.close();
            }

            // --- re-registration: same data version must not change queue data
            a0.topic("TopicA", 16, 16, PERM_RW);
            register("broker-a master again, same data version, TopicA now 16 queues", a0);
            route("TopicA", null, null);
            // bumped version: queue data updated; a topic missing from the body is not removed
            a0.removeTopic("TopicOrder").topic("TopicNew", 1, 1, PERM_RW).bumpDataVersion();
            register("broker-a master again, new data version, +TopicNew -TopicOrder", a0);
            route("TopicA", null, null);
            route("TopicNew", null, null);
            route("TopicOrder", null, null);
            step("query data version after re-register", "QUERY_DATA_VERSION broker-a master, its current version",
                    Body.DATA_VERSION, () -> a0.queryDataVersion(ns, 0), "changed");

            // --- unit-topic lists (mqadmin's topicList -c and the dashboard read them)
            step("unit topics", "GET_UNIT_TOPIC_LIST", Body.TOPICS,
                    () -> admin.invoke(ns, Codes.GET_UNIT_TOPIC_LIST, null, null, null, 5000));
            step("topics with unit subscriptions", "GET_HAS_UNIT_SUB_TOPIC_LIST", Body.TOPICS,
                    () -> admin.invoke(ns, Codes.GET_HAS_UNIT_SUB_TOPIC_LIST, null, null, null, 5000));
            step("non-unit topics with unit subscriptions", "GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST", Body.TOPICS,
                    () -> admin.invoke(ns, Codes.GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST, null, null, null, 5000));

            // --- name-server settings: the values are each server's own (paths, ports), so the
            // body is compared as the keys every release writes, with their presence only
            step("get namesrv config", "GET_NAMESRV_CONFIG (keys kvConfigPath, enableAllTopicList, orderMessageEnable)",
                    Body.NONE, () -> commonConfigKeys(admin.invoke(ns, Codes.GET_NAMESRV_CONFIG, null, null, null, 5000)));
            step("update namesrv config configStorePath (CVE-2023-37582)", "UPDATE_NAMESRV_CONFIG configStorePath=...",
                    Body.NONE, () -> admin.invoke(ns, Codes.UPDATE_NAMESRV_CONFIG, null,
                            "configStorePath=/tmp/rmq-interop-never-written/namesrv.properties\n"
                                    .getBytes(java.nio.charset.StandardCharsets.UTF_8), null, 5000));
            step("update namesrv config enableAllTopicList=true", "UPDATE_NAMESRV_CONFIG enableAllTopicList=true",
                    Body.NONE, () -> admin.invoke(ns, Codes.UPDATE_NAMESRV_CONFIG, null,
                            "enableAllTopicList=true\n".getBytes(java.nio.charset.StandardCharsets.UTF_8), null, 5000));
            allTopics();

            // --- KV config
            kvPut("ns1", "k1", "v1");
            kvPut("ns1", "k2", "v2");
            kvGet("ns1", "k1");
            kvGet("ns1", "missing");
            kvList("ns1");
            kvList("nsMissing");
            kvPut("ns1", "k1", "v1-updated");
            kvGet("ns1", "k1");
            kvDelete("ns1", "k1");
            kvGet("ns1", "k1");
            kvList("ns1");
            kvDelete("ns1", "never-existed");
            kvDelete("ns1", "k2");
            kvList("ns1", "after its last key was deleted");

            // --- write permission
            step("wipe write perm broker-a", "WIPE_WRITE_PERM_OF_BROKER brokerName=broker-a", Body.NONE,
                    () -> admin.invoke(ns, Codes.WIPE_WRITE_PERM_OF_BROKER, Map.of("brokerName", "broker-a"),
                            null, null, 5000), "wipeTopicCount");
            route("TopicA", null, null);
            route("TopicShared", null, null);
            step("add write perm broker-a", "ADD_WRITE_PERM_OF_BROKER brokerName=broker-a", Body.NONE,
                    () -> admin.invoke(ns, Codes.ADD_WRITE_PERM_OF_BROKER, Map.of("brokerName", "broker-a"),
                            null, null, 5000), "addTopicCount");
            route("TopicA", null, null);
            route("TBW102", null, null, "after add write perm");
            step("wipe write perm unknown broker", "WIPE_WRITE_PERM_OF_BROKER brokerName=broker-none", Body.NONE,
                    () -> admin.invoke(ns, Codes.WIPE_WRITE_PERM_OF_BROKER, Map.of("brokerName", "broker-none"),
                            null, null, 5000), "wipeTopicCount");

            // --- topic deletion
            step("delete topic TopicB", "DELETE_TOPIC_IN_NAMESRV topic=TopicB", Body.NONE,
                    () -> admin.invoke(ns, Codes.DELETE_TOPIC_IN_NAMESRV, Map.of("topic", "TopicB"), null, null, 5000));
            route("TopicB", null, null);
            allTopics();
            step("delete unknown topic", "DELETE_TOPIC_IN_NAMESRV topic=NoSuchTopic", Body.NONE,
                    () -> admin.invoke(ns, Codes.DELETE_TOPIC_IN_NAMESRV, Map.of("topic", "NoSuchTopic"), null, null, 5000));
            // 4.9.7 also accepts clusterName: only that cluster's brokers lose the topic
            route("TopicShared", null, null);
            step("delete TopicShared in OtherCluster", "DELETE_TOPIC_IN_NAMESRV topic=TopicShared clusterName=OtherCluster",
                    Body.NONE, () -> admin.invoke(ns, Codes.DELETE_TOPIC_IN_NAMESRV,
                            Map.of("topic", "TopicShared", "clusterName", OTHER_CLUSTER), null, null, 5000));
            route("TopicShared", null, null);
            step("delete TopicShared in NoSuchCluster", "DELETE_TOPIC_IN_NAMESRV topic=TopicShared clusterName=NoSuchCluster",
                    Body.NONE, () -> admin.invoke(ns, Codes.DELETE_TOPIC_IN_NAMESRV,
                            Map.of("topic", "TopicShared", "clusterName", "NoSuchCluster"), null, null, 5000));
            route("TopicShared", null, null);
            topicsByCluster(OTHER_CLUSTER);

            // --- unregister
            step("unregister broker-b", "UNREGISTER_BROKER broker-b id 0", Body.NONE, () -> b0.unregister(ns));
            // Apache 5.x applies unregistrations asynchronously (batched); 4.9 and ours synchronously
            awaitThen("unregistration of broker-b applied", () -> routeCode("TopicReadOnly") == 17);
            route("TopicShared", null, null);
            route("TopicReadOnly", null, null);
            clusterInfo();
            topicsByCluster(CLUSTER);

            // --- connection close drops routes
            a1.close();
            awaitThen("slave connection closed", () -> !clusterText().contains("127.0.0.1:30921"));
            clusterInfo();
            route("TopicA", null, null);
            c0.close();
            awaitThen("broker-c connection closed", () -> routeCode("TopicC") == 17);
            route("TopicC", null, null);
            clusterInfo();
            allTopics();
            a0.close();
            awaitThen("broker-a master connection closed", () -> routeCode("TopicA") == 17);
            route("TopicA", null, null);
            clusterInfo();
        } finally {
            a0.close();
            a1.close();
            b0.close();
            c0.close();
        }
    }

    // ------------------------------------------------------------------ step helpers

    private void register(String what, Broker b) {
        step("register " + what, "REGISTER_BROKER " + b.brokerName() + " id " + b.brokerId() + " topics "
                + b.topicNames() + " counter " + b.dataVersionCounter(), Body.KV,
                () -> b.register(ns), "haServerAddr", "masterAddr");
    }

    private void route(String topic, Integer version, Boolean acceptStandardJsonOnly) {
        route(topic, version, acceptStandardJsonOnly, null);
    }

    /** @param label distinguishes steps that would otherwise share a name (keys in known-differences.txt) */
    private void route(String topic, Integer version, Boolean acceptStandardJsonOnly, String label) {
        Map<String, String> ext = new LinkedHashMap<>();
        ext.put("topic", topic);
        if (acceptStandardJsonOnly != null) {
            ext.put("acceptStandardJsonOnly", acceptStandardJsonOnly.toString());
        }
        String v = version == null ? "" : " version=" + version;
        String std = acceptStandardJsonOnly == null ? "" : " acceptStandardJsonOnly=" + acceptStandardJsonOnly;
        String suffix = label == null ? "" : " (" + label + ")";
        step("route " + topic + v + std + suffix, "GET_ROUTEINFO_BY_TOPIC topic=" + topic + v + std, Body.ROUTE,
                () -> admin.invoke(ns, Codes.GET_ROUTEINFO_BY_TOPIC, ext, null, version, 5000));
    }

    /** The answer with its properties body reduced to which of the keys every release has are present. */
    private static Response commonConfigKeys(Response r) throws java.io.IOException {
        if (r.body() == null) {
            return r;
        }
        java.util.Properties p = new java.util.Properties();
        p.load(new java.io.StringReader(new String(r.body(), java.nio.charset.StandardCharsets.UTF_8)));
        StringBuilder present = new StringBuilder();
        for (String key : new String[] {"kvConfigPath", "enableAllTopicList", "orderMessageEnable"}) {
            present.append(key).append('=').append(p.containsKey(key)).append('\n');
        }
        return new Response(r.code(), r.remark(), r.ext(), present.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private void clusterInfo() {
        step("cluster info", "GET_BROKER_CLUSTER_INFO", Body.CLUSTER,
                () -> admin.invoke(ns, Codes.GET_BROKER_CLUSTER_INFO, null, null, null, 5000));
    }

    private void allTopics() {
        step("all topics", "GET_ALL_TOPIC_LIST_FROM_NAMESERVER", Body.TOPICS,
                () -> admin.invoke(ns, Codes.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, null, null, null, 5000));
    }

    private void topicsByCluster(String cluster) {
        step("topics by cluster " + cluster, "GET_TOPICS_BY_CLUSTER cluster=" + cluster, Body.TOPICS,
                () -> admin.invoke(ns, Codes.GET_TOPICS_BY_CLUSTER, Map.of("cluster", cluster), null, null, 5000));
    }

    private void kvPut(String nsName, String key, String value) {
        step("kv put " + nsName + "/" + key + "=" + value, "PUT_KV_CONFIG", Body.NONE,
                () -> admin.invoke(ns, Codes.PUT_KV_CONFIG, Map.of("namespace", nsName, "key", key, "value", value),
                        null, null, 5000));
    }

    private void kvGet(String nsName, String key) {
        step("kv get " + nsName + "/" + key, "GET_KV_CONFIG", Body.NONE,
                () -> admin.invoke(ns, Codes.GET_KV_CONFIG, Map.of("namespace", nsName, "key", key), null, null, 5000),
                "value");
    }

    private void kvDelete(String nsName, String key) {
        step("kv delete " + nsName + "/" + key, "DELETE_KV_CONFIG", Body.NONE,
                () -> admin.invoke(ns, Codes.DELETE_KV_CONFIG, Map.of("namespace", nsName, "key", key), null, null, 5000));
    }

    private void kvList(String nsName) {
        kvList(nsName, null);
    }

    private void kvList(String nsName, String label) {
        step("kv list " + nsName + (label == null ? "" : " (" + label + ")"), "GET_KVLIST_BY_NAMESPACE", Body.KV,
                () -> admin.invoke(ns, Codes.GET_KVLIST_BY_NAMESPACE, Map.of("namespace", nsName), null, null, 5000));
    }

    private String clusterText() {
        try {
            Response r = admin.invoke(ns, Codes.GET_BROKER_CLUSTER_INFO, null, null, null, 3000);
            return Canonical.generic(r.body());
        } catch (Exception e) {
            return "";
        }
    }

    private int routeCode(String topic) {
        try {
            return admin.invoke(ns, Codes.GET_ROUTEINFO_BY_TOPIC, Map.of("topic", topic), null, null, 3000).code();
        } catch (Exception e) {
            return -1;
        }
    }

    /** Waits (bounded) for an asynchronous effect and records whether it happened. */
    private void awaitThen(String what, BooleanSupplier cond) {
        long t0 = System.nanoTime();
        boolean ok = Await.until(CLOSE_DETECTION, cond);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        String id = String.format("%02d", ++seq) + " await " + what;
        String typed = "effect observed within " + CLOSE_DETECTION.toSeconds() + "s: " + ok;
        out.add(new Observation(id, "poll until: " + what + " (took " + ms + " ms)", ok ? 0 : -1, null, null, null,
                typed, typed));
    }

    private void step(String name, String request, Body body, Action action, String... keyHeaders) {
        String id = String.format("%02d", ++seq) + " " + name;
        Response r;
        try {
            r = action.run();
        } catch (Exception e) {
            String err = "no response: " + e.getClass().getSimpleName() + ": " + e.getMessage();
            out.add(new Observation(id, request, -1, err, null, null, "code=-1 (" + e.getClass().getSimpleName() + ")",
                    "code=-1 (" + e.getClass().getSimpleName() + ")"));
            return;
        }
        Map<String, String> ext = new TreeMap<>(r.ext());
        Map<String, String> key = new TreeMap<>();
        for (String k : keyHeaders) {
            if (ext.containsKey(k)) {
                key.put(k, ext.get(k));
            }
        }
        Class<?> cls = bodyClass(body);
        String typedBody = cls == null ? (r.body() == null ? Canonical.NONE : "<body present>")
                : Canonical.typed(r.body(), cls);
        if (r.code() != 0) {
            // error answers are compared by code only (remarks differ by design)
            typedBody = "(ignored on error)";
        }
        String typed = "code=" + r.code() + " headers=" + key + " body=" + typedBody;
        String generic = "code=" + r.code() + " headers=" + ext + " body=" + Canonical.generic(r.body());
        out.add(new Observation(id, request, r.code(), r.remark(), ext, r.body(), typed, generic));
    }

    private Class<?> bodyClass(Body b) {
        switch (b) {
            case ROUTE:
                return kit.topicRouteDataClass();
            case CLUSTER:
                return kit.clusterInfoClass();
            case TOPICS:
                return kit.topicListClass();
            case KV:
                return kit.kvTableClass();
            case DATA_VERSION:
                return kit.dataVersionClass();
            default:
                return null;
        }
    }
}
