#!/usr/bin/env bash
# How fast the release broker is ready, on an empty store and with gigabytes stored: the time
# from launch to its boot line ("listening on"), after a clean shutdown (the scan starts at the
# checkpoint) and after kill -9 (recovery verifies and re-dispatches the commit-log file that
# holds the checkpoint). The store is filled with `mqbench produce` (4000-byte bodies, under the
# client's 4 KiB compression threshold, 64 in flight) until it holds at least $GIB GiB of bodies.
#
#   bench/broker-restart.sh [GiB]          (default 2)
#   RUNS=5 bench/broker-restart.sh 4       (starts measured per case; the table shows min/median/max)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GIB="${1:-2}"
RUNS="${RUNS:-5}"
cd "$ROOT"

. "$ROOT/scripts/lib.sh"
echo "building release binaries" >&2
release_bins rmq-namesrv rmq-broker rmq-tools
work_dir broker-restart

start ns "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$WORK/kv.json"
NS=$ADDR
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
STORE="$WORK/store"
broker() { # broker NAME : starts the broker on the fixed port and store; sets PID and START_MS
  start "$1" "$BIN/mqbroker" -n "$NS" --listenPort "$PORT" --brokerIP1 127.0.0.1 \
    --brokerName broker-a --storePathRootDir "$STORE"
}
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

declare -A TIMES
measure() { # measure CASE HOW : RUNS starts of the broker, each ended by HOW (term or kill)
  local case="$1" how="$2" i
  for i in $(seq 1 "$RUNS"); do
    broker "$case-$i"
    TIMES[$case]+="$START_MS "
    sleep 1
    RSS_AFTER[$case]="$(rss "$PID")"
    if [ "$how" = kill ]; then kill -9 "$PID"; wait "$PID" 2>/dev/null || true; else stop "$PID"; fi
  done
}
declare -A RSS_AFTER

measure empty term
echo "== filling the store with ${GIB} GiB of 4000-byte messages" >&2
broker fill
FILL_PID=$PID
want=$((GIB * 1024 * 1024 * 1024))
stored=0
while [ "$stored" -lt "$want" ]; do
  sent="$("$BIN/mqbench" produce -n "$NS" -t RestartBench -s 4000 -c 64 -d 10 --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["ok"])')"
  stored=$((stored + sent * 4000))
  echo "   $((stored / 1024 / 1024)) MiB stored" >&2
done
stop "$FILL_PID"
HOLDS="$((stored / 1024 / 1024)) MiB of bodies in $(ls "$STORE/commitlog" | wc -l) commit-log files"
echo "   the store holds $HOLDS" >&2

measure "after-clean-stop" term
measure "after-kill-9" kill
# The last kill leaves the abort marker: one more clean start shows the store recovered.
broker final
grep -E "recover|torn|truncat" "$WORK/final.out" | head -5 >&2 || true
stop "$PID"

python3 - "$RUNS" <<PY
import statistics, sys
rows = {
$(for k in "${!TIMES[@]}"; do echo "  \"$k\": ([${TIMES[$k]// /,}], \"${RSS_AFTER[$k]}\"),"; done)
}
print("\nempty store, then a store holding $HOLDS")
print(f"\n{'start':18}{'starts':>8}{'min ms':>9}{'median ms':>11}{'max ms':>9}{'RSS MiB 1 s after':>20}")
for case in sorted(rows, key=lambda c: (c != "empty", c)):
    t, rss = rows[case]
    print(f"{case:18}{len(t):>8}{min(t):>9}{statistics.median(t):>11.0f}{max(t):>9}{rss:>20}")
print("\n(ready = launch of the process to its 'listening on' boot line, polled every 10 ms)")
PY
