#!/usr/bin/env bash
# RocketMQ 5's official Java gRPC client (rocketmq-client-java 5.0.7) through a proxy, the same
# scenarios on two stacks, results compared: Apache 5.3.3's name server + broker + Apache's
# rocketmq-proxy 5.3.3 in cluster mode (the harness's self-check), then rmq's mqnamesrv +
# mqbroker + mqproxy. Scenarios: normal, FIFO (message groups), delayed (delivery timestamp),
# a message of the wrong type for its topic, transactions (commit, rollback, a check-back). The
# gRPC client produces (ProduceScenarios); Apache's remoting admin creates the typed topics and
# a remoting lite pull consumer reads back what was stored (StackAdmin.java). Each stack's
# facts must be what the scenario expects, and the two stacks' facts must be equal.
#
#   interop/grpc/run.sh [apache|rmq|local|hybrid|both|all]      (default both)
#
# local: rmq's mqbroker with the proxy in its own process (enableProxy=true); hybrid: Apache's
# proxy on rmq's name server and broker (what rmq's broker must serve Apache's proxy); the same
# scenarios, checked but not compared; all: both, then local and hybrid.
#
# Environment: RMQ_NAMESRV_BIN, RMQ_BROKER_BIN, RMQ_MQADMIN_BIN, RMQ_PROXY_BIN (default
# target/debug/...; `cargo build -p rmq-namesrv -p rmq-broker -p rmq-tools -p rmq-proxy`);
# CI=true turns a missing binary or Maven artifact into a failure; RMQ_HARNESS_KEEP=1 keeps logs
# and stores. Needs java 17+, mvn, python3 (interop/lib/stacks.sh).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WHAT="${1:-both}"
HARNESS=grpc
# shellcheck source=../lib/stacks.sh
. "$ROOT/interop/lib/stacks.sh"
PROXY_BIN="${RMQ_PROXY_BIN:-$ROOT/target/debug/mqproxy}"
status=0

stacks_prepare "$PROXY_BIN"
# Transactions left open are checked back after 2 s, every second (both brokers' keys).
APACHE_BROKER_EXTRA=$'transactionTimeOut=2000\ntransactionCheckInterval=1000'
# Receivers hide messages for 2 s (both proxies' floor is 10 s by default).
APACHE_PROXY_EXTRA=',"minInvisibleTimeMillsForRecv":1000'

# Runs the scenarios against proxy $2 on name server $3; facts in $WORK/$1.{produced,stored}.
scenarios() {
  local label="$1" proxy="$2" namesrv="$3" prefix="Grpc$(date +%s)"
  java -cp "$SERVERS_CP" "$HERE/StackAdmin.java" create "$namesrv" "$prefix" >"$WORK/$label-create.log" 2>&1 \
    || { echo "grpc: cannot create the topics on $label: $(tail -n 5 "$WORK/$label-create.log")" >&2; return 1; }
  sleep 2
  java -cp "$CLIENT_CP" -Drocketmq.log.level=WARN rmq.interop.grpc.ProduceScenarios "$proxy" "$prefix" \
      "$WORK/$label.produced" >"$WORK/$label-produce.log" 2>&1 \
    || { echo "grpc: the producing scenarios failed on $label:" >&2; tail -n 20 "$WORK/$label-produce.log" >&2; return 1; }
  java -cp "$SERVERS_CP" "$HERE/StackAdmin.java" read "$namesrv" "$prefix" "$WORK/$label.produced" \
      "$WORK/$label.stored" >"$WORK/$label-read.log" 2>&1 \
    || { echo "grpc: cannot read back on $label: $(tail -n 5 "$WORK/$label-read.log")" >&2; return 1; }
  # The receiving scenarios (SimpleConsumer, dead-letter queue, PushConsumer, FIFO with two
  # consumers; Apache's mqadmin from SERVERS_CP sets the orderly group) check their own facts;
  # their facts join the comparison.
  java -cp "$CLIENT_CP" -Dservers.cp="$SERVERS_CP" -Drocketmq.log.level=WARN rmq.interop.grpc.ReceiveScenarios "$proxy" "$namesrv" \
      "$MQADMIN_BIN" "$prefix" "$WORK/$label.received" >"$WORK/$label-receive.log" 2>&1 \
    || { echo "grpc: the receiving scenarios failed on $label:" >&2; tail -n 20 "$WORK/$label-receive.log" >&2; return 1; }
  expect "$label"
}

