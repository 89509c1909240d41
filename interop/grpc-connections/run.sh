#!/usr/bin/env bash
# Which GET_CONSUMER_CONNECTION_LIST answers show gRPC consumers (docs/grpc-proxy.md, "Missing")?
# A Java 5 PushConsumer (group CcPush) and SimpleConsumer (CcSimple) stay connected through a
# proxy while Apache 5.3.3's `mqadmin consumerConnection -g G -b ADDR` asks the broker behind
# Apache 5.3.3's proxy (cluster mode), that proxy's remoting port, and the broker behind rmq's
# mqproxy. Prints the answers; a fact-finding run (about 2 minutes), not part of .ci/run.
#
#   interop/grpc-connections/run.sh      (needs the binaries interop/grpc/run.sh needs)
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
HARNESS=consumer-connection
. "$ROOT/interop/lib/stacks.sh"
stacks_prepare "$PROXY_BIN"
admin() {
  java -cp "$SERVERS_CP" org.apache.rocketmq.tools.command.MQAdminStartup "$@" -n "$NAMESRV" 2>&1 \
    | grep -v -i 'slf4j\|log4j\|^\s*at \|^\s*\.\.\.' | head -12
}
check() {
  local label="$1"; shift
  "$MQADMIN_BIN" updateTopic -t CcTopic -c DefaultCluster -n "$NAMESRV" >/dev/null 2>&1
  java -cp "$CLIENT_CP" "$HERE/Check.java" "$PROXY" CcTopic >"$WORK/$label.java.log" 2>&1 &
  local jp=$!
  sleep 25
  for addr in "$@"; do
    for g in CcPush CcSimple; do
      echo "== $label: consumerConnection -g $g -b $addr"
      admin consumerConnection -g "$g" -b "$addr"
    done
  done
  wait "$jp"
  grep -m3 -i 'started\|exception' "$WORK/$label.java.log"
}
if start_apache_with_proxy "$WORK/a"; then
  broker="127.0.0.1:$(sed -n 's/^listenPort=//p' "$WORK/a/broker.conf")"
  remoting="127.0.0.1:$(grep -o '"remotingListenPort":[0-9]*' "$WORK/a/proxy/rmq-proxy.json" | cut -d: -f2)"
  check apache "$broker" "$remoting"
fi
stacks_stop_within 5
if start_rmq_with_proxy "$WORK/r"; then
  broker="$("$MQADMIN_BIN" clusterList -n "$NAMESRV" | grep -o '127.0.0.1:[0-9]*' | head -n1)"
  check rmq "$broker"
fi
