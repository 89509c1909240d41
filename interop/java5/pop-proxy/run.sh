#!/usr/bin/env bash
# Apache's rocketmq-proxy 5.3.3 in cluster mode on top of a name server and broker, with the
# official 5.x gRPC client's SimpleConsumer (PopProxyCheck.java): first on Apache 5.3.3's name
# server and broker (the harness's self-check), then on rmq's mqnamesrv and mqbroker. The proxy
# consumes with POP_MESSAGE / ACK_MESSAGE / CHANGE_MESSAGE_INVISIBLETIME, so this is the proof
# that rmq's POP is what Apache's proxy expects (docs/pop.md).
#
#   interop/java5/pop-proxy/run.sh [apache|rmq|both]      (default both)
#
# Environment: RMQ_NAMESRV_BIN, RMQ_BROKER_BIN, RMQ_MQADMIN_BIN (default target/debug/...; build
# them with `cargo build -p rmq-namesrv -p rmq-broker -p rmq-tools`); CI=true turns a missing
# binary or Maven artifact into a failure instead of a skip; RMQ_POP_PROXY_KEEP=1 keeps the
# servers' logs and stores. Needs java 17+, mvn, python3.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
WHAT="${1:-both}"
NAMESRV_BIN="${RMQ_NAMESRV_BIN:-$ROOT/target/debug/mqnamesrv}"
BROKER_BIN="${RMQ_BROKER_BIN:-$ROOT/target/debug/mqbroker}"
MQADMIN_BIN="${RMQ_MQADMIN_BIN:-$ROOT/target/debug/mqadmin}"
WORK="$(mktemp -d -t rmq-pop-proxy.XXXXXX)"
PIDS=()
PROXY=""
status=0

skip_or_fail() {
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL pop-proxy: $*" >&2
    exit 1
  fi
  echo "SKIPPED pop-proxy: $*" >&2
  exit 0
}

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  if [ "${RMQ_POP_PROXY_KEEP:-0}" = "1" ]; then
    echo "pop-proxy: logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits up to $3 seconds for file $1 to contain $2.
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "pop-proxy: '$2' not in $1 within $3 s; its tail:" >&2
      tail -n 30 "$1" >&2
      return 1
    fi
    sleep 0.5
  done
}

for tool in java mvn python3; do
  command -v "$tool" >/dev/null 2>&1 || skip_or_fail "'$tool' not on PATH"
done
for bin in "$NAMESRV_BIN" "$BROKER_BIN" "$MQADMIN_BIN"; do
  [ -x "$bin" ] || skip_or_fail "$bin not built (cargo build -p rmq-namesrv -p rmq-broker -p rmq-tools)"
done
mvn -q -f "$HERE/pom-servers.xml" dependency:build-classpath -Dmdep.outputFile="$WORK/servers.cp" >"$WORK/mvn.log" 2>&1 \
  && mvn -q -f "$HERE/pom-client.xml" dependency:build-classpath -Dmdep.outputFile="$WORK/client.cp" >>"$WORK/mvn.log" 2>&1 \
  || skip_or_fail "Maven could not resolve rocketmq-proxy 5.3.3 / rocketmq-client-java 5.0.7: $(tail -n 5 "$WORK/mvn.log")"
SERVERS_CP="$(cat "$WORK/servers.cp")"
CLIENT_CP="$(cat "$WORK/client.cp")"

# An Apache server JVM: small heap, Serial GC, its own user.home (logs), Java 17's add-opens.
apache_java() {
  local dir="$1"; shift
  mkdir -p "$dir/home"
  local opens=()
  for pkg in java.lang java.lang.reflect java.lang.invoke java.io java.net java.nio sun.nio.ch java.util \
      java.util.concurrent java.util.concurrent.atomic jdk.internal.misc jdk.internal.ref sun.nio.fs java.math; do
    opens+=("--add-opens=java.base/$pkg=ALL-UNNAMED")
  done
  exec java -Xms384m -Xmx384m -XX:MaxDirectMemorySize=256m -XX:+UseSerialGC "${opens[@]}" \
    -Duser.home="$dir/home" -Drocketmq.home.dir="$dir" \
    -Drocketmq.broker.diskSpaceWarningLevelRatio=0.99 -Drocketmq.broker.diskSpaceCleanForciblyRatio=0.98 \
    -cp "$SERVERS_CP" "$@"
}

