#!/usr/bin/env bash
# The broker's 5.x POP requests, spoken by Apache's own 5.3.3 remoting classes
# (PopBrokerCheck.java), first against Apache 5.3.3's name server and broker, then against rmq's
# mqnamesrv and mqbroker; the two transcripts must be equal line for line (docs/pop.md).
#
#   interop/java5/pop-broker/run.sh
#
# Environment: RMQ_NAMESRV_BIN, RMQ_BROKER_BIN, RMQ_MQADMIN_BIN (default target/debug/...; build
# them with `cargo build -p rmq-namesrv -p rmq-broker -p rmq-tools`); CI=true turns a missing
# binary or Maven artifact into a failure instead of a skip; RMQ_HARNESS_KEEP=1 keeps the logs.
# Needs java 17+, mvn, python3. The stacks come from interop/lib/stacks.sh.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
HARNESS=pop-broker
# shellcheck source=../../lib/stacks.sh
. "$ROOT/interop/lib/stacks.sh"

stacks_prepare

# Creates the topics, then runs the check into $WORK/$label.txt.
check() {
  local label="$1" suffix
  suffix="$(date +%s)"
  "$MQADMIN_BIN" updateTopic -n "$NAMESRV" -c DefaultCluster -t "PopB$suffix" -r 4 -w 4 >"$WORK/$label-topic.log" 2>&1 \
    && "$MQADMIN_BIN" updateTopic -n "$NAMESRV" -c DefaultCluster -t "PopF$suffix" -r 1 -w 1 >>"$WORK/$label-topic.log" 2>&1 \
    || { echo "pop-broker: cannot create the topics: $(tail -n 3 "$WORK/$label-topic.log")" >&2; return 1; }
  sleep 2
  java -cp "$SERVERS_CP" -Drocketmq.log.level=WARN "$HERE/PopBrokerCheck.java" "$NAMESRV" "$suffix" \
    >"$WORK/$label.txt" 2>"$WORK/$label-client.err" \
    || { cat "$WORK/$label.txt"; tail -n 20 "$WORK/$label-client.err" >&2; return 1; }
}

start_apache_stack "$WORK/apache" && check apache || exit 1
RMQ_BROKER_EXTRA="--reviveInterval 200" start_rmq_stack "$WORK/rmq" && check rmq || exit 1
if diff -u "$WORK/apache.txt" "$WORK/rmq.txt"; then
  echo "pop-broker: rmq's broker answers as Apache 5.3.3's ($(wc -l <"$WORK/rmq.txt") observations)"
else
  echo "FAIL pop-broker: transcripts differ (- Apache 5.3.3, + rmq)" >&2
  exit 1
fi
