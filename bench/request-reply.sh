#!/usr/bin/env bash
# Request-reply round trips through rmq's broker and through Apache 4.9.7's, same client on
# both sides: rmq-client's request_reply example (release build) as replier and as requester
# with COUNT requests in flight at once. Prints the wall time of each run and requests per
# second (the requester's whole run: start, route lookup, all replies).
#
#   bench/request-reply.sh [COUNT]     (default 2000; RUNS=3 runs per broker)
#
# Both brokers run on this machine with the clients; figures from a busy machine are noisy.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
. "$ROOT/scripts/lib.sh"
COUNT="${1:-2000}"
RUNS="${RUNS:-3}"

release_bins rmq-namesrv rmq-broker rmq-tools
(cd "$ROOT" && cargo build --release -q -p rmq-client --example request_reply)
EXAMPLE="$BIN/examples/request_reply"
java_harness
work_dir rmq-request-reply

# run KIND NAMESRV BROKER : the replier, then RUNS requester runs of COUNT requests.
run() {
  local kind="$1" ns="$2" broker="$3" topic="RequestReplyBench"
  "$BIN/mqadmin" updateTopic -n "$ns" -b "$broker" -t "$topic" -r 4 -w 4 >/dev/null
  READY="replier ready" start "$kind-replier" "$EXAMPLE" reply "$ns" "$topic" "bench-replier"
  local replier="$PID"
  for run in $(seq 1 "$RUNS"); do
    local t0 t1 out
    t0=$(date +%s%N)
    out="$("$EXAMPLE" request "$ns" "$topic" "$COUNT" 30000 | tail -n1)"
    t1=$(date +%s%N)
    local ms=$(( (t1 - t0) / 1000000 ))
    echo "$kind run $run: $out in ${ms} ms ($(( COUNT * 1000 / (ms > 0 ? ms : 1) )) requests/s)"
  done
  stop "$replier"
}

start rmq-namesrv "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$WORK/rmq-kv.json"
RMQ_NS="$ADDR"
start rmq-broker "$BIN/mqbroker" -n "$RMQ_NS" --listenPort 0 --brokerIP1 127.0.0.1 \
  --brokerName broker-rmq --storePathRootDir "$WORK/rmq-store" --mappedFileSizeCommitLog 67108864
run rmq "$RMQ_NS" "$ADDR"
stop "$PID"

start apache-namesrv java -Xmx256m -Xms64m -XX:+UseSerialGC -Drocketmq.client.logUseSlf4j=true \
  -cp "$CP" rmq.interop.ApacheNamesrvMain --listenPort 0 --kvConfigPath "$WORK/apache-kv.json"
APACHE_NS="$ADDR"
start apache-broker java -Xmx1g -Xms1g -XX:+UseG1GC "${JAVA_OPENS[@]}" \
  -Drocketmq.client.logUseSlf4j=true -cp "$CP" \
  rmq.interop.ApacheBrokerMain -n "$APACHE_NS" --listenPort 0 --brokerIP1 127.0.0.1 \
  --brokerName broker-apache --storePathRootDir "$WORK/apache-store" \
  --mappedFileSizeCommitLog 67108864 --diskMaxUsedSpaceRatio 99
run apache "$APACHE_NS" "$ADDR"
