# Shared by the RocketMQ 5 gRPC harnesses (grpc/run.sh, grpc-python/run.sh, grpc-go/run.sh):
# Apache 5.3.3's name server, broker and rocketmq-proxy from Maven Central, rmq's mqnamesrv,
# mqbroker and mqproxy, each started as a process on ephemeral ports in a temp dir. Source it
# after setting HARNESS (a name for messages) and ROOT (the repository); it sets WORK, PIDS,
# NAMESRV_BIN, BROKER_BIN, MQADMIN_BIN and PROXY_BIN (RMQ_*_BIN, else target/debug/) and
# a cleanup trap. Needs java 17+, mvn, python3.

LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# free_broker_port comes from scripts/lib.sh (shared with bench/rocketmq-rust.sh).
# shellcheck source=../../scripts/lib.sh
. "$ROOT/scripts/lib.sh"
NAMESRV_BIN="${RMQ_NAMESRV_BIN:-$ROOT/target/debug/mqnamesrv}"
BROKER_BIN="${RMQ_BROKER_BIN:-$ROOT/target/debug/mqbroker}"
MQADMIN_BIN="${RMQ_MQADMIN_BIN:-$ROOT/target/debug/mqadmin}"
PROXY_BIN="${RMQ_PROXY_BIN:-$ROOT/target/debug/mqproxy}"
WORK="$(mktemp -d -t "rmq-$HARNESS.XXXXXX")"
PIDS=()
# The process groups of stacks_concurrently's subshells still running.
STACK_GROUPS=()

skip_or_fail() {
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL $HARNESS: $*" >&2
    exit 1
  fi
  echo "SKIPPED $HARNESS: $*" >&2
  exit 0
}

# Stops every process started so far; safe under `set -e` (a process that already exited is no
# error).
stacks_stop() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}

