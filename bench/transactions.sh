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

echo "building release binaries" >&2
cargo build --release -q -p rmq-namesrv -p rmq-broker -p rmq-tools
target_dir="$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)"
BIN="${target_dir:-$ROOT/target}/release"

WORK="$(mktemp -d /tmp/rmq-tx-bench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start() { # start NAME COMMAND... : waits for the boot line; sets ADDR
  local out="$WORK/$1.out"; shift
  "$@" >"$out" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 3000); do
    grep -q 'listening on' "$out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  ADDR="$(grep -o 'listening on [0-9.:]*' "$out" | head -n1 | cut -d' ' -f3)"
  [ -n "$ADDR" ] || { echo "$out:"; tail -20 "$out"; exit 1; }
}

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
