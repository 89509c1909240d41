#!/usr/bin/env bash
# RocketMQ 5's official Java gRPC client (rocketmq-client-java 5.0.7) through a proxy, the same
# scenarios on two stacks, results compared: Apache 5.3.3's name server + broker + Apache's
# rocketmq-proxy 5.3.3 in cluster mode (the harness's self-check), and rmq's mqnamesrv +
# mqbroker + mqproxy. Producing scenarios (ProduceScenarios): normal, FIFO (message groups),
# delayed (delivery timestamp), a message of the wrong type for its topic, transactions
# (commit, rollback, a check-back, a half message left by a producer that shut down checked
# back with the next one); Apache's remoting admin creates the typed topics and a remoting
# lite pull consumer reads back what was stored (StackAdmin.java). Receiving scenarios
# (ReceiveScenarios, side by side with the producing ones): SimpleConsumer, dead letters,
# PushConsumer, FIFO with two consumers, SQL92 and tag filters. Each stack's facts must be what
# the scenarios expect, and the two stacks' facts must be equal.
#
#   interop/grpc/run.sh [apache|rmq|local|hybrid|both|all]      (default both)
#
# local: rmq's mqbroker with the proxy in its own process (enableProxy=true); hybrid: Apache's
# proxy on rmq's name server and broker (what rmq's broker must serve Apache's proxy); the same
# scenarios, checked but not compared; all: both plus local and hybrid. The stacks of a run
# start side by side (own directories and ports), each one's output printed as one block when
# it ends; the comparison follows.
#
# Environment: RMQ_GRPC_AT_ONCE (how many stacks run at a time, default 2), RMQ_NAMESRV_BIN,
# RMQ_BROKER_BIN, RMQ_MQADMIN_BIN, RMQ_PROXY_BIN (default target/debug/...;
# `cargo build -p rmq-namesrv -p rmq-broker -p rmq-tools -p rmq-proxy`);
# CI=true turns a missing binary or Maven artifact into a failure; RMQ_HARNESS_KEEP=1 keeps logs
# and stores. Needs java 17+, mvn, python3 (interop/lib/stacks.sh).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WHAT="${1:-both}"
HARNESS=grpc
# shellcheck source=../lib/stacks.sh
. "$ROOT/interop/lib/stacks.sh"
status=0

stacks_prepare "$PROXY_BIN"
# Transactions left open are checked back after 2 s, every second; SQL92 filters need
# enablePropertyFilter (both brokers' keys). The revive scans that bring unacked messages back
# rest at most 1 s (Apache: reviveInterval 1 s times reviveMaxSlow, 3 by default) or 200 ms
# (rmq: reviveInterval): shorter waits, the same deliveries.
APACHE_BROKER_EXTRA=$'transactionTimeOut=2000\ntransactionCheckInterval=1000\nenablePropertyFilter=true\nreviveMaxSlow=1'
RMQ_BROKER_KEYS="--transactionTimeOut 2000 --transactionCheckInterval 1000 --enablePropertyFilter true --reviveInterval 200"
# Receivers hide messages for 5 s (both proxies' floor is 10 s by default); push consumers'
# long polls last 5 s, not 20, so one waiting on an empty queue sees a retry sooner.
APACHE_PROXY_EXTRA=',"minInvisibleTimeMillsForRecv":1000,"grpcClientConsumerMaxLongPollingTimeoutMillis":5000'

