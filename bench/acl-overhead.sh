#!/usr/bin/env bash
# What switching ACL on costs the broker: rmq's broker (release build) with aclEnable=false and
# with aclEnable=true, alternating off/on for $ROUNDS rounds in one run. The load is the stock
# Java 4.9.7 producer and push consumer of rmq.interop.bench.BrokerBench (interop/java, as
# bench/metrics-overhead.sh), sync sends of 1 KiB from $THREADS threads; with ACL on every client
# signs with AclClientRPCHook (--accessKey/--secretKey) and the broker verifies every request.
#
# The account is an admin (BrokerBench creates its topic) that lists one topic permission, so the
# broker takes the full path for every send and pull: signature, then the topic's and group's
# permission (an admin with no lists skips the last step). No whitelist: a whitelisted peer skips
# the signature, which is the expensive part.
#
# Reports per run the produce TPS and the broker's CPU time (utime+stime) per produced and per
# consumed message, then the on/off ratio of the medians. The goal is ≤ 10 % more CPU per
# message. Client and broker share the machine's cores; on a busy machine the figures are noisy.
#
#   bench/acl-overhead.sh [seconds-per-produce-phase]     (default 20)
#   ROUNDS=3 THREADS=8 QUEUES=8 bench/acl-overhead.sh 20
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/scripts/lib.sh"
ab_bench_setup acl-overhead "${1:-20}"

mkdir -p "$WORK/home/conf"
cat >"$WORK/home/conf/plain_acl.yml" <<'YML'
accounts:
  - accessKey: benchadmin
    secretKey: bench-secret-key
    admin: true
    defaultTopicPerm: PUB|SUB
    defaultGroupPerm: PUB|SUB
    topicPerms:
      - NotTheBenchTopic=SUB
YML

run_one() { # run_one MODE ROUND   (MODE: off | on)
  local mode="$1" dir="$WORK/$1-$2" acl=() keys=()
  if [ "$mode" = on ]; then
    acl=(--aclEnable true --rocketmqHome "$WORK/home")
    keys=(--accessKey benchadmin --secretKey bench-secret-key)
  fi
  ab_start "$mode-$2" "$dir" "$BIN/mqbroker" "" "${acl[@]}"
  broker_bench "acl-$mode-$2" "$dir" "$NS_ADDR" "$BROKER_ADDR" "$BROKER_PID" "${keys[@]}"
  if [ "$mode" = on ]; then
    grep -q 'ACL enabled' "$WORK/broker-$mode-$2.out" \
      || { echo "ACL was to be on but the broker did not say 'ACL enabled'" >&2; exit 1; }
  fi
  ab_stop "$dir"
}

ab_bench_rounds acl off on "goal: CPU per message on/off ≤ 1.10; the machine's other load shows as noise"
