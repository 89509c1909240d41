#!/usr/bin/env bash
# rmq-dashboard in a real browser: headless Chromium (Debian's `chromium`) driven over the
# DevTools protocol by playwright-core (interop/console, npm), against
#   1. rmq's name server + broker: log in, cluster, create a topic, send, find by key, a group's
#      lag falling to zero, an offset reset, a resend to one consumer, a dead letter resent and
#      exported, a traced message's path, security checks;
#   2. Apache 4.9.7's name server + broker (Maven Central jars through interop/java), logged
#      in with the password the console generated at first start: the message pages, a resend
#      to one consumer, a dead letter listed, exported and resent, the other pages read-only.
# Every server is its own process on 127.0.0.1 with port 0 and a temp dir. Screenshots of the
# main pages go to target/console-screenshots/ (OUT=... to change).
#
#   interop/console.sh            (interop/run.sh console runs it)
#   RMQ_CONSOLE_APACHE=0          skip the Apache half (a failure with CI=true)
#   RMQ_KEEP_WORK=1               keep the servers' logs and stores
# Exits non-zero when a server or Chromium cannot start (always) or a check fails.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
. "$ROOT/scripts/lib.sh"
OUT="${OUT:-$ROOT/target/console-screenshots}"
# this run's pictures only: a *-FAILED.png left by an earlier run would point at the wrong step
rm -f "$OUT"/*.png
mkdir -p "$OUT"

command -v chromium >/dev/null || { echo "console: chromium not found (apt-get install chromium)" >&2; exit 1; }
(cd "$ROOT" && cargo build -q -p rmq-namesrv -p rmq-broker -p rmq-dashboard \
  && cargo build -q -p rmq-client --example console_client)
target="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
  | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)"
DEBUG="${target:-$ROOT/target}/debug"
(cd "$HERE/console" && npm ci --no-audit --no-fund --silent)
work_dir rmq-console

# ---- rmq: the password comes from the environment
start namesrv "${RMQ_NAMESRV_BIN:-$DEBUG/mqnamesrv}" --listenPort 0 --kvConfigPath "$WORK/kv.json"
NS="$ADDR"
start broker "${RMQ_BROKER_BIN:-$DEBUG/mqbroker}" -n "$NS" --listenPort 0 --brokerIP1 127.0.0.1 \
  --brokerName broker-a --storePathRootDir "$WORK/store" --mappedFileSizeCommitLog 67108864 \
  --traceTopicEnable true
RMQ_DASHBOARD_PASSWORD=console-e2e-pass start dashboard "$DEBUG/rmq-dashboard" -n "$NS" --port 0 \
  --data-dir "$WORK/dash"
(cd "$HERE/console" && CONSOLE_URL="http://$ADDR" CONSOLE_PASSWORD=console-e2e-pass \
  CONSOLE_TARGET=rmq CONSOLE_NAMESRV="$NS" CONSOLE_OUT="$OUT" \
  CONSOLE_CLIENT="$DEBUG/examples/console_client" CONSOLE_WORK="$WORK" \
  node console.test.mjs)

# ---- Apache 4.9.7: no password configured, so the console generates one and logs it once
if [ "${RMQ_CONSOLE_APACHE:-1}" = 0 ]; then
  if [ "${CI:-}" = true ]; then echo "console: RMQ_CONSOLE_APACHE=0 under CI=true" >&2; exit 1; fi
  echo "SKIPPED: the console against Apache 4.9.7 (RMQ_CONSOLE_APACHE=0)"
  exit 0
fi
java_harness
start apache-namesrv java -Xmx256m -Xms64m -XX:+UseSerialGC -Drocketmq.client.logUseSlf4j=true \
  -cp "$CP" rmq.interop.ApacheNamesrvMain --listenPort 0 --kvConfigPath "$WORK/apache-kv.json"
ANS="$ADDR"
start apache-broker java -Xmx384m -Xms128m -XX:+UseSerialGC "${JAVA_OPENS[@]}" \
  -Drocketmq.client.logUseSlf4j=true -cp "$CP" \
  rmq.interop.ApacheBrokerMain -n "$ANS" --listenPort 0 --brokerIP1 127.0.0.1 \
  --brokerName broker-a --storePathRootDir "$WORK/apache-store" \
  --mappedFileSizeCommitLog 67108864 --diskMaxUsedSpaceRatio 99
start apache-dashboard env -u RMQ_DASHBOARD_PASSWORD "$DEBUG/rmq-dashboard" -n "$ANS" --port 0 \
  --data-dir "$WORK/apache-dash"
(cd "$HERE/console" && CONSOLE_URL="http://$ADDR" CONSOLE_LOG="$WORK/apache-dashboard.out" \
  CONSOLE_TARGET=apache CONSOLE_NAMESRV="$ANS" CONSOLE_OUT="$OUT" \
  CONSOLE_CLIENT="$DEBUG/examples/console_client" CONSOLE_WORK="$WORK" node console.test.mjs)
echo "console: screenshots in $OUT"
