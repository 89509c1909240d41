#!/usr/bin/env bash
# rmq's broker against Apache RocketMQ 4.9.7's with the same resources: each broker pinned to
# CPU 0 (taskset), the name server and the client (`mqbench produce`, 1 KiB, 64 in flight) pinned
# to CPU 1. Reports send rate, latency and the broker's CPU time (utime+stime from /proc) per
# message. bench/broker-vs-apache.sh lets client and broker share both cores instead.
#
#   bench/broker-pinned.sh [seconds]        (default 10; needs 2 or more CPUs)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-10}"
cd "$ROOT"

. "$ROOT/scripts/lib.sh"
echo "building release binaries and the Java harness (first time: a few minutes)" >&2
release_bins rmq-namesrv rmq-broker rmq-tools
java_harness
work_dir broker-pinned
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

rows=()
for impl in rmq apache; do
  dir="$WORK/$impl"
  mkdir -p "$dir"
  start "$impl-ns" taskset -c 1 "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$dir/kv.json"
  ns=$ADDR ns_pid=$PID
  broker_args=(-n "$ns" --listenPort 0 --brokerIP1 127.0.0.1 --storePathRootDir "$dir/store")
  if [ "$impl" = rmq ]; then
    start "$impl-broker" taskset -c 0 "$BIN/mqbroker" "${broker_args[@]}"
  else
    start "$impl-broker" taskset -c 0 java -Xms1g -Xmx1g -XX:+UseG1GC "${JAVA_OPENS[@]}" -cp "$CP" \
      rmq.interop.ApacheBrokerMain "${broker_args[@]}"
  fi
  broker_pid=$PID
  bench() { taskset -c 1 "$BIN/mqbench" --json produce -n "$ns" -t PinnedBench -s 1024 -c 64 -d "$1"; }
  bench 3 >/dev/null # warm-up: topic creation, JIT, page cache
  t0=$(ticks "$broker_pid")
  json="$(bench "$SECS")"
  t1=$(ticks "$broker_pid")
  rows+=("$impl $((t1 - t0)) $json")
  stop "$broker_pid"
  stop "$ns_pid"
done

python3 - "$(getconf CLK_TCK)" "${rows[@]}" <<'PY'
import json, sys
tck = float(sys.argv[1])
res = {}
for row in sys.argv[2:]:
    impl, ticks, doc = row.split(" ", 2)
    r = json.loads(doc)
    # mqbench's first second is a warm-up it does not count: the CPU window covers it too.
    msgs = r["ok"] * (r["seconds"] + 1) / r["seconds"]
    res[impl] = (r["ops_per_sec"], r["latency_us"]["p50"] / 1e3, r["latency_us"]["p99"] / 1e3,
                 float(ticks) / tck * 1e6 / msgs, float(ticks) / tck / (r["seconds"] + 1) * 100)
print(f"\n{'broker on CPU 0':16}{'sends/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU µs/msg':>12}{'broker CPU %':>14}")
for impl, (tps, p50, p99, us, busy) in res.items():
    print(f"{impl:16}{tps:>10.0f}{p50:>9.2f}{p99:>9.2f}{us:>12.1f}{busy:>14.0f}")
r, a = res["rmq"], res["apache"]
print(f"{'rmq/apache':16}{r[0] / a[0]:>9.2f}x{r[1] / a[1]:>8.2f}x{r[2] / a[2]:>8.2f}x{r[3] / a[3]:>11.2f}x")
print("\n(a broker at 100% is the limit; below it, the client on CPU 1 is)")
PY
