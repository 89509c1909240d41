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
# consumed message, and per request of the floor phase (same-size requests every broker answers
# from memory, for $FLOOR_SECS, default half of the produce phase: what the network, frame and
# header layers and the kernel cost per request); then the rmq/apache ratios. Client and broker
# share the machine's cores.
# The stacks, the client run and the table are in bench/broker-stacks.sh (shared with
# bench/rocketmq-rust.sh).
#
#   bench/broker-vs-apache.sh [seconds-per-produce-phase]     (default 20)
#   THREADS=8 QUEUES=8 bench/broker-vs-apache.sh 20
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-20}"
THREADS="${THREADS:-8}"
QUEUES="${QUEUES:-8}"
cd "$ROOT"

. "$ROOT/scripts/lib.sh"
. "$ROOT/bench/broker-stacks.sh"
bench_setup broker-vs-apache

for flush in ASYNC_FLUSH SYNC_FLUSH; do
  stack_bench rmq "$flush"
  stack_bench apache "$flush"
done

stack_table "rmq-ASYNC_FLUSH/apache-ASYNC_FLUSH=rmq/apache ASYNC_FLUSH" \
  "rmq-SYNC_FLUSH/apache-SYNC_FLUSH=rmq/apache SYNC_FLUSH"
