#!/usr/bin/env bash
# One broker under chaos, long mode: the BrokerChaos run of interop/java with many cycles, for
# rmq and, with APACHE=1 (the default), Apache RocketMQ 4.9.7's own name server and broker
# (Maven Central, child JVMs), the same count or budget for both.
#
# Each run: a name server and ONE broker, each its own process, the broker started from a
# broker.conf with flushDiskType=SYNC_FLUSH on fixed ports and a fixed store. Three official
# 4.9.7 producers send sync (100/s each, every message unique: producer + sequence) to a topic of
# 8 queues while a CLUSTERING push consumer consumes; every cycle (1.5 s of steady sending first)
# the broker is killed (kill -9, restart on the same store and ports 0.3 s later), frozen
# (SIGSTOP 3 s, then SIGCONT) or stopped (SIGTERM) and restarted, in rotation. At the end the
# producers stop, the consumer drains (90 s at most) and every queue is read back from offset 0
# with a pull consumer: acknowledged messages missing from the store (lost) or never delivered
# fail the run; duplicates, reorderings, failed sends and outages are counted.
# Outage = broker down (signal delivered; for SIGTERM: process exited) to the first SEND_OK of a
# send issued after it.
#
#   bench/broker-chaos.sh [cycles]          (default 200)
#   BUDGET=1800 bench/broker-chaos.sh       run cycles until 1800 s are spent, per target
#   APACHE=0 bench/broker-chaos.sh          rmq only;  RMQ=0: Apache only
#   RMQ_NO_BUILD=1 / RMQ_*_BIN=...          use existing binaries (default: release build)
#   JAVA_DIR=/tmp/copy-of-interop-java      run the Maven project from a copy (a concurrent mvn in
#                                           interop/java would recompile the classes Apache's
#                                           broker JVM loads at each restart)
# Summaries: $JAVA_DIR/target/broker-chaos-<target>.txt, copied to $OUT (default
# target/broker-chaos-bench); the figures go to stdout.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CYCLES="${1:-200}"
BUDGET="${BUDGET:-0}"
APACHE="${APACHE:-1}"
RMQ="${RMQ:-1}"
OUT="${OUT:-$ROOT/target/broker-chaos-bench}"
JAVA_DIR="${JAVA_DIR:-$ROOT/interop/java}"
mkdir -p "$OUT"
cd "$ROOT"
status=0

if [ "$RMQ" = 1 ] && [ "${RMQ_NO_BUILD:-0}" != 1 ] && [ -z "${RMQ_BROKER_BIN:-}" ]; then
  . "$ROOT/scripts/lib.sh"
  echo "building release binaries: rmq-namesrv rmq-broker" >&2
  release_bins rmq-namesrv rmq-broker
  # a private copy: a concurrent `cargo build` must not swap a binary between two restarts
  mkdir -p "$OUT/bin"
  for b in mqnamesrv mqbroker; do cp -f "$BIN/$b" "$OUT/bin/$b"; done
  export RMQ_NAMESRV_BIN="$OUT/bin/mqnamesrv" RMQ_BROKER_BIN="$OUT/bin/mqbroker"
fi
export RMQ_REPO_ROOT="$ROOT"

run() {
  local target="$1" log="$OUT/broker-chaos-$1.log"
  echo "== BrokerChaos target=$target cycles=$CYCLES budgetSeconds=$BUDGET (log: $log)" >&2
  rm -f "$JAVA_DIR/target/broker-chaos-$target.txt"
  if (cd "$JAVA_DIR" && mvn -B -ntp -Dstyle.color=never test -Dtest=BrokerChaos \
        -Dtarget="$target" -Dcycles="$CYCLES" -DbudgetSeconds="$BUDGET" \
        -Dsurefire.failIfNoSpecifiedTests=false) >"$log" 2>&1; then
    echo "   passed" >&2
  else
    echo "   FAILED (see $log)" >&2
    status=1
  fi
  if [ -f "$JAVA_DIR/target/broker-chaos-$target.txt" ]; then
    cp "$JAVA_DIR/target/broker-chaos-$target.txt" "$OUT/"
  fi
}

[ "$RMQ" = 1 ] && run rmq
[ "$APACHE" = 1 ] && run apache

for target in rmq apache; do
  f="$OUT/broker-chaos-$target.txt"
  [ -f "$f" ] || continue
  printf '\n%s:\n' "$target"
  grep -E '^(cycles|faults|runSeconds|sendOk|sendFailed|sendFailedPerFault|lost|ackedNotDelivered|misplaced|offsetGaps|duplicatesStored|duplicatesDelivered|reorderingsStored|reorderingsDelivered|storedNotAcked|ackedNotDeliveredWhenProducersStopped|drainMs|outageMs[A-Za-z]*|noAckGapMs[A-Za-z]*|problems) = ' "$f" \
    | sed -E 's/( ms) \[[0-9, ]*\]$/\1/; s/^/  /'
done
exit $status
