#!/usr/bin/env bash
# What TLS costs the broker: rmq's broker (release build, test-mode self-signed certificate)
# under the stock Java 4.9.7 producer and push consumer of rmq.interop.bench.BrokerBench
# (interop/java, as bench/broker-vs-apache.sh), once with plaintext clients (servers permissive)
# and once with -Dtls.enable=true (servers enforcing, so a plaintext connection would fail the
# run; every connection TLS 1.3), alternating for $ROUNDS rounds in one run; sync sends of 1 KiB
# from $THREADS threads. Both modes look at each new connection's first byte.
#
# Reports per run the produce TPS and the broker's CPU time (utime+stime) per produced and per
# consumed message, then the TLS/plaintext ratio of the medians. Client and broker share the
# machine's cores (the Java client's own TLS work competes with the broker); on a busy machine
# the figures are noisy.
#
#   bench/tls-overhead.sh [seconds-per-produce-phase]     (default 20)
#   ROUNDS=3 THREADS=8 QUEUES=8 bench/tls-overhead.sh 20
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/scripts/lib.sh"
ab_bench_setup tls-overhead "${1:-20}"

run_one() { # run_one MODE ROUND   (MODE: plain | tls)
  local mode="$1" dir="$WORK/$1-$2" tls=false server_mode=permissive
  if [ "$mode" = tls ]; then tls=true; server_mode=enforcing; fi
  ab_start "$mode-$2" "$dir" "$BIN/mqbroker" "--tls.server.mode $server_mode" \
    --tls.server.mode "$server_mode" --tls.enable "$tls"
  JAVA_BENCH_OPTS="-Dtls.enable=$tls" broker_bench "tls-$mode-$2" "$dir" "$NS_ADDR" "$BROKER_ADDR" "$BROKER_PID"
  ab_stop "$dir"
}

ab_bench_rounds tls plain tls "the machine's other load shows as noise"
