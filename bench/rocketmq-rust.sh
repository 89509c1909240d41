#!/usr/bin/env bash
# A second anchor (issue 17): mxsm/rocketmq-rust, another RocketMQ broker written in Rust, side
# by side with rmq's and Apache 4.9.7's in one run, same machine, same client: the stock Java
# 4.9.7 producer and push consumer of bench/broker-vs-apache.sh (rmq.interop.bench.BrokerBench,
# 8 sync senders, 1 KiB, then a push consumer draining everything), each broker with its own
# name server, ASYNC_FLUSH. Columns as in bench/broker-vs-apache.sh; start-ready is launch to
# each broker's boot line ("listening on" for rmq and Apache, "started successfully" for
# rocketmq-rust, printed once it has registered with its name server).
#
# All three stores are on tmpfs (/dev/shm; STORE_ROOT to choose another directory): rocketmq-rust
# takes a disk's used share as (total - available) / total, so blocks reserved for root count as
# used, and its broker refuses to start above 90 % (diskSpaceWarningLevelRatio is capped there).
# On the development machine's disk (252 GB, 18 GB available to users, 179 GB free) that is 93 %,
# where Apache 4.9.7 sees 80 % (used / (used + available), as df) and rmq 29 % (used / total).
# With ASYNC_FLUSH the brokers write to the page cache either way; the disk is not measured.
#
# rocketmq-rust comes from crates.io, pinned: the crates rocketmq-namesrv and rocketmq-broker
# (binaries rocketmq-namesrv-rust and rocketmq-broker-rust), installed once with
# `cargo install --locked` into $RR_ROOT (default ~/.cache/rmq-bench/rocketmq-rust)
# through a throw-away target dir; the first install compiles about 500 crates (about 50 minutes
# on 2 busy cores, 1.3 GB of temporary disk).
#
#   bench/rocketmq-rust.sh [seconds-per-produce-phase]     (default 20)
#   THREADS=8 QUEUES=8 FLUSHES="ASYNC_FLUSH SYNC_FLUSH" STORE_ROOT=/dev/shm bench/rocketmq-rust.sh 20
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-20}"
THREADS="${THREADS:-8}"
QUEUES="${QUEUES:-8}"
FLUSHES="${FLUSHES:-ASYNC_FLUSH}"
RR_VERSION=1.0.0
RR_ROOT="${RR_ROOT:-$HOME/.cache/rmq-bench/rocketmq-rust}"
cd "$ROOT"

. "$ROOT/scripts/lib.sh"
. "$ROOT/bench/broker-stacks.sh"
bench_setup rocketmq-rust
STORE_ROOT="$(mktemp -d "${STORE_ROOT:-/dev/shm}/rocketmq-rust-stores.XXXXXX")"
trap '_lib_cleanup; rm -rf "$STORE_ROOT"' EXIT

# install_rocketmq_rust : cargo install of the pinned crates into RR_ROOT unless both binaries are
# there at that version; the target dir lives in WORK and goes with it.
install_rocketmq_rust() {
  local crate missing=()
  for crate in rocketmq-namesrv rocketmq-broker; do
    grep -q "^\"$crate $RR_VERSION " "$RR_ROOT/.crates.toml" 2>/dev/null \
      && [ -x "$RR_ROOT/bin/$crate-rust" ] || missing+=("$crate@$RR_VERSION")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing ${missing[*]} from crates.io into $RR_ROOT (first time: 20-60 minutes)" >&2
  CARGO_TARGET_DIR="$WORK/cargo-target" cargo install --locked --root "$RR_ROOT" "${missing[@]}" >&2
  rm -rf "$WORK/cargo-target"
}

# start_on_port NAME PORT COMMAND... : like `start` (scripts/lib.sh) for a server that prints no
# address: ready when 127.0.0.1:PORT accepts a connection (90 s at most). Sets PID and ADDR.
start_on_port() {
  local name="$1" port="$2"
  shift 2
  "$@" >"$WORK/$name.out" 2>&1 &
  PID=$!
  SERVER_PIDS+=("$PID")
  for _ in $(seq 1 9000); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.01
  done
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$name did not accept on 127.0.0.1:$port; its output:" >&2
    tail -30 "$WORK/$name.out" >&2
    exit 1
  fi
  ADDR="127.0.0.1:$port"
}

# start_rocketmq_rust DIR FLUSH : rocketmq-rust's name server and broker with HOME and
# ROCKETMQ_HOME in DIR (their default paths are under both), the broker configured with Java
# broker properties, which it converts (its report lands next to them).
start_rocketmq_rust() {
  local dir="$1" flush="$2" home="$1/home" ns_port port
  mkdir -p "$home"
  ns_port="$(free_broker_port)"
  start_on_port "rocketmq-rust-$flush-ns" "$ns_port" env HOME="$home" ROCKETMQ_HOME="$home" \
    "$RR_ROOT/bin/rocketmq-namesrv-rust" --listenPort "$ns_port" --bindAddress 127.0.0.1 \
    --kvConfigPath "$dir/kv.json"
  NS_PID=$PID NS_ADDR=$ADDR
  port="$(free_broker_port)"
  cat >"$dir/broker.properties" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
brokerIP2=127.0.0.1
namesrvAddr=$NS_ADDR
listenPort=$port
haListenPort=$((port + 1))
storePathRootDir=$STORE
flushDiskType=$flush
EOF
  READY="started successfully" start "rocketmq-rust-$flush-broker" env HOME="$home" ROCKETMQ_HOME="$home" \
    "$RR_ROOT/bin/rocketmq-broker-rust" -c "$dir/broker.properties"
  BROKER_PID=$PID BROKER_ADDR="127.0.0.1:$port" READY_MS=$START_MS
}

install_rocketmq_rust
ratios=()
for flush in $FLUSHES; do
  stack_bench rmq "$flush"
  stack_bench apache "$flush"
  stack_bench rocketmq-rust "$flush"
  ratios+=("rmq-$flush/rocketmq-rust-$flush=rmq/rocketmq-rust ${flush%_FLUSH}"
           "rocketmq-rust-$flush/apache-$flush=rocketmq-rust/apache ${flush%_FLUSH}")
done
stack_table "${ratios[@]}"
# Sends that did not return SEND_OK are counted in each run's "(N failed)"; the first one's
# exception or status, if any, is shown here.
for flush in $FLUSHES; do
  for impl in rmq apache rocketmq-rust; do
    sed -n "s/^first failed send: /$impl-$flush: first failed send: /p" "$WORK/$impl-$flush/bench.err"
  done
done