# What every stack must show.
expect() {
  local label="$1" failed=0 line
  local produced=(
    "delay sent 3"
    "fifo sent 30"
    "normal sent 10"
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
    "Tx bodies {tx-commit=1, tx-open=1}"
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

# Whether fact $1 of Apache's stack starts with a `grpc:` row of interop/known-differences.txt.
known() {
  local row
  while IFS= read -r row; do
    [ -n "$row" ] && case "$1" in "$row"*) return 0 ;; esac
  done < <(sed -n 's/^grpc:\([^|]*[^ |]\) *|.*/\1/p' "$ROOT/interop/known-differences.txt")
  return 1
}

# Compares the two stacks' facts: every line Apache's stack shows and rmq's does not fails the
# run, unless it is a known difference (printed KNOWN).
compare() {
  local line failed=0
  diff <(cat "$WORK/apache".{produced,stored,received}) <(cat "$WORK/rmq".{produced,stored,received}) >"$WORK/diff"
  while IFS= read -r line; do
    case "$line" in
      "< "*)
        if known "${line#< }"; then
          echo "KNOWN grpc: apache ${line#< }"
        else
          echo "FAIL grpc: apache shows '${line#< }', rmq does not" >&2
          failed=1
        fi
        ;;
      "> "*) echo "  rmq: ${line#> }" ;;
    esac
  done <"$WORK/diff"
  [ $failed = 0 ] && echo "PASS grpc: rmq's facts equal Apache's$([ -s "$WORK/diff" ] && echo ', known differences aside')"
  return $failed
}

# rmq's broker with the proxy in its own process (enableProxy=true, local mode).
run_local() {
  local port
  port="$(free_port)"
  RMQ_BROKER_EXTRA="--transactionTimeOut 2000 --transactionCheckInterval 1000 --enableProxy true --grpcServerPort $port --minInvisibleTimeMillsForRecv 1000" \
    start_rmq_stack "$WORK/local" || return 1
  scenarios local "127.0.0.1:$port" "$NAMESRV"
}

run_apache() {
  start_apache_stack "$WORK/apache" || return 1
  start_apache_proxy "$WORK/apache/proxy" "$NAMESRV" || return 1
  scenarios apache "$PROXY" "$NAMESRV"
}

# Apache's own rocketmq-proxy 5.3.3 on rmq's name server and broker: the proof that rmq's
# broker serves what Apache's proxy asks of a broker (POP, the 5.x admin requests).
run_hybrid() {
  RMQ_BROKER_EXTRA="--transactionTimeOut 2000 --transactionCheckInterval 1000" start_rmq_stack "$WORK/hybrid" || return 1
  start_apache_proxy "$WORK/hybrid/proxy" "$NAMESRV" || return 1
  scenarios hybrid "$PROXY" "$NAMESRV"
}

run_rmq() {
  RMQ_BROKER_EXTRA="--transactionTimeOut 2000 --transactionCheckInterval 1000" start_rmq_stack "$WORK/rmq" || return 1
  start_rmq_proxy "$WORK/rmq/proxy" "$NAMESRV" || return 1
  scenarios rmq "$PROXY" "$NAMESRV"
}

case "$WHAT" in
  apache) run_apache || status=1 ;;
  rmq) run_rmq || status=1 ;;
  local) run_local || status=1 ;;
  hybrid) run_hybrid || status=1 ;;
  both | all)
    run_apache || status=1
    run_rmq || status=1
    if [ -f "$WORK/apache.produced" ] && [ -f "$WORK/rmq.produced" ]; then
      compare || status=1
    fi
    if [ "$WHAT" = all ]; then
      run_local || status=1
      run_hybrid || status=1
    fi
    ;;
  *) echo "usage: $0 [apache|rmq|local|hybrid|both|all]" >&2; exit 2 ;;
esac
exit $status
