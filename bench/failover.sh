#!/usr/bin/env bash
# Automatic failover under chaos (controller mode), one machine, long mode: the FailoverChaos run
# of interop/java5 with many cycles, for rmq and, with APACHE=1 (the default), Apache RocketMQ
# 5.3.3's own controller, name server and broker (Maven Central, child JVMs).
#
# Each run: 3 controllers (one Raft group), 1 name server, 3 brokers of broker-a in controller
# mode (allAckInSyncStateSet=true, ASYNC_FLUSH); a Java 5.3.3 producer sends sync (300/s, one
# thread) while every cycle kills (-9) or freezes (SIGSTOP 15 s) the master, some cycles together
# with the controllers' Raft leader; killed servers restart on their store after 3 s. Failover
# time = from the fault to the first SEND_OK stored by another broker (so it includes the
# client's route refresh and, for a frozen master, the 3 s send timeout of the blocked send);
# "elected" = from the fault until the controllers are first seen naming the new master.
# Afterwards the run checks no acknowledged message is lost or misplaced, queues are gap-free
# and the replicas' epoch files agree (duplicates are counted, not failed).
#
#   bench/failover.sh [cycles]               (default 20; the rotation is kill, freeze,
#                                             kill+controller leader, kill, freeze)
#   APACHE=0 bench/failover.sh 10            rmq only
#   RMQ=0 bench/failover.sh                  Apache only
#   RMQ_NO_BUILD=1 / RMQ_*_BIN=...           use existing binaries (default: release build)
# Summaries: interop/java5/target/failover-<target>.txt, copied to $OUT (default
# target/failover-bench); the table goes to stdout.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CYCLES="${1:-20}"
APACHE="${APACHE:-1}"
RMQ="${RMQ:-1}"
OUT="${OUT:-$ROOT/target/failover-bench}"
mkdir -p "$OUT"
cd "$ROOT"
status=0

if [ "$RMQ" = 1 ] && [ "${RMQ_NO_BUILD:-0}" != 1 ] && [ -z "${RMQ_BROKER_BIN:-}" ]; then
  . "$ROOT/scripts/lib.sh"
  echo "building release binaries: rmq-controller rmq-namesrv rmq-broker" >&2
  release_bins rmq-controller rmq-namesrv rmq-broker
  # a private copy: a concurrent `cargo build` must not swap a binary between two restarts
  mkdir -p "$OUT/bin"
  for b in mqcontroller mqnamesrv mqbroker; do cp -f "$BIN/$b" "$OUT/bin/$b"; done
  export RMQ_CONTROLLER_BIN="$OUT/bin/mqcontroller" RMQ_NAMESRV_BIN="$OUT/bin/mqnamesrv" \
         RMQ_BROKER_BIN="$OUT/bin/mqbroker"
fi
export RMQ_REPO_ROOT="$ROOT"

run() {
  local target="$1" log="$OUT/failover-$1.log"
  echo "== FailoverChaos target=$target cycles=$CYCLES (log: $log)" >&2
  rm -f "$ROOT/interop/java5/target/failover-$target.txt"
  if (cd "$ROOT/interop/java5" && mvn -B -ntp -Dstyle.color=never test -Dtest=FailoverChaos \
        -Dtarget="$target" -Dcycles="$CYCLES" -Dsurefire.failIfNoSpecifiedTests=false) >"$log" 2>&1; then
    echo "   passed" >&2
  else
    echo "   FAILED (see $log)" >&2
    status=1
  fi
  if [ -f "$ROOT/interop/java5/target/failover-$target.txt" ]; then
    cp "$ROOT/interop/java5/target/failover-$target.txt" "$OUT/"
  fi
}

[ "$APACHE" = 1 ] && run apache
[ "$RMQ" = 1 ] && run rmq

# table: per target and fault kind, n / p50 / max (nearest-rank p50) of the failover times in ms:
# fault -> first SEND_OK from the new master (what a client sees) and, next to it, fault -> the
# controllers first seen naming the new master (polled every 300 ms)
stat() { # stat COLUMN FAULT FILE -> "n p50 max list"
  local vals n
  vals=$(awk -v f="$2" -v c="$1" '$1 == "cycle" && $3 == f && $c != "null" && $c != "" { print $c }' "$3" | sort -n)
  n=$(printf '%s\n' "$vals" | grep -c . || true)
  if [ "$n" -eq 0 ]; then echo "0 - - -"; return; fi
  echo "$n $(printf '%s\n' "$vals" | sed -n "$(( (n - 1) / 2 + 1 ))p") $(printf '%s\n' "$vals" | tail -n1) $(echo $vals | tr ' ' ',')"
}
printf '\n| target | fault | n | SEND_OK p50 ms | SEND_OK max ms | elected p50 ms | elected max ms | SEND_OK all (ms) |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for target in apache rmq; do
  f="$OUT/failover-$target.txt"
  [ -f "$f" ] || continue
  for fault in KILL KILL_WITH_CONTROLLER_LEADER FREEZE; do
    # cycle N FAULT oldMaster oldEpoch inSync newMaster failoverMs leader electedSeenMs
    read -r n p50 max all <<<"$(stat 8 "$fault" "$f")"
    read -r _ ep50 emax _ <<<"$(stat 10 "$fault" "$f")"
    [ "$n" -gt 0 ] || continue
    case $fault in
      KILL) label="kill -9 master" ;;
      KILL_WITH_CONTROLLER_LEADER) label="kill -9 master + controller leader" ;;
      FREEZE) label="SIGSTOP master 15 s" ;;
    esac
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$target" "$label" "$n" "$p50" "$max" "$ep50" "$emax" "$all"
  done
done
printf '\n'
for target in apache rmq; do
  f="$OUT/failover-$target.txt"
  [ -f "$f" ] || continue
  printf '%s: ' "$target"
  grep -E '^(sendOk|sendFailed|lost|misplaced|duplicates|orderErrors|epochFileConflicts|fullyResynced|outOfSyncAtEnd|problems) = ' "$f" \
    | tr '\n' ' ' | sed 's/ = /=/g'
  printf '\n'
done
exit $status
