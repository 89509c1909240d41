#!/usr/bin/env bash
# Our client (mqbench, release build) against the stock Java 4.9.7 client, same machine, one run:
#
#   1. rmq's name server + broker (ASYNC_FLUSH): mqbench produce (sync sends, 1 KiB, $CONC in flight,
#      $SECS s) with a live mqbench consumer beside it (end-to-end latency); then four new consumer
#      groups drain that backlog, one after the other: rmq's push consumer, Java's push consumer,
#      rmq's lite pull consumer, Java's lite pull consumer (`mqbench consume --drain N` and
#      rmq.interop.bench.ConsumeBench: the listener only counts; push consumers with one message
#      per listener call, 20 consume threads, pullBatchSize 32 and the default process-queue
#      limits; lite pull consumers with their defaults, pullBatchSize 10); then the Java client's
#      BrokerBench (producer with $CONC threads for $SECS s);
#   2. Apache RocketMQ 4.9.7's name server + broker (Maven Central): the same runs, which shows
#      both clients against the real thing.
#
# Reports throughput, send latency, the client process's peak RSS (/usr/bin/time's max RSS, so
# JVM and Rust are measured the same way) and client CPU per message: the whole process's
# (/usr/bin/time, start-up and JIT included) and, for the drains, the process's CPU from the
# first to the last message. Client and broker share the machine's cores.
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
  local topic="ClientBench_$1_$(date +%s)" n
  # live: a consumer (new group, from the last offset) runs while the producer sends, so its
  # end-to-end latency is the real store-to-listener delay under load
  measured "$1-live" "$BIN/mqbench" consume --json -n "$NS" -t "$topic" -g "live_$1" -d "$((SECS + 1))" &
  local live=$!
  sleep 1
  measured "$1-produce" "$BIN/mqbench" produce --json -n "$NS" -t "$topic" -c "$CONC" -d "$SECS"
  wait "$live"
  # drains: new groups read the backlog from the first offset until they have N messages
  n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$WORK/$1-produce.json")
  echo "$n" >"$WORK/$1-backlog"
  local broker="${1#*-on-}"
  measured "rust-push-on-$broker" "$BIN/mqbench" consume --json -n "$NS" -t "$topic" \
    -g "drain_push_$1" --from-first --drain "$n" -d 300
  measured "java-push-on-$broker" java -Xmx512m -cp "$CP" rmq.interop.bench.ConsumeBench --namesrv "$NS" \
    --topic "$topic" --expect "$n" --mode push --timeout 300
  measured "rust-lite-on-$broker" "$BIN/mqbench" consume --json -n "$NS" -t "$topic" \
    -g "drain_lite_$1" --from-first --drain "$n" --lite -d 300
  measured "java-lite-on-$broker" java -Xmx512m -cp "$CP" rmq.interop.bench.ConsumeBench --namesrv "$NS" \
    --topic "$topic" --expect "$n" --mode lite --timeout 300
}

echo "== rmq broker: mqbench, then the Java client" >&2
start_stack rmq "$WORK/rmq"
mqbench_runs rust-on-rmq
measured java-on-rmq java -Xmx512m -cp "$CP" rmq.interop.bench.BrokerBench --namesrv "$NS" \
  --broker "$BROKER" --threads "$CONC" --seconds "$SECS" --queues 8 --label java-on-rmq
stop "$BROKER_PID"; stop "$NS_PID"

echo "== Apache broker: mqbench and the Java consumers" >&2
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
def bench_line(label):
    line = [l for l in open(os.path.join(work, label + ".json")) if l.startswith("BENCH ")][0]
    return dict(x.split("=", 1) for x in line.split()[1:])
rows = []
for side in ("rust-on-rmq", "rust-on-apache"):
    p, live = mq(side + "-produce"), mq(side + "-live")
    rows.append((side, p["ops_per_sec"], p["latency_us"]["p50"] / 1000, p["latency_us"]["p99"] / 1000,
                 live["latency_us"]["p50"] / 1000, live["latency_us"]["p99"] / 1000,
                 rss(side + "-produce"), cpu_us_per_msg(side + "-produce", p["ok"])))
kv = bench_line("java-on-rmq")
# one JVM produced (3 s warm-up included) and then consumed everything; its CPU covers both
rows.append(("java-on-rmq", float(kv["produce_tps"]), float(kv["p50_ms"]), float(kv["p99_ms"]),
             float("nan"), float("nan"), rss("java-on-rmq"),
             cpu_us_per_msg("java-on-rmq", int(kv["consumed"]) * 2)))
hdr = ("client/broker", "produce msg/s", "send p50 ms", "send p99 ms", "e2e p50 ms", "e2e p99 ms",
       "RSS MiB", "CPU us/sent")
print()
print(f"{hdr[0]:16}" + "".join(f"{h:>14}" for h in hdr[1:]))
for r in rows:
    print(f"{r[0]:16}" + "".join(f"{v:>14.2f}" for v in r[1:]))
ours, java = rows[0], rows[2]
print(f"\nrust/java on rmq: produce {ours[1] / java[1]:.2f}x, send p99 {ours[3] / java[3]:.2f}x, "
      f"peak RSS {ours[6] / java[6]:.3f}x, client CPU per message sent {ours[7] / java[7]:.2f}x")
print("(the Java producer row is one JVM that produced and then consumed: its RSS and CPU cover both,"
      " start-up and JIT included; it does not measure end-to-end latency)")

print("\nDraining the same backlog, one new group each (push: 1 message per listener call, 20 threads):")
hdr = ("consumer/broker", "messages", "msg/s", "CPU us/msg", "CPU us/msg*", "RSS MiB")
print(f"{hdr[0]:22}" + "".join(f"{h:>13}" for h in hdr[1:]))
drains = {}
for broker in ("rmq", "apache"):
    n = int(open(os.path.join(work, f"rust-on-{broker}-backlog")).read())
    for kind in ("push", "lite"):
        for client in ("rust", "java"):
            label = f"{client}-{kind}-on-{broker}"
            if client == "rust":
                j = mq(label)
                got, tps, active = j["ok"], j["ops_per_sec"], j.get("cpu_seconds", float("nan"))
            else:
                b = bench_line(label)
                got, tps, active = int(b["consumed"]), float(b["consume_tps"]), float(b["cpu_seconds"])
            total = cpu_us_per_msg(label, got)
            drains[label] = (tps, total, active * 1e6 / max(1, got))
            flag = "" if got >= n else "  INCOMPLETE"
            print(f"{label:22}{got:>13}{tps:>13.0f}{total:>13.2f}{active * 1e6 / max(1, got):>13.2f}"
                  f"{rss(label):>13.1f}{flag}")
print("(CPU us/msg: the whole process, start-up included; *: first to last message only)")
for broker in ("rmq", "apache"):
    for kind in ("push", "lite"):
        r, j = drains[f"rust-{kind}-on-{broker}"], drains[f"java-{kind}-on-{broker}"]
        print(f"rust/java {kind:4} on {broker:6}: rate {r[0] / j[0]:.2f}x, CPU per message {r[1] / j[1]:.2f}x"
              f" (first to last: {r[2] / j[2]:.2f}x)")
PY
