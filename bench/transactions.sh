#!/usr/bin/env bash
# Transactional vs plain sends on rmq's broker (release build), same machine as the client:
# `mqbench produce` then `mqbench produce --transactional` (half message, a local transaction
# that commits at once, END_TRANSACTION), alternated ROUNDS times so both see the same
# machine load; finally `mqadmin topicStatus` shows how many transactional messages were
# committed to BenchTx (at least the sum of the transactional runs' "ok" counts: sends still in
# flight when a run ends are committed but not counted).
#
#   bench/transactions.sh                 (ROUNDS=2, DURATION=10 s, SIZE=1024, CONCURRENCY=64)
#   ROUNDS=3 DURATION=20 bench/transactions.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-2}"
DURATION="${DURATION:-10}"
SIZE="${SIZE:-1024}"
CONCURRENCY="${CONCURRENCY:-64}"
cd "$ROOT"

. "$ROOT/scripts/lib.sh"
echo "building release binaries" >&2
release_bins rmq-namesrv rmq-broker rmq-tools
work_dir rmq-tx-bench

start ns "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$WORK/kv.json"
NS="$ADDR"
start broker "$BIN/mqbroker" -n "$NS" --listenPort 0 --brokerIP1 127.0.0.1 --brokerName broker-a \
  --storePathRootDir "$WORK/store"
sleep 1

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round: plain sends"
  "$BIN/mqbench" produce -n "$NS" -t BenchPlain -s "$SIZE" -c "$CONCURRENCY" -d "$DURATION"
  echo "== round $round: transactional sends"
  "$BIN/mqbench" produce -n "$NS" -t BenchTx -s "$SIZE" -c "$CONCURRENCY" -d "$DURATION" --transactional
done
echo "== committed transactional messages (sum of the max offsets)"
"$BIN/mqadmin" topicStatus -n "$NS" -t BenchTx
