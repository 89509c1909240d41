#!/usr/bin/env bash
# RocketMQ 5's official Go SDK (github.com/apache/rocketmq-clients/golang/v5 v5.1.2, pinned in
# go.mod/go.sum) through a gRPC proxy: the scenarios of issue 14 (main.go and its files: normal
# messages with tag, keys and properties, a SimpleConsumer's ack, change of invisible duration
# and redelivery with attempt 2; FIFO order per message group with two consumers of an orderly
# group; delay; transactions committed, rolled back, and one checked back after its producer's
# process exited; the dead-letter queue after max attempts, read back) against Apache 5.3.3's
# name server + broker + rocketmq-proxy (the harness's self-check), then rmq's mqnamesrv +
# mqbroker + mqproxy. Each stack must pass the scenarios' own checks and the two stacks' facts
# must be equal (known differences: rows `grpc-go:` of interop/known-differences.txt).
#
#   interop/grpc-go/run.sh [apache|rmq|local|both|all]      (default both)
#
# local: rmq's mqbroker with the proxy in its own process (enableProxy=true), checked but not
# compared; all: both (side by side), then local. Environment as interop/grpc/run.sh
# (RMQ_*_BIN, RMQ_HARNESS_KEEP=1); CI=true turns a missing `go`, binary or Maven artifact or a
# failed module download into a failure. Needs go, java 17+, mvn, python3.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WHAT="${1:-both}"
HARNESS=grpc-go
# shellcheck source=../lib/stacks.sh
. "$ROOT/interop/lib/stacks.sh"
status=0

command -v go >/dev/null 2>&1 || skip_or_fail "'go' not on PATH"
stacks_prepare "$PROXY_BIN"
(cd "$HERE" && go build -o "$WORK/grpcgo" .) >"$WORK/go-build.log" 2>&1 \
  || skip_or_fail "go build (module download) failed: $(tail -n 5 "$WORK/go-build.log")"
# Transactions left open are checked back after 2 s, every 5 s (both brokers' keys). Apache's
# broker checks a half message again each round until the answer is matched, and each COMMIT
# answer stores a copy: with a round every second (interop/grpc's) or every 3 s, the orphan
# was stored twice now and then when the answer was slow (three stacks on two cores).
# The revive scans that bring unacked messages back rest at most 1 s (Apache: reviveInterval
# 1 s times reviveMaxSlow, 3 by default) or 200 ms (rmq: reviveInterval), as in interop/grpc.
APACHE_BROKER_EXTRA=$'transactionTimeOut=2000\ntransactionCheckInterval=5000\nreviveMaxSlow=1'
RMQ_BROKER_KEYS="--transactionTimeOut 2000 --transactionCheckInterval 5000 --reviveInterval 200"
# Receivers hide messages for 1-8 s (both proxies' floor is 10 s by default). Apache's proxy
# keeps a route, also "no such topic", until a refresh 20 s later: the reader of %DLQ%group,
# which asks before the first dead letter makes that topic, waited that long (rmq's proxy
# keeps no routes; it warns about the key).
APACHE_PROXY_EXTRA=',"minInvisibleTimeMillsForRecv":1000,"topicRouteServiceCacheRefreshSeconds":1'

# Creates the typed topics and the two groups on name server $2 and runs the scenarios against
# proxy $3; facts in $WORK/$1.facts.
scenarios() {
  local label="$1" namesrv="$2" proxy="$3" prefix="Go$(date +%s)" began=$SECONDS t
  {
    for t in Normal:NORMAL Fifo:FIFO Delay:DELAY Tx:TRANSACTION Dlq:NORMAL Refuse:NORMAL; do
      "$MQADMIN_BIN" updateTopic -n "$namesrv" -c DefaultCluster -t "$prefix${t%%:*}" -r 4 -w 4 \
        -a "+message.type=${t##*:}" || exit 1
    done
    "$MQADMIN_BIN" updateSubGroup -n "$namesrv" -c DefaultCluster -g "${prefix}DlqGroup" -r 1 || exit 1
    # rmq's mqadmin has no consumeMessageOrderly option: Apache's sets the orderly group.
    java -cp "$SERVERS_CP" org.apache.rocketmq.tools.command.MQAdminStartup updateSubGroup -n "$namesrv" \
      -c DefaultCluster -g "${prefix}FifoGroup" -o true | grep success
  } >"$WORK/$label-admin.log" 2>&1 \
    || { echo "grpc-go: cannot create the topics or groups on $label: $(tail -n 5 "$WORK/$label-admin.log")" >&2; return 1; }
  sleep 2
  # The SDK's own log goes to rocketmq.client.logRoot (else ~/logs/rocketmqlogs).
  if env "rocketmq.client.logRoot=$WORK/$label-sdk" "$WORK/grpcgo" "$proxy" "$prefix" "$WORK/$label.facts" \
      "$WORK/$label-sdk" >"$WORK/$label-scenario.log" 2>&1; then
    echo "PASS grpc-go $label: $(wc -l <"$WORK/$label.facts") facts as expected ($(tail -n 1 "$WORK/$label-scenario.log"); $((SECONDS - began)) s with the admin steps)"
  else
    echo "FAIL grpc-go $label:" >&2
    tail -n 60 "$WORK/$label-scenario.log" >&2
    return 1
  fi
}

run_apache() {
  start_apache_with_proxy "$WORK/apache" || return 1
  scenarios apache "$NAMESRV" "$PROXY"
}

run_rmq() {
  RMQ_BROKER_EXTRA="$RMQ_BROKER_KEYS" start_rmq_with_proxy "$WORK/rmq" || return 1
  scenarios rmq "$NAMESRV" "$PROXY"
}

# rmq's broker with the proxy in its own process (enableProxy=true, local mode).
run_local() {
  local port
  port="$(free_port)"
  RMQ_BROKER_EXTRA="$RMQ_BROKER_KEYS --enableProxy true --grpcServerPort $port --minInvisibleTimeMillsForRecv 1000" \
    start_rmq_stack "$WORK/local" || return 1
  scenarios local "$NAMESRV" "127.0.0.1:$port"
}

# The stacks of a run start side by side (own directories, ports and fact files), each one's
# output printed as one block when it ends (stacks_concurrently); the comparison follows.
case "$WHAT" in
  apache | rmq | local) stacks_concurrently "run_$WHAT" || status=1 ;;
  both) stacks_concurrently run_apache run_rmq || status=1 ;;
  # Two at a time, as interop/grpc: Apache's proxy failed to start (its system topic's creation
  # timed out) when its JVMs started beside two rmq stacks on a loaded machine.
  all)
    stacks_concurrently run_apache run_rmq || status=1
    stacks_concurrently run_local || status=1
    ;;
  *) echo "usage: $0 [apache|rmq|local|both|all]" >&2; exit 2 ;;
esac
if [ -f "$WORK/apache.facts" ] && [ -f "$WORK/rmq.facts" ]; then
  stacks_compare "$WORK/apache.facts" "$WORK/rmq.facts" || status=1
fi
exit $status
