#!/usr/bin/env bash
# rmq-client with TLS against Apache RocketMQ 4.9.7 in TLS enforcing mode: starts Apache's name
# server and broker (Maven Central jars, through the helpers in interop/java) with
# -Dtls.server.mode=enforcing (the broker also with -Dtls.enable=true, so it registers over
# TLS; both in test mode: self-signed certificates), then runs
# `cargo test -p rmq-client --test tls apache::` with RMQ_APACHE_TLS_NAMESRV /
# RMQ_APACHE_TLS_BROKER pointing at them, and stops both. The `rmq::` half of that test runs in
# the ordinary `cargo test`. docs/tls.md describes the switches.
#
#   interop/apache-tls-client.sh            (interop/run.sh apache-tls-client runs it)
#
# Server logs and stores live in a temporary directory removed on exit (kept with
# RMQ_KEEP_WORK=1). Exits non-zero when a server does not start or a test fails.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
. "$ROOT/scripts/lib.sh"

java_harness
work_dir rmq-apache-tls-client

TLS=(-Dtls.server.mode=enforcing -Dtls.enable=true)
start namesrv java -Xmx256m -Xms64m -XX:+UseSerialGC "${TLS[@]}" -Drocketmq.client.logUseSlf4j=true \
  -cp "$CP" rmq.interop.ApacheNamesrvMain --listenPort 0 --kvConfigPath "$WORK/kvConfig.json"
NS="$ADDR"
start broker java -Xmx384m -Xms128m -XX:+UseSerialGC "${JAVA_OPENS[@]}" "${TLS[@]}" \
  -Drocketmq.client.logUseSlf4j=true -cp "$CP" \
  rmq.interop.ApacheBrokerMain -n "$NS" --listenPort 0 --brokerIP1 127.0.0.1 \
  --brokerName broker-a --storePathRootDir "$WORK/store" --mappedFileSizeCommitLog 67108864 \
  --diskMaxUsedSpaceRatio 99

cd "$ROOT"
RMQ_APACHE_TLS_NAMESRV="$NS" RMQ_APACHE_TLS_BROKER="$ADDR" \
  cargo test -p rmq-client --test tls -- --include-ignored apache::