# Runs the scenarios against proxy $2 on name server $3; facts in $WORK/$1.{produced,stored,received}.
scenarios() {
  local label="$1" proxy="$2" namesrv="$3" prefix="Grpc$(date +%s)" receiving failed=0
  java -cp "$SERVERS_CP" "$HERE/StackAdmin.java" create "$namesrv" "$prefix" >"$WORK/$label-create.log" 2>&1 \
    || { echo "grpc: cannot create the topics on $label: $(tail -n 5 "$WORK/$label-create.log")" >&2; return 1; }
  # The receiving scenarios (SimpleConsumer, dead-letter queue, PushConsumer, FIFO with two
  # consumers, SQL92 and tag filters; Apache's mqadmin from SERVERS_CP sets the orderly group)
  # use topics of their own, so they run while the producing ones do. They check their own
  # facts; their facts join the comparison.
  java -cp "$CLIENT_CP" -Dservers.cp="$SERVERS_CP" -Drocketmq.log.level=WARN rmq.interop.grpc.ReceiveScenarios "$proxy" "$namesrv" \
      "$MQADMIN_BIN" "$prefix" "$WORK/$label.received" >"$WORK/$label-receive.log" 2>&1 &
  receiving=$!
  sleep 2
  if ! java -cp "$CLIENT_CP" -Drocketmq.log.level=WARN rmq.interop.grpc.ProduceScenarios "$proxy" "$prefix" \
      "$WORK/$label.produced" >"$WORK/$label-produce.log" 2>&1; then
    echo "grpc: the producing scenarios failed on $label:" >&2
    tail -n 20 "$WORK/$label-produce.log" >&2
    failed=1
  elif ! java -cp "$SERVERS_CP" "$HERE/StackAdmin.java" read "$namesrv" "$prefix" "$WORK/$label.produced" \
      "$WORK/$label.stored" >"$WORK/$label-read.log" 2>&1; then
    echo "grpc: cannot read back on $label: $(tail -n 5 "$WORK/$label-read.log")" >&2
    failed=1
  fi
  if ! wait "$receiving"; then
    echo "grpc: the receiving scenarios failed on $label:" >&2
    grep -v -E '^(PASS|FAIL) receive [a-z-]+ \(' "$WORK/$label-receive.log" | tail -n 60 >&2
    failed=1
  fi
  # One line per receiving scenario: PASS or FAIL, and how long it took.
  grep -E '^(PASS|FAIL) receive [a-z-]+ \(' "$WORK/$label-receive.log" | sed -E "s/^(PASS|FAIL) receive/\1 grpc $label: receive/"
  [ $failed = 0 ] && expect "$label"
}

# What every stack must show.
expect() {
  local label="$1" failed=0 line
  local produced=(
    "delay sent 3"
    "fifo sent 30"
    "normal sent 10"
    "transaction left open by a closed producer checked back by the next one true"
    "transaction left open checked back by its closed producer false"
    "transaction open one checked back true"
    "transaction sent 3"
  )
  local stored=(
    "Delay bodies {d0=1, d1=1, d2=1}"
    "Fifo bodies {g0-0=1, g0-1=1, g0-2=1, g0-3=1, g0-4=1, g0-5=1, g0-6=1, g0-7=1, g0-8=1, g0-9=1, g1-0=1, g1-1=1, g1-2=1, g1-3=1, g1-4=1, g1-5=1, g1-6=1, g1-7=1, g1-8=1, g1-9=1, g2-0=1, g2-1=1, g2-2=1, g2-3=1, g2-4=1, g2-5=1, g2-6=1, g2-7=1, g2-8=1, g2-9=1}"
    "Fifo group g0: 10 messages, queues 1, in send order"
    "Fifo group g1: 10 messages, queues 1, in send order"
    "Fifo group g2: 10 messages, queues 1, in send order"
    "Normal bodies {n0=1, n1=1, n2=1, n3=1, n4=1, n5=1, n6=1, n7=1, n8=1, n9=1}"
    "Tx bodies {tx-commit=1, tx-open=1, tx-restart=1}"
  )
  for line in "${produced[@]}"; do
    grep -qxF "$line" "$WORK/$label.produced" || { echo "FAIL grpc $label: missing '$line'" >&2; failed=1; }
  done
  for line in "${stored[@]}"; do
    grep -qxF "$line" "$WORK/$label.stored" || { echo "FAIL grpc $label: missing '$line'" >&2; failed=1; }
  done
  for i in 0 1 2; do
    grep -q "^Delay d$i visible after its delivery time" "$WORK/$label.stored" \
      || { echo "FAIL grpc $label: d$i: $(grep "Delay d$i " "$WORK/$label.stored")" >&2; failed=1; }
  done
  grep -q '^plain-to-fifo refused' "$WORK/$label.produced" \
    || { echo "FAIL grpc $label: a plain message was accepted on a FIFO topic" >&2; failed=1; }
  if [ $failed = 0 ]; then
    echo "PASS grpc $label: $(wc -l <"$WORK/$label.produced") produced and $(wc -l <"$WORK/$label.stored") stored facts as expected"
  else
    echo "grpc $label facts:" >&2
    cat "$WORK/$label.produced" "$WORK/$label.stored" >&2
  fi
  return $failed
}

