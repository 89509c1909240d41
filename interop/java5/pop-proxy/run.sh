#!/usr/bin/env bash
# Apache's rocketmq-proxy 5.3.3 in cluster mode on top of a name server and broker, with the
# official 5.x gRPC client's SimpleConsumer (PopProxyCheck.java): first on Apache 5.3.3's name
# server and broker (the harness's self-check), then on rmq's mqnamesrv and mqbroker. The proxy
# consumes with POP_MESSAGE / ACK_MESSAGE / CHANGE_MESSAGE_INVISIBLETIME, so this is the proof
# that rmq's POP is what Apache's proxy expects (docs/pop.md).
#
#   interop/java5/pop-proxy/run.sh [apache|rmq|both]      (default both)
#
# Environment: RMQ_NAMESRV_BIN, RMQ_BROKER_BIN, RMQ_MQADMIN_BIN (default target/debug/...; build
# them with `cargo build -p rmq-namesrv -p rmq-broker -p rmq-tools`); CI=true turns a missing
# binary or Maven artifact into a failure instead of a skip; RMQ_POP_PROXY_KEEP=1 keeps the
# servers' logs and stores. Needs java 17+, mvn, python3. The stacks are started by
# interop/lib/stacks.sh, shared with interop/grpc.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
WHAT="${1:-both}"
HARNESS=pop-proxy
# shellcheck source=../../lib/stacks.sh
. "$ROOT/interop/lib/stacks.sh"
status=0

stacks_prepare
# minInvisibleTimeMillsForRecv: the check hides messages for 2 s (the proxy's floor is 10 s).
APACHE_PROXY_EXTRA=',"minInvisibleTimeMillsForRecv":1000'

# Creates the topic through the name server's cluster, then runs the client check.
check() {
  local label="$1" namesrv="$2" proxy="$3"
  local topic="PopProxy$(date +%s)"
  "$MQADMIN_BIN" updateTopic -n "$namesrv" -c DefaultCluster -t "$topic" -r 4 -w 4 >"$WORK/$label-topic.log" 2>&1 \
    || { echo "pop-proxy: cannot create $topic: $(tail -n 3 "$WORK/$label-topic.log")" >&2; return 1; }
  sleep 2
  java -cp "$CLIENT_CP" -Drocketmq.log.level=WARN "$HERE/PopProxyCheck.java" "$proxy" "$topic" "$label" 2>"$WORK/$label-client.err" \
    || { tail -n 20 "$WORK/$label-client.err" >&2; return 1; }
}

run_apache() {
  start_apache_stack "$WORK/apache" || return 1
  start_apache_proxy "$WORK/apache/proxy" "$NAMESRV" || return 1
  check apache "$NAMESRV" "$PROXY"
}

run_rmq() {
  RMQ_BROKER_EXTRA="--reviveInterval 200" start_rmq_stack "$WORK/rmq" || return 1
  start_apache_proxy "$WORK/rmq/proxy" "$NAMESRV" || return 1
  check rmq "$NAMESRV" "$PROXY"
}

case "$WHAT" in
  apache) run_apache || status=1 ;;
  rmq) run_rmq || status=1 ;;
  both)
    run_apache || status=1
    run_rmq || status=1
    ;;
  *) echo "usage: $0 [apache|rmq|both]" >&2; exit 2 ;;
esac
exit $status
