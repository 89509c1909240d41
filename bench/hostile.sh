#!/usr/bin/env bash
# Hostile connections (issue 15, item 4), rmq against Apache RocketMQ 4.9.7 on the same machine
# (Apache's name server with -Xmx256m as interop/apache-namesrv.sh runs it; its runserver.sh uses 4g):
# each name server and broker (release builds; Apache's from Maven Central on Java 17, broker
# -Xmx1g) in turn gets 10,000 idle connections, 200 peers that never read their responses,
# 16 MiB headers, malformed and 2 GiB frames, a connection storm and (brokers) 5,000 parked
# long-polling pulls on one connection, while a well-behaved client asks every 5 ms
# (GET_ROUTEINFO_BY_TOPIC of a name server, GET_BROKER_RUNTIME_INFO of a broker).
#
# Prints one table row per server and scenario: server RSS before / peak / after, the
# well-behaved client's answers, p50 / p99 / max latency and errors, and what the hostile peers
# got (connections, closed by the server, requests). Every server runs with its defaults; rmq's
# closes a peer that has not read for writeStallTimeoutMillis (30 s).
#
#   bench/hostile.sh [rmq|apache|both]        (default both)
#   SCALE=ci bench/hostile.sh rmq             (the CI scale: seconds instead of minutes)
#   ONLY=storm bench/hostile.sh               (scenarios whose name contains ONLY)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WHICH="${1:-both}"
SCALE="${SCALE:-full}"
cd "$ROOT"

. "$ROOT/scripts/lib.sh"
echo "building release binaries and the hostile tool" >&2
release_bins rmq-namesrv rmq-broker rmq-tools
cargo build --release -q -p rmq-testkit --example hostile
TOOL="$BIN/examples/hostile"
if [ "$WHICH" != rmq ]; then java_harness; fi
work_dir hostile
# Ten thousand idle connections need ten thousand descriptors, in the servers and the tool.
ulimit -n "$(ulimit -Hn)"
ONLY_ARGS=()
if [ -n "${ONLY:-}" ]; then ONLY_ARGS=(--only "$ONLY"); fi

hostile() { # hostile LABEL TARGET ADDR PID [--topic T]
  local label="$1" target="$2" addr="$3" pid="$4"
  shift 4
  "$TOOL" --label "$label" --target "$target" --addr "$addr" --pid "$pid" --scale "$SCALE" \
    "${ONLY_ARGS[@]}" "$@" | tee -a "$WORK/table.txt"
}

run_impl() { # run_impl rmq|apache
  local impl="$1" dir="$WORK/$1"
  mkdir -p "$dir"
  if [ "$impl" = rmq ]; then
    start "$impl-ns" "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$dir/kv.json"
  else
    start "$impl-ns" java -Xmx256m -cp "$CP" rmq.interop.ApacheNamesrvMain --listenPort 0 \
      --kvConfigPath "$dir/kv.json"
  fi
  local ns_pid=$PID ns_addr=$ADDR
  sleep 1
  hostile "$impl-ns" namesrv "$ns_addr" "$ns_pid"
  # The broker registers with a fresh name server: the attacked one may not have survived.
  stop "$ns_pid"
  if [ "$impl" = rmq ]; then
    start "$impl-ns2" "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$dir/kv2.json"
  else
    start "$impl-ns2" java -Xmx256m -cp "$CP" rmq.interop.ApacheNamesrvMain --listenPort 0 \
      --kvConfigPath "$dir/kv2.json"
  fi
  ns_pid=$PID ns_addr=$ADDR
  if [ "$impl" = rmq ]; then
    start "$impl-broker" "$BIN/mqbroker" -n "$ns_addr" --listenPort 0 --brokerIP1 127.0.0.1 \
      --brokerName broker-a --storePathRootDir "$dir/store"
  else
    start "$impl-broker" java -Xms1g -Xmx1g -XX:+UseG1GC "${JAVA_OPENS[@]}" -cp "$CP" \
      rmq.interop.ApacheBrokerMain -n "$ns_addr" --listenPort 0 --brokerIP1 127.0.0.1 \
      --brokerName broker-a --storePathRootDir "$dir/store"
  fi
  local broker_pid=$PID broker_addr=$ADDR
  for attempt in $(seq 1 20); do
    "$BIN/mqadmin" updateTopic -n "$ns_addr" -b "$broker_addr" -t HostileParked -r 1 -w 1 \
      >/dev/null 2>&1 && break
    [ "$attempt" -lt 20 ] || { echo "cannot create HostileParked on $broker_addr" >&2; exit 1; }
    sleep 1
  done
  sleep 1
  hostile "$impl-broker" broker "$broker_addr" "$broker_pid" --topic HostileParked
  for name in "$impl-broker" "$impl-ns"; do
    local lines
    lines=$(grep -c -E 'refusing connection|malformed frame|writeStallTimeoutMillis|maxInFlightPerConnection|TooLongFrame|closeChannel' \
      "$WORK/$name.out" || true)
    echo "$name: $lines log lines about hostile peers (rate-limited in rmq)" >&2
  done
  stop "$broker_pid"
  stop "$ns_pid"
  rm -rf "$dir/store"
}

case "$WHICH" in
  rmq) run_impl rmq ;;
  apache) run_impl apache ;;
  both) run_impl rmq; run_impl apache ;;
  *) echo "usage: bench/hostile.sh [rmq|apache|both]" >&2; exit 2 ;;
esac
echo
echo "== hostile connections ($SCALE scale; RSS in MiB, latencies of the well-behaved client in ms)"
cat "$WORK/table.txt"
