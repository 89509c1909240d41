#!/usr/bin/env bash
# ACL 1.0 through rmq's mqproxy with RocketMQ 5's official Java client (rocketmq-client-java
# 5.0.7, StaticSessionCredentialsProvider): rmq's mqnamesrv + mqbroker (aclEnable=true) +
# mqproxy (enableACL=true, enableAclRpcHookForClusterMode=true) share one ROCKETMQ_HOME, its
# conf/plain_acl.yml and conf/tools.yml (the account mqadmin and the proxy sign with toward the
# broker). AclScenarios: the producer's account sends, the consumer's account receives exactly
# those bodies; a wrong secret, an unknown key, no credentials, a missing permission are
# refused with PERMISSION_DENIED. No differential run: Apache's proxy 5.3.3 no longer has ACL
# 1.0 (interop/known-differences.txt, "gRPC proxy with ACL 1.0"). About 30-45 s.
#
#   interop/grpc/acl.sh
#
# Environment as interop/grpc/run.sh (RMQ_*_BIN, CI=true, RMQ_HARNESS_KEEP=1).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
HARNESS=grpc-acl
# shellcheck source=../lib/stacks.sh
. "$ROOT/interop/lib/stacks.sh"

stacks_prepare "$PROXY_BIN"

ACL_HOME="$WORK/home"
mkdir -p "$ACL_HOME/conf"
# The same accounts as rmq-proxy/tests/acl.rs, from one file.
cp "$ROOT/rmq-proxy/tests/fixtures/plain_acl.yml" "$ACL_HOME/conf/plain_acl.yml" || exit 1
printf 'accessKey: proxyInner\nsecretKey: proxySecret1\n' >"$ACL_HOME/conf/tools.yml"
# The broker, mqadmin and the proxy all take the home from the environment.
export ROCKETMQ_HOME="$ACL_HOME"

RMQ_BROKER_EXTRA="--aclEnable true" start_rmq_stack "$WORK/rmq" || exit 1
for topic in AclTopic AclOtherTopic; do
  "$MQADMIN_BIN" updateTopic -n "$NAMESRV" -c DefaultCluster -t "$topic" >"$WORK/topic-$topic.log" 2>&1 \
    || { echo "FAIL grpc-acl: cannot create $topic: $(tail -n 5 "$WORK/topic-$topic.log")" >&2; exit 1; }
done
APACHE_PROXY_EXTRA=',"enableACL":true,"enableAclRpcHookForClusterMode":true' \
  start_rmq_proxy "$WORK/rmq/proxy" "$NAMESRV" || exit 1

java -cp "$CLIENT_CP" -Drocketmq.log.level=WARN rmq.interop.grpc.AclScenarios "$PROXY" AclTopic AclOtherTopic AclGroup \
    "$WORK/rmq.acl" >"$WORK/acl.log" 2>&1 \
  || { echo "FAIL grpc-acl: the scenarios failed:" >&2; tail -n 30 "$WORK/acl.log" >&2; exit 1; }

# The two bare "refused": the client's telemetry settings (publishing for consumer1, the group
# for producer1) are refused with PERMISSION_DENIED, and the SDK then fails its start with a
# cancelled future that does not carry the status (its log shows it).
expected="consumer1 received {acl-0=1, acl-1=1, acl-2=1, acl-3=1, acl-4=1}
consumer1 sends: refused
no credentials: refused (PERMISSION_DENIED)
producer1 consumes: refused
producer1 sent 5
producer1 to the other topic: refused (PERMISSION_DENIED)
unknown key: refused (PERMISSION_DENIED)
wrong secret: refused (PERMISSION_DENIED)"
if [ "$(cat "$WORK/rmq.acl")" = "$expected" ]; then
  echo "PASS grpc-acl: $(wc -l <"$WORK/rmq.acl") facts as expected"
else
  echo "FAIL grpc-acl: the facts differ from the expected ones:" >&2
  diff <(echo "$expected") "$WORK/rmq.acl" >&2
  tail -n 30 "$WORK/acl.log" >&2
  exit 1
fi
