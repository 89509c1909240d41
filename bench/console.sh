#!/usr/bin/env bash
# The console at scale: rmq-dashboard (release) against an rmq name server + broker holding
# 10,000 topics and 1,000 subscription groups; every main page loaded REPEAT times in headless
# Chromium (p50/p95 of the server's time to the last byte and of the browser's load time, from
# the Navigation Timing API), then the console's RSS (VmRSS) idle after start and after the
# browsing.
#
# The topics and groups are written into the broker's own config files before it starts
# (1 topic and 1 group created with mqadmin, the broker stopped, the entries copied 10,000 /
# 1,000 times under new names, the broker started again): creating them one request at a time
# costs a name-server registration each and takes minutes.
#
#   bench/console.sh                  TOPICS=10000 GROUPS=1000 REPEAT=30
#   RMQ_NO_BUILD=1 BIN=target/release use existing release binaries
# Figures go to stdout and $OUT/console-bench.txt (default target/console-bench).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib.sh"
TOPICS="${TOPICS:-10000}"
NGROUPS="${GROUPS_COUNT:-1000}"
REPEAT="${REPEAT:-30}"
OUT="${OUT:-$ROOT/target/console-bench}"
mkdir -p "$OUT"
if [ "${RMQ_NO_BUILD:-0}" = 1 ]; then
  BIN="${BIN:-$ROOT/target/release}"
else
  release_bins rmq-namesrv rmq-broker rmq-dashboard rmq-tools
fi
(cd "$ROOT/interop/console" && npm ci --no-audit --no-fund --silent)
work_dir rmq-console-bench

start namesrv "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$WORK/kv.json"
NS="$ADDR"
broker_args=(-n "$NS" --listenPort 0 --brokerIP1 127.0.0.1 --brokerName broker-a
  --storePathRootDir "$WORK/store" --mappedFileSizeCommitLog 67108864)
start broker "$BIN/mqbroker" "${broker_args[@]}"
"$BIN/mqadmin" -n "$NS" updateTopic -b "$ADDR" -t BenchTopic0 >/dev/null
"$BIN/mqadmin" -n "$NS" updateSubGroup -b "$ADDR" -g BenchGroup0 >/dev/null
stop "$PID"
python3 - "$WORK/store/config" "$TOPICS" "$NGROUPS" <<'EOF'
import json, sys
conf, topics, groups = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def grow(name, table, key, prefix, n):
    path = f"{conf}/{name}"
    data = json.load(open(path))
    template = data[table][f"{prefix}0"]
    for i in range(1, n):
        entry = dict(template)
        entry[key] = f"{prefix}{i}"
        data[table][f"{prefix}{i}"] = entry
    json.dump(data, open(path, "w"))
grow("topics.json", "topicConfigTable", "topicName", "BenchTopic", topics)
grow("subscriptionGroup.json", "subscriptionGroupTable", "groupName", "BenchGroup", groups)
EOF
start broker "$BIN/mqbroker" "${broker_args[@]}"
BROKER="$ADDR"
# the broker registers its 10,000 topics with the name server after it starts
for _ in $(seq 1 300); do
  "$BIN/mqadmin" -n "$NS" topicRoute -t "BenchTopic$((TOPICS - 1))" >/dev/null 2>&1 && break
  sleep 0.2
done
# some messages to list
"$BIN/mqadmin" -n "$NS" sendMessage -t BenchTopic0 -p bench-body -k bench-key >/dev/null
for _ in $(seq 1 20); do "$BIN/mqadmin" -n "$NS" sendMessage -t BenchTopic0 -p bench >/dev/null; done

RMQ_DASHBOARD_PASSWORD=bench-pass READY="listening on" start dashboard "$BIN/rmq-dashboard" \
  -n "$NS" --port 0 --data-dir "$WORK/dash"
DASH_PID="$PID"
sleep 5
rss() { awk '/^VmRSS/ {print $2}' "/proc/$DASH_PID/status"; }
IDLE_KB="$(rss)"
(cd "$ROOT/interop/console" && CONSOLE_URL="http://$ADDR" CONSOLE_PASSWORD=bench-pass \
  REPEAT="$REPEAT" node bench.mjs) | tee "$OUT/console-bench.txt"
AFTER_KB="$(rss)"
{
  echo "topics=$TOPICS groups=$NGROUPS (broker $BROKER, $(nproc) cores)"
  echo "rss idle after start: $((IDLE_KB / 1024)) MiB ($IDLE_KB kB)"
  echo "rss after browsing:   $((AFTER_KB / 1024)) MiB ($AFTER_KB kB)"
} | tee -a "$OUT/console-bench.txt"
