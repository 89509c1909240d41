#!/usr/bin/env bash
# rmq's Prometheus metrics against Apache RocketMQ 5.3.3's, same traffic, one run: Apache's
# NamesrvStartup and BrokerStartup (Maven Central jars of interop/java5, child JVMs) with
# metricsExporterType=PROM, then rmq's mqnamesrv and mqbroker (release build) likewise; on each,
# mqbench sends for a few seconds while a push consumer reads, and /metrics is scraped while both
# clients are still connected. Then every family's name and label keys are compared (histogram
# samples folded into their family; OpenTelemetry's target_info, otel_scope_info and
# otel_scope_name left out). A difference fails the run unless interop/known-differences.txt has
# a `metrics:` row for it (`metrics:<family>`, `metrics:<prefix>*`, or
# `metrics:<family>:<label>`). Both scrapes stay in the work directory with RMQ_KEEP_WORK=1.
#
#   interop/metrics-vs-apache5.sh                     release binaries, built first
#   RMQ_BIN_DIR=target/debug interop/metrics-vs-apache5.sh   binaries already built there
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/scripts/lib.sh"
if [ -n "${RMQ_BIN_DIR:-}" ]; then
  BIN="$RMQ_BIN_DIR" # mqnamesrv, mqbroker and mqbench built already (interop/run.sh metrics)
else
  echo "building release binaries" >&2
  release_bins rmq-namesrv rmq-broker rmq-tools
fi
echo "building the Java 5.3.3 classpath" >&2
(cd interop/java5 && mvn -B -q -ntp -Dstyle.color=never dependency:build-classpath \
  -Dmdep.outputFile=target/classpath5.txt) >&2
CP5="$(cat interop/java5/target/classpath5.txt)"
OPENS=()
for p in java.lang java.lang.reflect java.lang.invoke java.io java.net java.nio sun.nio.ch java.util \
  java.util.concurrent java.util.concurrent.atomic jdk.internal.misc jdk.internal.ref sun.nio.fs java.math; do
  OPENS+=("--add-opens=java.base/$p=ALL-UNNAMED")
done
work_dir metrics-vs-apache5
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

traffic_and_scrape() { # traffic_and_scrape NAMESRV METRICS_PORT OUT BROKER
  # The topic first, routed by the name server: a producer without a route gives up at once.
  "$BIN/mqadmin" -n "$1" updateTopic -b "$4" -t MetricsTopic >"$3.admin" 2>&1
  for i in $(seq 1 60); do
    "$BIN/mqadmin" -n "$1" topicRoute -t MetricsTopic >>"$3.admin" 2>&1 && break
    [ "$i" -lt 60 ] || { echo "metrics-vs-apache5: no route for MetricsTopic at $1 after 30 s" >&2; return 1; }
    sleep 0.5
  done
  "$BIN/mqbench" consume -n "$1" -t MetricsTopic -g MetricsGroup -d 40 --from-first >"$3.consume" 2>&1 &
  local consumer=$! i
  sleep 2
  "$BIN/mqbench" produce -n "$1" -t MetricsTopic -s 100 -c 1 -d 35 >"$3.produce" 2>&1 &
  local producer=$!
  # Scrape while both clients are connected, once messages went in and out (a JVM broker on a
  # busy machine takes a while; OpenTelemetry exports what it has seen at scrape time).
  for i in $(seq 1 30); do
    sleep 1
    curl -sf "http://127.0.0.1:$2/metrics" >"$3" || continue
    if [ "$i" -ge 5 ] && grep -q '^rocketmq_messages_in_total{' "$3" \
      && grep -q '^rocketmq_messages_out_total{' "$3"; then
      break
    fi
  done
  kill "$producer" "$consumer" 2>/dev/null || true
  wait "$producer" "$consumer" 2>/dev/null || true
  for family in rocketmq_messages_in_total rocketmq_messages_out_total rocketmq_rpc_latency_milliseconds_bucket \
    rocketmq_producer_connections rocketmq_consumer_connections; do
    grep -q "^$family{" "$3" || { echo "metrics-vs-apache5: no $family in the scrape $3 after 30 s of traffic" >&2; return 1; }
  done
}

