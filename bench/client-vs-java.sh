#!/usr/bin/env bash
# Our client (mqbench, release build) against the stock Java 4.9.7 client, same machine, one run:
#
#   1. rmq's name server + broker (ASYNC_FLUSH): mqbench produce (sync sends, 1 KiB, $CONC in flight,
#      $SECS s) with a live mqbench consumer beside it (end-to-end latency), then a second consumer
#      group draining the backlog (consume throughput); then the Java client's BrokerBench
#      (producer with $CONC threads for $SECS s, then a push consumer draining everything);
#   2. Apache RocketMQ 4.9.7's name server + broker (Maven Central): the same mqbench runs, which
#      shows our client against the real thing.
#
# Reports throughput, send latency and the client process's peak RSS (/usr/bin/time's max RSS, so
# JVM and Rust are measured the same way). Client and broker share the machine's cores.
#
#   bench/client-vs-java.sh [seconds]          (default 15)
#   CONC=8 bench/client-vs-java.sh 15
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-15}"
CONC="${CONC:-8}"
cd "$ROOT"

. "$ROOT/scripts/lib.sh"
echo "building release binaries and the Java client (first time: a few minutes)" >&2
release_bins rmq-namesrv rmq-broker rmq-tools
java_harness
work_dir client-vs-java

# measured LABEL COMMAND... : runs a client, keeps its stdout in $WORK/LABEL.json and its peak RSS
measured() {
  local label="$1"; shift
  /usr/bin/time -f '%M %U %S' -o "$WORK/$label.rss" "$@" >"$WORK/$label.json" 2>"$WORK/$label.err" \
    || { echo "$label failed:"; tail -20 "$WORK/$label.err"; exit 1; }
}

start_stack() { # start_stack rmq|apache DIR: sets NS, BROKER, NS_PID, BROKER_PID
  local impl="$1" dir="$2"
  mkdir -p "$dir"
  if [ "$impl" = rmq ]; then
    start "$impl-ns" "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$dir/kv.json"
    NS=$ADDR NS_PID=$PID
    start "$impl-broker" "$BIN/mqbroker" -n "$NS" --listenPort 0 --brokerIP1 127.0.0.1 \
      --brokerName broker-a --storePathRootDir "$dir/store"
  else
    start "$impl-ns" java -Xmx256m -cp "$CP" rmq.interop.ApacheNamesrvMain --listenPort 0 \
      --kvConfigPath "$dir/kv.json"
    NS=$ADDR NS_PID=$PID
    start "$impl-broker" java -Xms1g -Xmx1g -XX:+UseG1GC "${JAVA_OPENS[@]}" -cp "$CP" \
      rmq.interop.ApacheBrokerMain -n "$NS" --listenPort 0 --brokerIP1 127.0.0.1 \
      --brokerName broker-a --storePathRootDir "$dir/store"
  fi
  BROKER=$ADDR BROKER_PID=$PID
  sleep 2 # first registration
}

mqbench_runs() { # mqbench_runs LABEL-PREFIX
  local topic="ClientBench_$1_$(date +%s)"
  # live: a consumer (new group, from the last offset) runs while the producer sends, so its
  # end-to-end latency is the real store-to-listener delay under load
  measured "$1-live" "$BIN/mqbench" consume --json -n "$NS" -t "$topic" -g "live_$1" -d "$((SECS + 1))" &
  local live=$!
  sleep 1
  measured "$1-produce" "$BIN/mqbench" produce --json -n "$NS" -t "$topic" -c "$CONC" -d "$SECS"
  wait "$live"
  # drain: a new group reads the backlog from the first offset; a short window so the backlog
  # outlasts it (its latencies are backlog age, not reported)
  measured "$1-drain" "$BIN/mqbench" consume --json -n "$NS" -t "$topic" -g "drain_$1" --from-first -d 2
}

echo "== rmq broker: mqbench, then the Java client" >&2
start_stack rmq "$WORK/rmq"
mqbench_runs rust-on-rmq
measured java-on-rmq java -Xmx512m -cp "$CP" rmq.interop.bench.BrokerBench --namesrv "$NS" \
  --broker "$BROKER" --threads "$CONC" --seconds "$SECS" --queues 8 --label java-on-rmq
stop "$BROKER_PID"; stop "$NS_PID"

echo "== Apache broker: mqbench" >&2
start_stack apache "$WORK/apache"
mqbench_runs rust-on-apache
stop "$BROKER_PID"; stop "$NS_PID"

python3 - "$WORK" <<'PY'
import json, os, sys
work = sys.argv[1]
def usage(label):
    # /usr/bin/time: peak RSS KiB, user s, system s (the last line; earlier ones are warnings)
    kib, user, system = open(os.path.join(work, label + ".rss")).read().split()[-3:]
    return int(kib) / 1024, float(user) + float(system)
def rss(label):
    return usage(label)[0]
def cpu_us_per_msg(label, msgs):
    return usage(label)[1] * 1e6 / max(1, msgs)
def mq(label):
    return json.load(open(os.path.join(work, label + ".json")))
rows = []
for side in ("rust-on-rmq", "rust-on-apache"):
    p, live, drain = mq(side + "-produce"), mq(side + "-live"), mq(side + "-drain")
    rows.append((side, p["ops_per_sec"], p["latency_us"]["p50"] / 1000, p["latency_us"]["p99"] / 1000,
                 drain["ops_per_sec"], live["latency_us"]["p50"] / 1000, live["latency_us"]["p99"] / 1000,
                 rss(side + "-produce"), max(rss(side + "-live"), rss(side + "-drain")),
                 cpu_us_per_msg(side + "-produce", p["ok"]), cpu_us_per_msg(side + "-drain", drain["ok"])))
bench = [l for l in open(os.path.join(work, "java-on-rmq.json")) if l.startswith("BENCH ")][0]
kv = dict(x.split("=", 1) for x in bench.split()[1:])
java_rss = rss("java-on-rmq")
# one JVM produced (warm-up included in "consumed") and then consumed everything
java_cpu = cpu_us_per_msg("java-on-rmq", int(kv["consumed"]) * 2)
rows.append(("java-on-rmq", float(kv["produce_tps"]), float(kv["p50_ms"]), float(kv["p99_ms"]),
             float(kv["consume_tps"]), float("nan"), float("nan"), java_rss, java_rss, java_cpu, java_cpu))
hdr = ("client/broker", "produce msg/s", "send p50 ms", "send p99 ms", "consume msg/s", "e2e p50 ms",
       "e2e p99 ms", "RSS prod MiB", "RSS cons MiB", "CPU us/sent", "CPU us/recv")
print()
print(f"{hdr[0]:16}" + "".join(f"{h:>14}" for h in hdr[1:]))
for r in rows:
    print(f"{r[0]:16}" + "".join(f"{v:>14.2f}" for v in r[1:]))
ours, java = rows[0], rows[2]
print(f"\nrust/java on rmq: produce {ours[1] / java[1]:.2f}x, send p99 {ours[3] / java[3]:.2f}x, "
      f"consume {ours[4] / java[4]:.2f}x, peak RSS {max(ours[7], ours[8]) / java[7]:.3f}x, "
      f"client CPU per message sent {ours[9] / java[9]:.2f}x, received {ours[10] / java[10]:.2f}x")
print("(the Java row is one JVM that produced and then consumed: its RSS and its CPU per message cover both,"
      " start-up and JIT included; it does not measure end-to-end latency)")
PY
