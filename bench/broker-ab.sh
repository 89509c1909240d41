#!/usr/bin/env bash
# Two builds of rmq's broker under the same load, to tell whether a change pays: BASE and VARIANT
# are two mqbroker binaries (release builds), run alternating (base, variant, base, ...) for
# $ROUNDS rounds in one run, each against a fresh name server and store. The load is the stock
# Java 4.9.7 producer and push consumer of rmq.interop.bench.BrokerBench (interop/java, as
# bench/broker-vs-apache.sh), sync sends of 1 KiB from $THREADS threads.
#
# Reports per run the produce TPS and the broker's CPU time (utime+stime) per produced and per
# consumed message, then the variant/base ratio of the medians. Client and broker share the
# machine's cores; on a busy machine the figures are noisy, so measure the same binary as both
# BASE and VARIANT once to learn the noise before believing a small ratio.
#
# Building the two binaries from two git revisions, each in a worktree of its own (one target
# directory for both, so dependencies build once; copy each binary out before the next build):
#
#   git worktree add --detach /tmp/ab-base <base-revision>
#   (cd /tmp/ab-base && CARGO_TARGET_DIR=/tmp/ab-target cargo build --release -p rmq-broker)
#   cp /tmp/ab-target/release/mqbroker /tmp/mqbroker-base
#   git -C /tmp/ab-base checkout --detach <variant-revision>     # or apply a patch there
#   (cd /tmp/ab-base && CARGO_TARGET_DIR=/tmp/ab-target cargo build --release -p rmq-broker)
#   cp /tmp/ab-target/release/mqbroker /tmp/mqbroker-variant
#   git worktree remove --force /tmp/ab-base
#
#   BASE_BROKER=/tmp/mqbroker-base VARIANT_BROKER=/tmp/mqbroker-variant bench/broker-ab.sh [seconds]
#   ROUNDS=3 THREADS=8 QUEUES=8 BASE_BROKER=... VARIANT_BROKER=... bench/broker-ab.sh 15
#   BROKER_ARGS="--flushDiskType SYNC_FLUSH" BASE_BROKER=... VARIANT_BROKER=... bench/broker-ab.sh
#                                     (BROKER_ARGS: more broker options, for both builds)
#
# The name server is this checkout's release build (it only routes; it is idle during the load).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
: "${BASE_BROKER:?BASE_BROKER: the base mqbroker binary}"
: "${VARIANT_BROKER:?VARIANT_BROKER: the variant mqbroker binary}"
for b in "$BASE_BROKER" "$VARIANT_BROKER"; do
  [ -x "$b" ] || { echo "$b is not an executable mqbroker" >&2; exit 1; }
done
ROUNDS="${ROUNDS:-3}"
. "$ROOT/scripts/lib.sh"
ab_bench_setup broker-ab "${1:-20}"

run_one() { # run_one BUILD ROUND   (BUILD: base | variant)
  local build="$1" dir="$WORK/$1-$2" broker="$BASE_BROKER" extra
  read -ra extra <<<"${BROKER_ARGS:-}"
  [ "$build" = base ] || broker="$VARIANT_BROKER"
  ab_start "$build-$2" "$dir" "$broker" "" "${extra[@]}"
  broker_bench "ab-$build-$2" "$dir" "$NS_ADDR" "$BROKER_ADDR" "$BROKER_PID"
  ab_stop "$dir"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
ab_bench_rounds ab base variant "base: $BASE_BROKER, variant: $VARIANT_BROKER"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
