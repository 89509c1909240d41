#!/usr/bin/env bash
# How fast the release broker is ready, on an empty store and with gigabytes stored: the time
# from launch to its boot line ("listening on"), after a clean shutdown (the scan starts at the
# checkpoint), after kill -9 of an idle broker, and after kill -9 in the middle of a load
# (`mqbench produce`, 1 KiB, 64 in flight, killed $LOAD_SECS s in): recovery scans from the
# checkpoint's lower offset, the index's, synced every 256 MiB of commit log, so this case
# rescans up to that much (rmq-store/README.md, "Checkpoint"); the table shows how much it
# scanned. The store is filled with `mqbench produce` (4000-byte bodies, under the client's
# 4 KiB compression threshold, 64 in flight) until it holds at least $GIB GiB of bodies.
#
#   bench/broker-restart.sh [GiB]          (default 2)
#   RUNS=5 bench/broker-restart.sh 4       (starts measured per case; the table shows min/median/max)
#   LOAD_SECS=12 bench/broker-restart.sh   (how long the load runs before the kill, default 12)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GIB="${1:-2}"
RUNS="${RUNS:-5}"
LOAD_SECS="${LOAD_SECS:-12}"
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

# MiB of commit log the recovery of start NAME scanned, from its log line
# "recovery: scanned commit log from A to B, ..."; None without one (an empty store).
scanned_mib() {
  local mib
  mib="$(grep -o 'recovery: scanned commit log from [0-9]* to [0-9]*' "$WORK/$1.out" | tail -1 |
    awk '{printf "%.1f", ($8 - $6) / 1048576}')"
  echo "${mib:-None}"
}

declare -A TIMES SCANNED RSS_AFTER
restarted() { # restarted CASE NAME : the start just made counts for CASE
  TIMES[$1]+="$START_MS "
  SCANNED[$1]+="$(scanned_mib "$2") "
}
measure() { # measure CASE HOW : RUNS starts of the broker, each ended by HOW (term or kill)
  local case="$1" how="$2" i
  for i in $(seq 1 "$RUNS"); do
    broker "$case-$i"
    restarted "$case" "$case-$i"
    sleep 1
    RSS_AFTER[$case]="$(rss "$PID")"
    if [ "$how" = kill ]; then kill -9 "$PID"; wait "$PID" 2>/dev/null || true; else stop "$PID"; fi
  done
}
# RUNS times: a broker under load killed with -9, then the start that recovers it.
measure_kill_under_load() {
  local case="after-kill-9-under-load" i load
  for i in $(seq 1 "$RUNS"); do
    broker "load-$i"
    local victim=$PID
    "$BIN/mqbench" produce -n "$NS" -t RestartLoad -s 1024 -c 64 -d $((LOAD_SECS + 5)) --json \
      > "$WORK/load-$i.json" 2>&1 &
    load=$!
    sleep "$LOAD_SECS"
    kill -9 "$victim"; wait "$victim" 2>/dev/null || true
    wait "$load" 2>/dev/null || true
    broker "$case-$i"
    restarted "$case" "$case-$i"
    sleep 1
    RSS_AFTER[$case]="$(rss "$PID")"
    stop "$PID"
  done
}

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
measure_kill_under_load
# The last kill leaves the abort marker: one more clean start shows the store recovered.
broker final
grep -E "recover|torn|truncat" "$WORK/final.out" | head -5 >&2 || true
stop "$PID"

python3 - "$RUNS" <<PY
import statistics, sys
rows = {
$(for k in "${!TIMES[@]}"; do echo "  \"$k\": ([${TIMES[$k]// /,}], [${SCANNED[$k]// /,}], \"${RSS_AFTER[$k]}\"),"; done)
}
print("\nempty store, then a store holding $HOLDS")
print(f"\n{'start':26}{'starts':>8}{'min ms':>9}{'median ms':>11}{'max ms':>9}{'scanned MiB':>13}{'RSS MiB 1 s after':>20}")
for case in sorted(rows, key=lambda c: (c != "empty", c)):
    t, scanned, rss = rows[case]
    scanned = [s for s in scanned if s is not None]
    mib = f"{min(scanned):.0f}-{max(scanned):.0f}" if scanned else "-"
    print(f"{case:26}{len(t):>8}{min(t):>9}{statistics.median(t):>11.0f}{max(t):>9}{mib:>13}{rss:>20}")
print("\n(ready = launch of the process to its 'listening on' boot line, polled every 10 ms)")
PY
