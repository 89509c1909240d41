#!/usr/bin/env bash
# What switching metrics on costs the broker: rmq's broker (release build) with
# metricsExporterType=DISABLE and with PROM (scraped every second by curl meanwhile, far more
# often than Prometheus's usual 15 s), alternating off/on for $ROUNDS rounds in one run. The load
# is the stock Java 4.9.7 producer and push consumer of rmq.interop.bench.BrokerBench
# (interop/java, as bench/broker-vs-apache.sh), sync sends of 1 KiB from $THREADS threads.
#
# Reports per run the produce TPS and the broker's CPU time (utime+stime) per produced and per
# consumed message, then the on/off ratio of the medians. The goal is ≤ 5 % more CPU per message.
# Client and broker share the machine's cores; on a busy machine the figures are noisy.
#
#   bench/metrics-overhead.sh [seconds-per-produce-phase]     (default 20)
#   ROUNDS=3 THREADS=8 QUEUES=8 bench/metrics-overhead.sh 20
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/scripts/lib.sh"
ab_bench_setup metrics-overhead "${1:-20}"

run_one() { # run_one MODE ROUND   (MODE: off | on)
  local mode="$1" dir="$WORK/$1-$2" metrics=() scraper=""
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  if [ "$mode" = on ]; then
    metrics=(--metricsExporterType PROM --metricsPromExporterHost 127.0.0.1 --metricsPromExporterPort "$port")
  fi
  ab_start "$mode-$2" "$dir" "$BIN/mqbroker" "" "${metrics[@]}"
  if [ "$mode" = on ]; then
    (while kill -0 "$BROKER_PID" 2>/dev/null; do
       curl -sf "http://127.0.0.1:$port/metrics" -o "$dir/last-scrape.txt" || true; sleep 1
     done) &
    scraper=$!
  fi
  broker_bench "metrics-$mode-$2" "$dir" "$NS_ADDR" "$BROKER_ADDR" "$BROKER_PID"
  if [ "$mode" = on ]; then
    grep -q '^rocketmq_messages_in_total' "$dir/last-scrape.txt" \
      || { echo "metrics were on but the last scrape has no rocketmq_messages_in_total" >&2; exit 1; }
  fi
  ab_stop "$dir"
  [ -z "$scraper" ] || wait "$scraper" 2>/dev/null || true
}

ab_bench_rounds metrics off on "goal: CPU per message on/off ≤ 1.05; the machine's other load shows as noise"
