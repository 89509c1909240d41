#!/usr/bin/env bash
# Our client against Apache RocketMQ: starts Apache 4.9.7's name server and broker (Maven
# Central jars, through the helpers in interop/java) on free ports, then runs
# `cargo test -p rmq-client --test apache_compat --test running_info` with RMQ_APACHE_NAMESRV / RMQ_APACHE_BROKER
# pointing at them, and stops both. The broker's delay levels are all 1 s so retries are quick,
# and it accepts writes up to 99 % disk use (Apache refuses them from 90 % on).
# Then a second pair, the broker with aclEnable=true and rmq-client/tests/fixtures/plain_acl.yml
# (Apache reads $ROCKETMQ_HOME/conf/plain_acl.yml; -Drocketmq.home.dir sets that home), for
# `cargo test -p rmq-client --test apache_acl apache::` (RMQ_APACHE_ACL_NAMESRV / RMQ_APACHE_ACL_BROKER;
# its `rmq::` half runs in the ordinary `cargo test`).
#
#   interop/apache-client.sh            (interop/run.sh apache-client runs it)
#
# Server logs and stores live in a temporary directory removed on exit (kept with
# RMQ_KEEP_WORK=1). Exits non-zero when a server does not start or a test fails.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
. "$ROOT/scripts/lib.sh"

java_harness
work_dir rmq-apache-client

start namesrv java -Xmx256m -Xms64m -XX:+UseSerialGC -Drocketmq.client.logUseSlf4j=true -cp "$CP" \
  rmq.interop.ApacheNamesrvMain --listenPort 0 --kvConfigPath "$WORK/kvConfig.json"
NS="$ADDR"
NS_PID="$PID"
# ApacheBrokerMain also lifts Apache's 90 % disk-use write refusal to 99 %
start broker java -Xmx384m -Xms128m -XX:+UseSerialGC "${JAVA_OPENS[@]}" \
  -Drocketmq.client.logUseSlf4j=true -cp "$CP" \
  rmq.interop.ApacheBrokerMain -n "$NS" --listenPort 0 --brokerIP1 127.0.0.1 \
  --brokerName broker-a --storePathRootDir "$WORK/store" --mappedFileSizeCommitLog 67108864 \
  --diskMaxUsedSpaceRatio 99 \
  --messageDelayLevel "1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s"
BROKER="$ADDR"
BROKER_PID="$PID"

cd "$ROOT"
RMQ_APACHE_NAMESRV="$NS" RMQ_APACHE_BROKER="$BROKER" \
  cargo test -p rmq-client --test apache_compat --test running_info -- --include-ignored --test-threads 2

# ACL: the plain pair goes (two cores), a fresh pair with ACL on comes.
stop "$BROKER_PID"
stop "$NS_PID"
mkdir -p "$WORK/acl-home/conf"
cp "$ROOT/rmq-client/tests/fixtures/plain_acl.yml" "$WORK/acl-home/conf/plain_acl.yml"
start acl-namesrv java -Xmx256m -Xms64m -XX:+UseSerialGC -Drocketmq.client.logUseSlf4j=true -cp "$CP" \
  rmq.interop.ApacheNamesrvMain --listenPort 0 --kvConfigPath "$WORK/acl-kvConfig.json"
ACL_NS="$ADDR"
start acl-broker java -Xmx384m -Xms128m -XX:+UseSerialGC "${JAVA_OPENS[@]}" \
  -Drocketmq.client.logUseSlf4j=true -Drocketmq.home.dir="$WORK/acl-home" -cp "$CP" \
  rmq.interop.ApacheBrokerMain -n "$ACL_NS" --listenPort 0 --brokerIP1 127.0.0.1 \
  --brokerName broker-acl --storePathRootDir "$WORK/acl-store" --mappedFileSizeCommitLog 67108864 \
  --diskMaxUsedSpaceRatio 99 --aclEnable true --traceTopicEnable true
RMQ_APACHE_ACL_NAMESRV="$ACL_NS" RMQ_APACHE_ACL_BROKER="$ADDR" \
  cargo test -p rmq-client --test apache_acl -- --include-ignored --test-threads 2 apache::
