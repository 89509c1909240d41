#!/usr/bin/env bash
# Side by side, same machine, same client (mqbench), one run: rmq's name server against
# Apache RocketMQ's (4.9.7 from Maven Central, via interop/apache-namesrv.sh).
# Reports start-to-listening time, idle RSS, route queries per second and latency, and the
# throughput ratio.
#
#   bench/namesrv-vs-apache.sh [seconds-per-run]     (default 10)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-10}"
cd "$ROOT"
. "$ROOT/scripts/lib.sh"
release_bins rmq-namesrv rmq-tools
work_dir namesrv-vs-apache

rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# Apache first: compile its launcher before timing anything.
bash interop/apache-namesrv.sh --help >/dev/null 2>&1 || true
start apache bash interop/apache-namesrv.sh --listenPort 0 --kvConfigPath "$WORK/apache-kv.json"
APACHE_ADDR=$ADDR APACHE_PID=$PID APACHE_START=$START_MS
start rmq "$BIN/mqnamesrv" --listenPort 0 --bindAddress 127.0.0.1 --kvConfigPath "$WORK/rmq-kv.json"
RMQ_ADDR=$ADDR RMQ_PID=$PID RMQ_START=$START_MS
sleep 2
# The JVM's pid is the exec'd java process (the script execs it).
APACHE_IDLE=$(rss_mib "$APACHE_PID"); RMQ_IDLE=$(rss_mib "$RMQ_PID")

run() { "$BIN/mqbench" --json route -n "$1" --register -d "$SECS"; }
RMQ_JSON=$(run "$RMQ_ADDR")
APACHE_JSON=$(run "$APACHE_ADDR")
RMQ_LOADED=$(rss_mib "$RMQ_PID"); APACHE_LOADED=$(rss_mib "$APACHE_PID")

python3 - "$RMQ_JSON" "$APACHE_JSON" <<PY
import json, sys
r, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def row(name, j, start, idle, loaded):
    l = j["latency_us"]
    print(f"{name:7} start {start:>5} ms  idle RSS {idle:>6} MiB  RSS after load {loaded:>6} MiB  "
          f"{j['ops_per_sec']:>9.0f} routes/s  p50 {l['p50']} µs  p99 {l['p99']} µs  failed {j['failed']}")
row("rmq", r, "$RMQ_START", "$RMQ_IDLE", "$RMQ_LOADED")
row("apache", a, "$APACHE_START", "$APACHE_IDLE", "$APACHE_LOADED")
print(f"throughput ratio rmq/apache: {r['ops_per_sec'] / a['ops_per_sec']:.2f}x")
PY