# Like stacks_stop, but what still runs $1 seconds after SIGTERM gets SIGKILL: for stacks whose
# files are thrown away, where Apache's shutdown hooks (about 25 s for a broker and a proxy)
# would only cost time.
stacks_stop_within() {
  local grace="$1" pid timer
  [ ${#PIDS[@]} -gt 0 ] || return 0
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  ( sleep "$grace" && kill -KILL "${PIDS[@]}" 2>/dev/null ) &
  timer=$!
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  kill "$timer" 2>/dev/null || true
  wait "$timer" 2>/dev/null || true
  PIDS=()
}

# The exit trap: stops the processes (and stacks_concurrently's groups) and removes WORK (kept
# with RMQ_HARNESS_KEEP=1).
stacks_cleanup() {
  local group
  for group in "${STACK_GROUPS[@]}"; do
    kill -- "-$group" 2>/dev/null || true
  done
  # Each subshell's own exit trap stops its servers (5 s at most) before WORK goes.
  for group in "${STACK_GROUPS[@]}"; do
    wait "$group" 2>/dev/null || true
  done
  stacks_stop
  if [ "${RMQ_HARNESS_KEEP:-0}" = "1" ]; then
    echo "$HARNESS: logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap stacks_cleanup EXIT

# Runs the functions named in $@ side by side, say the stacks of one comparison (each must use
# a directory, ports and fact files of its own under WORK). Each runs in a subshell with a
# process group of its own, so the exit trap can stop all it started, clients included; the
# subshell stops its servers when it ends (stacks_stop_within 5). A function's output goes to
# $WORK/<name>.out and is printed as one block when it ends, so the PASS/FAIL lines of
# different stacks do not interleave. Fails if any of them failed.
stacks_concurrently() {
  local fn pid rc failed=0 began=$SECONDS
  local -A running=()
  set -m
  for fn in "$@"; do
    ( PIDS=(); trap 'stacks_stop_within 5' EXIT; "$fn" ) >"$WORK/$fn.out" 2>&1 </dev/null &
    running[$!]="$fn"
    STACK_GROUPS+=("$!")
  done
  set +m
  while [ ${#running[@]} -gt 0 ]; do
    pid=""
    wait -n -p pid "${!running[@]}"
    rc=$?
    [ -n "$pid" ] || break
    echo "--- $HARNESS ${running[$pid]}: $([ $rc = 0 ] && echo ok || echo "FAILED ($rc)") after $((SECONDS - began)) s"
    cat "$WORK/${running[$pid]}.out"
    [ $rc = 0 ] || failed=1
    unset "running[$pid]"
    STACK_GROUPS=("${!running[@]}")
  done
  return $failed
}

# Compares Apache's fact file $1 with rmq's $2: a line only Apache's shows fails unless a
# "$HARNESS:" row of interop/known-differences.txt starts it (printed KNOWN); a line only rmq's
# shows is printed. Fails on a difference not known.
stacks_compare() {
  local line row failed=0 known rows=()
  mapfile -t rows < <(sed -n "s/^$HARNESS:\([^|]*[^ |]\) *|.*/\1/p" "$ROOT/interop/known-differences.txt")
  while IFS= read -r line; do
    case "$line" in
      "< "*)
        known=0
        for row in "${rows[@]}"; do
          case "${line#< }" in "$row"*) known=1 ;; esac
        done
        if [ $known = 1 ]; then
          echo "KNOWN $HARNESS: apache ${line#< }"
        else
          echo "FAIL $HARNESS: apache shows '${line#< }', rmq does not" >&2
          failed=1
        fi
        ;;
      "> "*) echo "  rmq: ${line#> }" ;;
    esac
  done < <(diff "$1" "$2")
  [ $failed = 0 ] && echo "PASS $HARNESS: rmq's facts equal Apache's$(cmp -s "$1" "$2" || echo ', known differences aside')"
  return $failed
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits up to $3 seconds for file $1 to contain $2.
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$HARNESS: '$2' not in $1 within $3 s; its tail:" >&2
      tail -n 30 "$1" >&2
      return 1
    fi
    sleep 0.5
  done
}

# Checks the tools and rmq's binaries (plus any given as arguments) and resolves the Apache
# servers' and the 5.x gRPC client's classpaths into SERVERS_CP and CLIENT_CP (the client's
# with interop/grpc's scenarios compiled).
stacks_prepare() {
  local tool bin
  for tool in java mvn python3; do
    command -v "$tool" >/dev/null 2>&1 || skip_or_fail "'$tool' not on PATH"
  done
  for bin in "$NAMESRV_BIN" "$BROKER_BIN" "$MQADMIN_BIN" "$@"; do
    [ -x "$bin" ] || skip_or_fail "$bin not built (cargo build -p rmq-namesrv -p rmq-broker -p rmq-tools -p rmq-proxy)"
  done
  mvn -q -f "$LIB/apache5-servers.xml" dependency:build-classpath -Dmdep.outputFile="$WORK/servers.cp" >"$WORK/mvn.log" 2>&1 \
    && mvn -q -f "$LIB/../grpc/pom.xml" compile dependency:build-classpath -Dmdep.outputFile="$WORK/client.cp" >>"$WORK/mvn.log" 2>&1 \
    || skip_or_fail "Maven could not resolve rocketmq-proxy 5.3.3 / rocketmq-client-java 5.0.7: $(tail -n 5 "$WORK/mvn.log")"
  SERVERS_CP="$(cat "$WORK/servers.cp")"
  # The scenarios of interop/grpc, compiled above, ride along on the client classpath.
  CLIENT_CP="$LIB/../grpc/target/classes:$(cat "$WORK/client.cp")"
}

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

# Waits until broker $2 is in name server $1's cluster list.
wait_for_broker() {
  local namesrv="$1" broker="$2" deadline=$((SECONDS + 30))
  until "$MQADMIN_BIN" clusterList -n "$namesrv" 2>/dev/null | grep -q "$broker"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$HARNESS: $broker never showed in $namesrv's cluster list" >&2
      return 1
    fi
    sleep 0.5
  done
}

# Apache 5.3.3's name server and broker (broker-apache) in $1; extra broker.conf lines in
# APACHE_BROKER_EXTRA. Sets NAMESRV.
start_apache_stack() {
  local dir="$1" ns_port broker_port
  mkdir -p "$dir"
  ns_port="$(free_port)"
  broker_port="$(free_broker_port)"
  printf 'listenPort=%s\n' "$ns_port" >"$dir/namesrv.conf"
  apache_java "$dir/ns" org.apache.rocketmq.namesrv.NamesrvStartup -c "$dir/namesrv.conf" >"$dir/namesrv.log" 2>&1 &
  PIDS+=($!)
  wait_for "$dir/namesrv.log" "boot success" 60 || return 1
  cat >"$dir/broker.conf" <<CONF
brokerClusterName=DefaultCluster
brokerName=broker-apache
brokerId=0
brokerIP1=127.0.0.1
listenPort=$broker_port
namesrvAddr=127.0.0.1:$ns_port
storePathRootDir=$dir/store
storePathCommitLog=$dir/store/commitlog
mappedFileSizeCommitLog=16777216
${APACHE_BROKER_EXTRA:-}
CONF
  apache_java "$dir/broker" org.apache.rocketmq.broker.BrokerStartup -c "$dir/broker.conf" >"$dir/broker.log" 2>&1 &
  PIDS+=($!)
  wait_for "$dir/broker.log" "boot success" 90 || return 1
  NAMESRV="127.0.0.1:$ns_port"
  wait_for_broker "$NAMESRV" broker-apache
}

# rmq's mqnamesrv and mqbroker (broker-rmq) in $1; extra broker flags in RMQ_BROKER_EXTRA.
# Sets NAMESRV.
start_rmq_stack() {
  local dir="$1" ns_port
  mkdir -p "$dir"
  ns_port="$(free_port)"
  "$NAMESRV_BIN" --listenPort "$ns_port" --kvConfigPath "$dir/kv.json" >"$dir/namesrv.log" 2>&1 &
  PIDS+=($!)
  wait_for "$dir/namesrv.log" "listening on" 30 || return 1
  # shellcheck disable=SC2086 # RMQ_BROKER_EXTRA is a list of flags
  "$BROKER_BIN" -n "127.0.0.1:$ns_port" --brokerIP1 127.0.0.1 --brokerName broker-rmq --listenPort 0 \
    --storePathRootDir "$dir/store" --mappedFileSizeCommitLog 16777216 ${RMQ_BROKER_EXTRA:-} >"$dir/broker.log" 2>&1 &
  PIDS+=($!)
  wait_for "$dir/broker.log" "listening on" 30 || return 1
  NAMESRV="127.0.0.1:$ns_port"
  wait_for_broker "$NAMESRV" broker-rmq
}

# A whole stack in $1: Apache's name server and broker (start_apache_stack), then Apache's
# proxy in $1/proxy on that name server. Sets NAMESRV and PROXY.
start_apache_with_proxy() {
  start_apache_stack "$1" && start_apache_proxy "$1/proxy" "$NAMESRV"
}

# A whole stack in $1: rmq's name server and broker (start_rmq_stack, RMQ_BROKER_EXTRA as there),
# then rmq's mqproxy in $1/proxy on that name server. Sets NAMESRV and PROXY.
start_rmq_with_proxy() {
  start_rmq_stack "$1" && start_rmq_proxy "$1/proxy" "$NAMESRV"
}

# Apache's rocketmq-proxy 5.3.3 in cluster mode in $1 on name server $2 (its brokers must be
# registered: the proxy creates its system topics at start); extra rmq-proxy.json keys (a JSON
# fragment starting with a comma) in APACHE_PROXY_EXTRA. Sets PROXY to its gRPC address.
start_apache_proxy() {
  local dir="$1" namesrv="$2" grpc remoting
  grpc="$(free_port)"
  remoting="$(free_port)"
  mkdir -p "$dir"
  cat >"$dir/rmq-proxy.json" <<JSON
{"rocketMQClusterName":"DefaultCluster","namesrvAddr":"$namesrv","grpcServerPort":$grpc,
 "remotingListenPort":$remoting,"proxyMode":"cluster"${APACHE_PROXY_EXTRA:-}}
JSON
  apache_java "$dir" org.apache.rocketmq.proxy.ProxyStartup -pc "$dir/rmq-proxy.json" >"$dir/proxy.log" 2>&1 &
  PIDS+=($!)
  wait_for "$dir/proxy.log" "rocketmq-proxy startup successfully" 120 || return 1
  PROXY="127.0.0.1:$grpc"
}

# rmq's mqproxy ($PROXY_BIN) in $1 on name server $2, with the same JSON fragment. Sets PROXY.
start_rmq_proxy() {
  local dir="$1" namesrv="$2"
  mkdir -p "$dir"
  cat >"$dir/rmq-proxy.json" <<JSON
{"rocketMQClusterName":"DefaultCluster","namesrvAddr":"$namesrv","grpcServerPort":0,"proxyMode":"cluster"${APACHE_PROXY_EXTRA:-}}
JSON
  "$PROXY_BIN" -pc "$dir/rmq-proxy.json" >"$dir/proxy.log" 2>&1 &
  PIDS+=($!)
  wait_for "$dir/proxy.log" "listening on" 30 || return 1
  PROXY="$(grep -o 'listening on [0-9.:]*' "$dir/proxy.log" | head -n1 | cut -d' ' -f3)"
}