# Compares the two stacks' facts with stacks_compare: every line Apache's stack shows and rmq's
# does not fails the run, unless a `grpc:` row of interop/known-differences.txt starts it (KNOWN).
compare() {
  local side
  for side in apache rmq; do
    cat "$WORK/$side".{produced,stored,received} >"$WORK/$side.facts"
  done
  stacks_compare "$WORK/apache.facts" "$WORK/rmq.facts"
}

# rmq's broker with the proxy in its own process (enableProxy=true, local mode).
run_local() {
  local port
  port="$(free_port)"
  RMQ_BROKER_EXTRA="$RMQ_BROKER_KEYS --enableProxy true --grpcServerPort $port --minInvisibleTimeMillsForRecv 1000 --grpcClientConsumerMaxLongPollingTimeoutMillis 5000" \
    start_rmq_stack "$WORK/local" || return 1
  scenarios local "127.0.0.1:$port" "$NAMESRV"
}

run_apache() {
  start_apache_with_proxy "$WORK/apache" || return 1
  scenarios apache "$PROXY" "$NAMESRV"
}

# Apache's own rocketmq-proxy 5.3.3 on rmq's name server and broker: the proof that rmq's
# broker serves what Apache's proxy asks of a broker (POP, the 5.x admin requests).
run_hybrid() {
  RMQ_BROKER_EXTRA="$RMQ_BROKER_KEYS" start_rmq_stack "$WORK/hybrid" || return 1
  start_apache_proxy "$WORK/hybrid/proxy" "$NAMESRV" || return 1
  scenarios hybrid "$PROXY" "$NAMESRV"
}

run_rmq() {
  RMQ_BROKER_EXTRA="$RMQ_BROKER_KEYS" start_rmq_with_proxy "$WORK/rmq" || return 1
  scenarios rmq "$PROXY" "$NAMESRV"
}

case "$WHAT" in
  apache | rmq | local | hybrid) "run_$WHAT" || status=1 ;;
  both | all)
    # Each stack has its own servers, ports and files: they run side by side, RMQ_GRPC_AT_ONCE
    # at a time (default 2: Apache's and rmq's cluster stacks, then local and hybrid; all four
    # at once is faster still but starts eight JVMs at once on CI's two cores).
    stacks=(run_apache run_rmq)
    [ "$WHAT" = all ] && stacks+=(run_local run_hybrid)
    at_once="${RMQ_GRPC_AT_ONCE:-2}"
    [[ "$at_once" =~ ^[1-9][0-9]*$ ]] || { echo "RMQ_GRPC_AT_ONCE must be a positive number" >&2; exit 2; }
    for ((i = 0; i < ${#stacks[@]}; i += at_once)); do
      stacks_concurrently "${stacks[@]:i:at_once}" || status=1
    done
    if [ -f "$WORK/apache.produced" ] && [ -f "$WORK/rmq.produced" ]; then
      compare || status=1
    fi
    ;;
  *) echo "usage: $0 [apache|rmq|local|hybrid|both|all]" >&2; exit 2 ;;
esac
exit $status
