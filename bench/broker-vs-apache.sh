#!/usr/bin/env bash
# Side by side, same machine, same client, one run: rmq's broker (release build) against Apache
# RocketMQ 4.9.7's BrokerController (Maven Central, child JVM -Xms1g -Xmx1g), each with its own
# name server, first with ASYNC_FLUSH then with SYNC_FLUSH. The client is the stock Java 4.9.7
# producer/push consumer in rmq.interop.bench.BrokerBench (interop/java).
#
# Reports per broker and flush mode: produce TPS (sync sends, 1 KiB, $THREADS threads), send
# latency p50/p99, consume TPS, broker RSS under load (max; and its anonymous part, without the
# mapped commit-log pages that RSS also counts), start-to-ready time (launch to the
# boot line), and the broker's CPU time (utime+stime from /proc/PID/stat) per produced and per
# consumed message; then the rmq/apache ratios. Client and broker share the machine's cores.
#
#   bench/broker-vs-apache.sh [seconds-per-produce-phase]     (default 20)
#   THREADS=8 QUEUES=8 bench/broker-vs-apache.sh 20
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-20}"
THREADS="${THREADS:-8}"
QUEUES="${QUEUES:-8}"
CLK_TCK="$(getconf CLK_TCK)"
cd "$ROOT"

. "$ROOT/scripts/lib.sh"
echo "building release binaries and the Java client (first time: a few minutes)" >&2
release_bins rmq-namesrv rmq-broker
java_harness
work_dir broker-vs-apache

results=()
run_one() { # run_one IMPL FLUSH
  local impl="$1" flush="$2" dir="$WORK/$1-$2"
  mkdir -p "$dir"
  local ns_pid broker_pid ns_addr
  if [ "$impl" = rmq ]; then
    start "$impl-$flush-ns" "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$dir/kv.json"
    ns_pid=$PID ns_addr=$ADDR
    start "$impl-$flush-broker" "$BIN/mqbroker" -n "$ns_addr" --listenPort 0 --brokerIP1 127.0.0.1 \
      --brokerName broker-a --storePathRootDir "$dir/store" --flushDiskType "$flush"
  else
    start "$impl-$flush-ns" java -Xmx256m -cp "$CP" rmq.interop.ApacheNamesrvMain --listenPort 0 \
      --kvConfigPath "$dir/kv.json"
    ns_pid=$PID ns_addr=$ADDR
    start "$impl-$flush-broker" java -Xms1g -Xmx1g -XX:+UseG1GC "${JAVA_OPENS[@]}" -cp "$CP" \
      rmq.interop.ApacheBrokerMain -n "$ns_addr" --listenPort 0 --brokerIP1 127.0.0.1 \
      --brokerName broker-a --storePathRootDir "$dir/store" --flushDiskType "$flush"
  fi
  broker_pid=$PID
  local ready=$START_MS broker_addr=$ADDR
  sleep 2
  local idle_rss; idle_rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$broker_pid/status")
  echo "== $impl $flush: broker $broker_addr (pid $broker_pid) ready in $ready ms, idle RSS $idle_rss MiB" >&2
  java -Xmx512m -cp "$CP" rmq.interop.bench.BrokerBench --namesrv "$ns_addr" --broker "$broker_addr" \
    --brokerPid "$broker_pid" --threads "$THREADS" --seconds "$SECS" --queues "$QUEUES" --clkTck "$CLK_TCK" \
    --label "$impl-$flush" >"$dir/bench.out" 2>"$dir/bench.err" || { tail -20 "$dir/bench.err"; exit 1; }
  grep -v '^BENCH ' "$dir/bench.out" >&2
  results+=("$(grep '^BENCH ' "$dir/bench.out") ready_ms=$ready idle_rss_mib=$idle_rss")
  stop "$broker_pid"
  stop "$ns_pid"
  rm -rf "$dir/store"
}

for flush in ASYNC_FLUSH SYNC_FLUSH; do
  run_one rmq "$flush"
  run_one apache "$flush"
done

python3 - "${results[@]}" <<'PY'
import sys
rows = {}
for arg in sys.argv[1:]:
    kv = dict(p.split("=", 1) for p in arg.split()[1:])
    rows[kv["label"]] = kv
cols = [("produce_tps", "produce msg/s", "{:.0f}", True), ("p50_ms", "send p50 ms", "{:.2f}", False),
        ("p99_ms", "send p99 ms", "{:.2f}", False), ("consume_tps", "consume msg/s", "{:.0f}", True),
        ("rss_max_mib", "RSS max MiB", "{:.0f}", False), ("anon_max_mib", "anon max MiB", "{:.0f}", False),
        ("idle_rss_mib", "idle RSS MiB", "{:.0f}", False),
        ("ready_ms", "start-ready ms", "{:.0f}", False), ("cpu_us_per_produced", "CPU µs/produced", "{:.1f}", False),
        ("cpu_us_per_consumed", "CPU µs/consumed", "{:.1f}", False)]
print()
print(f"{'':22}" + "".join(f"{c[1]:>16}" for c in cols))
for label, kv in rows.items():
    print(f"{label:22}" + "".join(f"{c[2].format(float(kv[c[0]])):>16}" for c in cols)
          + ("" if kv.get("complete") == "true" else "  (consume INCOMPLETE)"))
for flush in ("ASYNC_FLUSH", "SYNC_FLUSH"):
    r, a = rows.get(f"rmq-{flush}"), rows.get(f"apache-{flush}")
    if not r or not a:
        continue
    print(f"{'rmq/apache ' + flush:22}" + "".join(
        f"{(float(r[c[0]]) / float(a[c[0]]) if float(a[c[0]]) else float('nan')):>15.2f}x" for c in cols))
print("\n(ratios > 1 are better for msg/s columns, < 1 better for the others)")
PY