# Apache 5.3.3 (java5 execs, so that the PID `start` records is the JVM and the EXIT trap stops it)
dir="$WORK/apache"; mkdir -p "$dir/home"
java5() { exec java -Xms256m -Xmx256m -XX:MaxDirectMemorySize=256m -XX:+UseSerialGC "${OPENS[@]}" \
  -Duser.home="$dir/home" -Drocketmq.home.dir="$dir" \
  -Drocketmq.broker.diskSpaceWarningLevelRatio=0.99 -Drocketmq.broker.diskSpaceCleanForciblyRatio=0.98 \
  -cp "$CP5" "$@"; }
ns_port=$(free_port); broker_port=$(python3 -c 'import socket,random
for _ in range(200):
    p=random.randint(20000,32000); ok=True
    for q in (p-2,p,p+1):
        s=socket.socket()
        try: s.bind(("0.0.0.0",q))
        except OSError: ok=False
        finally: s.close()
    if ok: print(p); break')
a_metrics=$(free_port)
printf 'listenPort=%s\n' "$ns_port" >"$dir/ns.conf"
cat >"$dir/broker.conf" <<CONF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
listenPort=$broker_port
namesrvAddr=127.0.0.1:$ns_port
brokerIP1=127.0.0.1
storePathRootDir=$dir/store
storePathCommitLog=$dir/store/commitlog
metricsExporterType=PROM
metricsPromExporterHost=127.0.0.1
metricsPromExporterPort=$a_metrics
CONF
READY="boot success" start apache-ns java5 org.apache.rocketmq.namesrv.NamesrvStartup -c "$dir/ns.conf"
READY="boot success" start apache-broker java5 org.apache.rocketmq.broker.BrokerStartup -c "$dir/broker.conf"
a_broker=$PID
traffic_and_scrape "127.0.0.1:$ns_port" "$a_metrics" "$WORK/apache.txt" "127.0.0.1:$broker_port"
stop "$a_broker"

# rmq
dir="$WORK/rmq"; mkdir -p "$dir"
r_metrics=$(free_port)
start rmq-ns "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$dir/kv.json"
r_ns=$ADDR
start rmq-broker "$BIN/mqbroker" -n "$r_ns" --listenPort 0 --brokerIP1 127.0.0.1 --brokerName broker-a \
  --storePathRootDir "$dir/store" --metricsExporterType PROM --metricsPromExporterHost 127.0.0.1 \
  --metricsPromExporterPort "$r_metrics"
traffic_and_scrape "$r_ns" "$r_metrics" "$WORK/rmq.txt" "$ADDR"

python3 - "$WORK/apache.txt" "$WORK/rmq.txt" interop/known-differences.txt <<'PY'
import re, sys
def families(path):
    out = {}
    for line in open(path):
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} ', line)
        if not m or line.startswith('#'):
            continue
        name = re.sub(r'_(bucket|count|sum)$', '', m.group(1))
        if name in ('target_info', 'otel_scope_info'):
            continue
        out.setdefault(name, set()).update(set(re.findall(r'([a-zA-Z_]+)="', m.group(2))) - {'otel_scope_name', 'le'})
    return out
apache, rmq = families(sys.argv[1]), families(sys.argv[2])
known = [l.split('|')[0].strip()[len('metrics:'):] for l in open(sys.argv[3]) if l.startswith('metrics:')]
def family_of(sample):  # a sample name with its unit suffix → the known row's family name
    return re.sub(r'_(milliseconds|bytes)$', '', sample)
def is_known(key):
    return any(key == k or (k.endswith('*') and key.startswith(k[:-1])) for k in known)
failures, notes = [], []
for name in sorted(set(apache) | set(rmq)):
    fam = family_of(name)
    if name not in rmq:
        (notes if is_known(fam) else failures).append(f"only Apache exports {name} {sorted(apache[name])}")
    elif name not in apache:
        if not name.startswith('rmq_'):
            notes.append(f"Apache printed no {name} in this run (no data for it)")
    else:
        for label in sorted(apache[name] ^ rmq[name]):
            side = 'Apache' if label in apache[name] else 'rmq'
            (notes if is_known(f"{fam}:{label}") else failures).append(f"{name}: label {label} only on {side}")
for n in notes:
    print("known   ", n)
for f in failures:
    print("DIFFERS ", f)
print(f"{len(set(apache) & set(rmq))} families on both, {len(failures)} unexplained differences")
sys.exit(1 if failures else 0)
PY
