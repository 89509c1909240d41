#!/usr/bin/env bash
# Our client against Apache RocketMQ: starts Apache 4.9.7's name server and broker (Maven
# Central jars, through the helpers in interop/java) on free ports, then runs
# `cargo test -p rmq-client --test apache_compat` with RMQ_APACHE_NAMESRV / RMQ_APACHE_BROKER
# pointing at them, and stops both. The broker's delay levels are all 1 s so retries are quick,
# and it accepts writes up to 99 % disk use (Apache refuses them from 90 % on).
#
#   interop/apache-client.sh            (interop/run.sh apache-client runs it)
#
# Server logs and stores live in a temporary directory removed on exit (kept with
# RMQ_INTEROP_KEEP=1). Exits non-zero when a server does not start or a test fails.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
JAVA_DIR="$HERE/java"

(cd "$JAVA_DIR" && mvn -B -q -ntp -Dstyle.color=never compile dependency:build-classpath \
  -Dmdep.outputFile=target/classpath.txt) >&2
CP="$JAVA_DIR/target/classes:$(cat "$JAVA_DIR/target/classpath.txt")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rmq-apache-client.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${RMQ_INTEROP_KEEP:-0}" = 1 ]; then echo "apache-client: logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# start NAME COMMAND... : runs a server in the background and waits (90 s at most) for its
# "listening on HOST:PORT" line; sets ADDR.
start() {
  local name="$1"; shift
  local out="$WORK/$name.log"
  "$@" >"$out" 2>&1 &
  pids+=("$!")
  local pid=$!
  for _ in $(seq 1 900); do
    grep -q 'listening on' "$out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  ADDR="$(grep -o 'listening on [0-9.:]*' "$out" | head -n1 | cut -d' ' -f3)"
  if [ -z "$ADDR" ]; then
    echo "apache-client: Apache's $name did not start; its output:" >&2
    tail -30 "$out" >&2
    exit 1
  fi
  echo "apache-client: Apache $name on $ADDR" >&2
}

start namesrv java -Xmx256m -Xms64m -XX:+UseSerialGC -Drocketmq.client.logUseSlf4j=true -cp "$CP" \
  rmq.interop.ApacheNamesrvMain --listenPort 0 --kvConfigPath "$WORK/kvConfig.json"
NS="$ADDR"
start broker java -Xmx384m -Xms128m -XX:+UseSerialGC \
  -Drocketmq.broker.diskSpaceWarningLevelRatio=0.99 -Drocketmq.broker.diskSpaceCleanForciblyRatio=0.98 \
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED \
  -Drocketmq.client.logUseSlf4j=true -cp "$CP" \
  rmq.interop.ApacheBrokerMain -n "$NS" --listenPort 0 --brokerIP1 127.0.0.1 \
  --brokerName broker-a --storePathRootDir "$WORK/store" --mappedFileSizeCommitLog 67108864 \
  --diskMaxUsedSpaceRatio 99 \
  --messageDelayLevel "1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s"
BROKER="$ADDR"

cd "$ROOT"
RMQ_APACHE_NAMESRV="$NS" RMQ_APACHE_BROKER="$BROKER" \
  cargo test -p rmq-client --test apache_compat -- --test-threads 2
