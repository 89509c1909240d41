#!/usr/bin/env bash
# Delayed messages on rmq's broker (release build), one run, same machine as the client:
#  1. lateness on an idle broker: `mqbench delay` (timer messages, receipt minus asked time,
#     consumer pull included);
#  2. builds a backlog of PENDING timer messages due in an hour (`mqbench produce
#     --deliver-after-ms 3600000`), reporting the send rate while it grows;
#  3. with that backlog pending: timer send rate, delay-level send rate, lateness again, broker
#     RSS and the size of the timer wheel on disk.
#
#   bench/delay.sh                    (PENDING=1000000)
#   PENDING=200000 bench/delay.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PENDING="${PENDING:-1000000}"
cd "$ROOT"

. "$ROOT/scripts/lib.sh"
echo "building release binaries" >&2
release_bins rmq-namesrv rmq-broker rmq-tools
work_dir rmq-delay-bench

start ns "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$WORK/kv.json"
NS="$ADDR"
start broker "$BIN/mqbroker" -n "$NS" --listenPort 0 --brokerIP1 127.0.0.1 --brokerName broker-a \
  --storePathRootDir "$WORK/store"
BROKER_PID=$PID
sleep 1
# Anonymous memory is the broker's own; file-backed pages are the mapped commit log and
# consume queues (page cache the kernel reclaims).
rss() { awk '/RssAnon|RssFile/ {printf "%s %d MiB ", $1, $2 / 1024}' "/proc/$BROKER_PID/status"; }
pending() { "$BIN/mqbench" produce -n "$NS" -t BenchDelayBacklog -s 128 -c 64 "$@"; }

echo "== idle broker: lateness of 300 timer messages due 2 s after their send"
"$BIN/mqbench" delay -n "$NS" --count 300 --interval-ms 10 --delay-ms 2000
echo "broker RSS: $(rss)"

echo "== building $PENDING pending timer messages (due in 1 h), 128-byte bodies"
# A first run measures the rate; the second sends the rest (messages in flight at the end of a
# run are not counted, so the backlog ends up slightly above PENDING).
first="$(pending --deliver-after-ms 3600000 -d 10 --json)"
echo "$first"
rate="$(echo "$first" | grep -o '"ops_per_sec":[0-9.]*' | cut -d: -f2 | cut -d. -f1)"
sent=$(( rate * 11 ))
if [ "$sent" -lt "$PENDING" ] && [ "$rate" -gt 0 ]; then
  pending --deliver-after-ms 3600000 -d $(( (PENDING - sent) / rate + 1 )) >/dev/null
fi
echo "broker RSS with the backlog: $(rss); timer wheel on disk: $(du -sh "$WORK/store/timerwheel" | cut -f1) in $(ls "$WORK/store/timerwheel" | wc -l) files"

echo "== with the backlog pending"
pending --deliver-after-ms 3600000 -d 10
pending --delay-level 18 -d 10
"$BIN/mqbench" delay -n "$NS" --count 300 --interval-ms 10 --delay-ms 2000
echo "broker RSS: $(rss)"

echo "== delivery rate: messages sent for 5 s, each due 15 s after its send, re-stored when due"
"$BIN/mqbench" produce -n "$NS" -t BenchDue -s 128 -c 64 --deliver-after-ms 15000 -d 5
delivered() { # messages stored in BenchDue so far (the sum of its queues' max offsets)
  "$BIN/mqadmin" -n "$NS" topicStatus -t BenchDue 2>/dev/null | awk '$1 == "broker-a" {s += $4} END {print s + 0}'
}
first_t=0 first_n=0 last_t=0 last_n=0 stable=0
for _ in $(seq 1 120); do
  n="$(delivered)"; t="$(date +%s%N)"
  if [ "$n" -gt 1 ] && [ "$first_t" -eq 0 ]; then first_t=$t first_n=$n; fi
  if [ "$n" -ne "$last_n" ]; then last_t=$t last_n=$n stable=0; else stable=$((stable + 1)); fi
  [ "$first_t" -gt 0 ] && [ "$stable" -ge 6 ] && break
  sleep 0.5
done
if [ "$last_t" -gt "$first_t" ]; then
  echo "delivered $last_n messages; $(( (last_n - first_n) * 1000000000 / (last_t - first_t) )) msg/s while falling due"
fi
echo "broker RSS: $(rss)"
