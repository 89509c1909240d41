#!/usr/bin/env bash
# RocketMQ 5's official Python SDK (rocketmq-python-client 5.1.2, from PyPI) through a gRPC
# proxy: the same scenario (scenario.py: normal messages with keys and tags through a
# SimpleConsumer, one left unacked coming back with attempt 2; FIFO order per message group)
# against Apache 5.3.3's name server + broker + rocketmq-proxy (the harness's self-check), then
# rmq's mqnamesrv + mqbroker + mqproxy. Each stack must pass the scenario's own checks and the
# two stacks' fact files must be equal.
#
#   interop/grpc-python/run.sh [apache|rmq|both]      (default both)
#
# The SDK goes into a venv cached in target/interop-grpc-python-venv. Environment as
# interop/grpc/run.sh (RMQ_*_BIN, RMQ_HARNESS_KEEP=1); CI=true turns a missing binary, Maven
# artifact or a failed pip install into a failure. Needs java 17+, mvn, python3 with venv.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WHAT="${1:-both}"
HARNESS=grpc-python
# shellcheck source=../lib/stacks.sh
. "$ROOT/interop/lib/stacks.sh"
SDK=rocketmq-python-client==5.1.2
VENV="$ROOT/target/interop-grpc-python-venv"
status=0

stacks_prepare "$PROXY_BIN"
if ! "$VENV/bin/python" -c 'import rocketmq' 2>/dev/null \
    || ! "$VENV/bin/pip" show rocketmq-python-client 2>/dev/null | grep -qx 'Version: 5.1.2'; then
  { python3 -m venv --clear "$VENV" && "$VENV/bin/pip" install -q "$SDK"; } >"$WORK/pip.log" 2>&1 \
    && "$VENV/bin/python" -c 'import rocketmq' >>"$WORK/pip.log" 2>&1 \
    || skip_or_fail "pip could not install $SDK: $(tail -n 5 "$WORK/pip.log")"
fi
# Receivers hide messages for 2-3 s (both proxies' floor is 10 s by default).
APACHE_PROXY_EXTRA=',"minInvisibleTimeMillsForRecv":1000'

# Creates the topics and the orderly group on name server $2, runs the scenario against proxy
# $3; facts in $WORK/$1.facts.
scenario() {
  local label="$1" namesrv="$2" proxy="$3" prefix="Py$(date +%s)"
  {
    "$MQADMIN_BIN" updateTopic -n "$namesrv" -c DefaultCluster -t "${prefix}Normal" -r 4 -w 4 -a +message.type=NORMAL \
      && "$MQADMIN_BIN" updateTopic -n "$namesrv" -c DefaultCluster -t "${prefix}Fifo" -r 4 -w 4 -a +message.type=FIFO \
      && java -cp "$SERVERS_CP" org.apache.rocketmq.tools.command.MQAdminStartup updateSubGroup -n "$namesrv" \
        -c DefaultCluster -g "${prefix}FifoGroup" -o true \
      && grep -q success "$WORK/$label-admin.log"
  } >"$WORK/$label-admin.log" 2>&1 \
    || { echo "grpc-python: cannot create the topics or the group on $label: $(tail -n 5 "$WORK/$label-admin.log")" >&2; return 1; }
  sleep 2
  # HOME: the SDK logs to ~/logs/rocketmq_python; keep that inside WORK.
  if HOME="$WORK/$label-home" "$VENV/bin/python" "$HERE/scenario.py" "$proxy" "$prefix" "$WORK/$label.facts" \
      >"$WORK/$label-scenario.log" 2>&1; then
    echo "PASS grpc-python $label: $(wc -l <"$WORK/$label.facts") facts as expected ($(tail -n 1 "$WORK/$label-scenario.log"))"
  else
    echo "FAIL grpc-python $label:" >&2
    tail -n 40 "$WORK/$label-scenario.log" >&2
    return 1
  fi
}

run_apache() {
  start_apache_with_proxy "$WORK/apache" || return 1
  scenario apache "$NAMESRV" "$PROXY"
}

run_rmq() {
  start_rmq_with_proxy "$WORK/rmq" || return 1
  scenario rmq "$NAMESRV" "$PROXY"
}

case "$WHAT" in
  apache) run_apache || status=1 ;;
  rmq) run_rmq || status=1 ;;
  both)
    run_apache || status=1
    run_rmq || status=1
    if [ -f "$WORK/apache.facts" ] && [ -f "$WORK/rmq.facts" ]; then
      if diff "$WORK/apache.facts" "$WORK/rmq.facts" >"$WORK/diff"; then
        echo "PASS grpc-python: rmq's facts equal Apache's"
      else
        echo "FAIL grpc-python: the stacks differ (< apache, > rmq):" >&2
        cat "$WORK/diff" >&2
        status=1
      fi
    fi
    ;;
  *) echo "usage: $0 [apache|rmq|both]" >&2; exit 2 ;;
esac
exit $status