# Starts Apache's proxy on name server $2 in directory $1 once broker $3 is in the name
# server's cluster (the proxy creates its system topics there at start); sets PROXY to its
# gRPC address.
start_proxy() {
  local dir="$1" namesrv="$2" broker="$3"
  local grpc remoting deadline=$((SECONDS + 30))
  until "$MQADMIN_BIN" clusterList -n "$namesrv" 2>/dev/null | grep -q "$broker"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "pop-proxy: $broker never showed in $namesrv's cluster list" >&2
      return 1
    fi
    sleep 0.5
  done
  grpc="$(free_port)"
  remoting="$(free_port)"
  mkdir -p "$dir"
  # minInvisibleTimeMillsForRecv: the check hides messages for 2 s (the proxy's floor is 10 s).
  cat >"$dir/rmq-proxy.json" <<EOF
{"rocketMQClusterName":"DefaultCluster","namesrvAddr":"$namesrv","grpcServerPort":$grpc,
 "remotingListenPort":$remoting,"proxyMode":"cluster","minInvisibleTimeMillsForRecv":1000}
EOF
  apache_java "$dir" org.apache.rocketmq.proxy.ProxyStartup -pc "$dir/rmq-proxy.json" >"$dir/proxy.log" 2>&1 &
  PIDS+=($!)
  wait_for "$dir/proxy.log" "rocketmq-proxy startup successfully" 120 || return 1
  PROXY="127.0.0.1:$grpc"
}

# Creates the topic through the name server's cluster, then runs the client check.
check() {
  local label="$1" namesrv="$2" proxy="$3"
  local topic="PopProxy$(date +%s)"
  "$MQADMIN_BIN" updateTopic -n "$namesrv" -c DefaultCluster -t "$topic" -r 4 -w 4 >"$WORK/$label-topic.log" 2>&1 \
    || { echo "pop-proxy: cannot create $topic: $(tail -n 3 "$WORK/$label-topic.log")" >&2; return 1; }
  sleep 2
  java -cp "$CLIENT_CP" -Drocketmq.log.level=WARN "$HERE/PopProxyCheck.java" "$proxy" "$topic" "$label" 2>"$WORK/$label-client.err" \
    || { tail -n 20 "$WORK/$label-client.err" >&2; return 1; }
}

run_apache() {
  local dir="$WORK/apache" ns_port broker_port
  mkdir -p "$dir"
  ns_port="$(free_port)"
  broker_port="$(free_port)"
  printf 'listenPort=%s\n' "$ns_port" >"$dir/namesrv.conf"
  apache_java "$dir/ns" org.apache.rocketmq.namesrv.NamesrvStartup -c "$dir/namesrv.conf" >"$dir/namesrv.log" 2>&1 &
  PIDS+=($!)
  wait_for "$dir/namesrv.log" "boot success" 60 || return 1
  cat >"$dir/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-apache
brokerId=0
brokerIP1=127.0.0.1
listenPort=$broker_port
namesrvAddr=127.0.0.1:$ns_port
storePathRootDir=$dir/store
storePathCommitLog=$dir/store/commitlog
mappedFileSizeCommitLog=16777216
EOF
  apache_java "$dir/broker" org.apache.rocketmq.broker.BrokerStartup -c "$dir/broker.conf" >"$dir/broker.log" 2>&1 &
  PIDS+=($!)
  wait_for "$dir/broker.log" "boot success" 90 || return 1
  start_proxy "$dir/proxy" "127.0.0.1:$ns_port" broker-apache || return 1
  check apache "127.0.0.1:$ns_port" "$PROXY"
}

run_rmq() {
  local dir="$WORK/rmq" ns_port
  mkdir -p "$dir"
  ns_port="$(free_port)"
  "$NAMESRV_BIN" --listenPort "$ns_port" --kvConfigPath "$dir/kv.json" >"$dir/namesrv.log" 2>&1 &
  PIDS+=($!)
  wait_for "$dir/namesrv.log" "listening on" 30 || return 1
  "$BROKER_BIN" -n "127.0.0.1:$ns_port" --brokerIP1 127.0.0.1 --brokerName broker-rmq --listenPort 0 \
    --storePathRootDir "$dir/store" --mappedFileSizeCommitLog 16777216 --reviveInterval 200 >"$dir/broker.log" 2>&1 &
  PIDS+=($!)
  wait_for "$dir/broker.log" "listening on" 30 || return 1
  start_proxy "$dir/proxy" "127.0.0.1:$ns_port" broker-rmq || return 1
  check rmq "127.0.0.1:$ns_port" "$PROXY"
}

case "$WHAT" in
  apache) run_apache || status=1 ;;
  rmq) run_rmq || status=1 ;;
  both)
    run_apache || status=1
    run_rmq || status=1
    ;;
  *) echo "usage: $0 [apache|rmq|both]" >&2; exit 2 ;;
esac
exit $status
