#!/usr/bin/env bash
# Interop suites: official RocketMQ clients (Java 4.9.7, Go v2.1.2) against our name server
# and broker, plus differential runs against Apache's own name server and broker.
#
#   interop/run.sh            build rmq-namesrv + rmq-broker, run the Java suite, the Java 5.x
#                             suite, then the Go suite
#   interop/run.sh java|java5|go|apache-client|apache-tls-client|failover|broker-chaos|console|metrics|pop-broker|grpc|grpc-python|grpc-go|grpc-acl   run one
#                             suite only (still builds first)
#   (apache-client: rmq-client's tests against Apache 4.9.7's name server and broker;
#    apache-tls-client: rmq-client with TLS against Apache 4.9.7 in TLS enforcing mode;
#    failover: the Java 5.3.3 client's chaos run of controller-mode failover, Apache 5.3.3's
#    controllers and brokers first (the harness's self-check), then rmq's, then mixed;
#    broker-chaos: one SYNC_FLUSH broker killed (-9), frozen (SIGSTOP) and stopped (SIGTERM) in
#    rotation under the Java 4.9.7 client's sync sends and push consumption, Apache 4.9.7 first
#    (the harness's self-check), then rmq;
#    console: rmq-dashboard in headless Chromium against rmq, then read-only against Apache
#    4.9.7, see console.sh;
#    metrics: the Prometheus families and labels of rmq's broker against Apache 5.3.3's for
#    the same traffic, see metrics-vs-apache5.sh;
#    pop-broker: the broker's POP requests (batch ack, peek, notification, FIFO, attributes)
#    from Apache 5.3.3's remoting classes, Apache's broker and rmq's transcripts compared, see
#    java5/pop-broker/run.sh;
#    grpc: rmq's mqproxy and Apache's rocketmq-proxy 5.3.3 with rocketmq-client-java 5.0.7, the
#    same scenarios on both stacks, facts compared, then mqbroker with enableProxy=true and
#    Apache's own proxy on rmq's broker (POP compatibility), see grpc/run.sh and
#    docs/grpc-proxy.md;
#    grpc-python: the official Python 5.x SDK (rocketmq-python-client 5.1.2 from PyPI) through
#    Apache's proxy and through mqproxy, facts compared, see grpc-python/run.sh;
#    grpc-go: the official Go v5 SDK (rocketmq-clients golang/v5 5.1.2) through Apache's proxy
#    and through mqproxy, facts compared, then mqbroker with enableProxy=true; without `go` it
#    is skipped, and fails with CI=true; see grpc-go/run.sh;
#    grpc-acl: rocketmq-client-java 5.0.7 with credentials through mqproxy (enableACL) on an
#    ACL-enabled rmq broker, rmq only (Apache 5.3.3's proxy has no ACL 1.0); see grpc/acl.sh)
#
# Environment:
#   RMQ_NAMESRV_BIN       use this name-server binary instead of building one
#   RMQ_BROKER_BIN        use this broker binary instead of building one
#   RMQ_CONTROLLER_BIN    use this controller binary instead of building one
#   RMQ_FAILOVER_CYCLES   cycles of rmq's failover chaos run (default 10)
#   RMQ_FAILOVER_APACHE_CYCLES  cycles of Apache's own run, the harness's self-check (default 5)
#   RMQ_FAILOVER_MIXED_CYCLES  cycles of the mixed runs (rmq brokers under Apache's controllers
#                         and the reverse; default 5)
#   RMQ_BROKER_CHAOS_CYCLES  cycles of each broker chaos run (default 20)
#   RMQ_BROKER_CHAOS_BUDGET  seconds: run broker chaos cycles until spent instead (long mode)
#   RMQ_INTEROP_NO_BUILD  =1 skips `cargo build -p rmq-namesrv -p rmq-broker` (and the
#                         request_reply example the Java suite runs; RMQ_REQUEST_REPLY_BIN
#                         points at a built one)
#   RMQ_INTEROP_APACHE_BROKER =0 skips the Java broker contracts' self-checks against Apache's
#                         broker (on by default; SKIPPED lines locally, a failure with CI=true)
#   RMQ_INTEROP_JAVA5     =0 skips the 5.x Java suite in a full run
#   CI=true               a missing binary fails the suites instead of skipping them
# Exits non-zero if the build or any suite fails. Maven and Go fetch their dependencies from
# their registries on first use.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
WHAT="${1:-all}"
START=$(date +%s)
status=0
summary=()

say() { printf '\n==== interop: %s ====\n' "$*"; }

# The tests Surefire reported failed or broken in a Maven project ("Class.method, ..."): the
# summary names them, since a later suite may reuse the same target directory.
failed_tests() {
  grep -h '<<< \(FAILURE\|ERROR\)!' "$1"/target/surefire-reports/*.txt 2>/dev/null \
    | sed 's/ -- .*//; s/.*\.\([A-Za-z0-9_$]*\.[A-Za-z0-9_$]*\)$/\1/' | paste -sd, - | sed 's/,/, /g'
}

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "interop: required tool '$1' not found on PATH" >&2
    exit 2
  fi
}

# ---------------------------------------------------------------- build our binaries
if [ -z "${RMQ_NAMESRV_BIN:-}" ] || [ -z "${RMQ_BROKER_BIN:-}" ] || [ -z "${RMQ_CONTROLLER_BIN:-}" ]; then
  if [ "${RMQ_INTEROP_NO_BUILD:-0}" != "1" ]; then
    need cargo
    say "cargo build -p rmq-namesrv -p rmq-broker -p rmq-controller"
    if (cd "$ROOT" && cargo build -p rmq-namesrv -p rmq-broker -p rmq-controller); then
      summary+=("build rmq-namesrv + rmq-broker + rmq-controller: ok")
    else
      summary+=("build rmq-namesrv + rmq-broker + rmq-controller: FAILED")
      status=1
    fi
  fi
  target_dir="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | grep -o '"target_directory":"[^"]*"' | head -n1 | cut -d'"' -f4)"
  [ -n "$target_dir" ] || target_dir="$ROOT/target"
  [ -n "${RMQ_NAMESRV_BIN:-}" ] || RMQ_NAMESRV_BIN="$target_dir/debug/mqnamesrv"
  [ -n "${RMQ_BROKER_BIN:-}" ] || RMQ_BROKER_BIN="$target_dir/debug/mqbroker"
  [ -n "${RMQ_CONTROLLER_BIN:-}" ] || RMQ_CONTROLLER_BIN="$target_dir/debug/mqcontroller"
fi
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
RMQ_NAMESRV_BIN="$(abs "$RMQ_NAMESRV_BIN")"
RMQ_BROKER_BIN="$(abs "$RMQ_BROKER_BIN")"
RMQ_CONTROLLER_BIN="$(abs "$RMQ_CONTROLLER_BIN")"
export RMQ_NAMESRV_BIN RMQ_BROKER_BIN RMQ_CONTROLLER_BIN RMQ_REPO_ROOT="$ROOT"
for b in "$RMQ_NAMESRV_BIN" "$RMQ_BROKER_BIN" "$RMQ_CONTROLLER_BIN"; do
  echo "interop: binary: $b $([ -x "$b" ] && echo '(present)' || echo '(MISSING)')"
done

# ---------------------------------------------------------------- Java suite
if [ "$WHAT" = all ] || [ "$WHAT" = java ]; then
  need mvn
  need java
  say "Java suite (Maven Surefire, rocketmq-client/tools/namesrv/broker 4.9.7)"
  t0=$(date +%s)
  # RequestReplyContract runs rmq-client's request_reply example (docs/request-reply.md)
  if [ "${RMQ_INTEROP_NO_BUILD:-0}" != "1" ] && [ -z "${RMQ_REQUEST_REPLY_BIN:-}" ]; then
    (cd "$ROOT" && cargo build -p rmq-client --example request_reply) \
      || { summary+=("build rmq-client request_reply example: FAILED"); status=1; }
  fi
  if (cd "$HERE/java" && mvn -B -ntp -Dstyle.color=never test); then
    summary+=("java suite: ok ($(( $(date +%s) - t0 ))s)")
  else
    summary+=("java suite: FAILED ($(( $(date +%s) - t0 ))s): $(failed_tests "$HERE/java") — reports in interop/java/target/surefire-reports and interop-reports")
    status=1
  fi
fi

# ---------------------------------------------------------------- Java 5.x suite
if { [ "$WHAT" = all ] && [ "${RMQ_INTEROP_JAVA5:-1}" != "0" ]; } || [ "$WHAT" = java5 ]; then
  need mvn
  need java
  say "Java 5.x suite (Maven Surefire, rocketmq-client/tools/namesrv 5.3.3)"
  t0=$(date +%s)
  if (cd "$HERE/java5" && mvn -B -ntp -Dstyle.color=never test); then
    summary+=("java5 suite: ok ($(( $(date +%s) - t0 ))s)")
  else
    summary+=("java5 suite: FAILED ($(( $(date +%s) - t0 ))s): $(failed_tests "$HERE/java5") — reports in interop/java5/target/surefire-reports and interop-reports")
    status=1
  fi
fi

# ---------------------------------------------------------------- our client against Apache
if [ "$WHAT" = all ] || [ "$WHAT" = apache-client ]; then
  need mvn
  need java
  need cargo
  say "rmq-client against Apache RocketMQ 4.9.7 (name server + broker from Maven Central)"
  t0=$(date +%s)
  if bash "$HERE/apache-client.sh"; then
    summary+=("apache-client suite: ok ($(( $(date +%s) - t0 ))s)")
  else
    summary+=("apache-client suite: FAILED ($(( $(date +%s) - t0 ))s)")
    status=1
  fi
fi

# ---------------------------------------------------------------- our client with TLS against Apache
if [ "$WHAT" = all ] || [ "$WHAT" = apache-tls-client ]; then
  need mvn
  need java
  need cargo
  say "rmq-client with TLS against Apache RocketMQ 4.9.7 in tls.server.mode=enforcing"
  t0=$(date +%s)
  if bash "$HERE/apache-tls-client.sh"; then
    summary+=("apache-tls-client suite: ok ($(( $(date +%s) - t0 ))s)")
  else
    summary+=("apache-tls-client suite: FAILED ($(( $(date +%s) - t0 ))s)")
    status=1
  fi
fi

# ---------------------------------------------------------------- failover chaos (Java 5.3.3)
if [ "$WHAT" = all ] || [ "$WHAT" = failover ]; then
  need mvn
  need java
  cycles="${RMQ_FAILOVER_CYCLES:-10}"
  # The self-check proves the harness, not rmq: fewer cycles keep .ci/run within its budget.
  apache_cycles="${RMQ_FAILOVER_APACHE_CYCLES:-5}"
  mixed="${RMQ_FAILOVER_MIXED_CYCLES:-5}"
  # Apache's own servers first (the harness's self-check), then rmq's, then each side's brokers
  # under the other side's controllers (the broker <-> controller protocol is Apache's).
  for run in "apache:$apache_cycles" "rmq:$cycles" "rmq-brokers-apache-controllers:$mixed" \
      "apache-brokers-rmq-controllers:$mixed"; do
    target="${run%%:*}"
    cycles_now="${run##*:}"
    say "failover chaos against $target: $cycles_now cycles of kill -9 / SIGSTOP of the master (Java 5.3.3 client)"
    t0=$(date +%s)
    if (cd "$HERE/java5" && mvn -B -ntp -Dstyle.color=never test -Dtest=FailoverChaos \
        -Dsurefire.failIfNoSpecifiedTests=false -Dtarget="$target" -Dcycles="$cycles_now"); then
      summary+=("failover chaos ($target): ok ($(( $(date +%s) - t0 ))s) — interop/java5/target/failover-$target.txt")
      grep -E '^(lost|duplicates|failoverMsKill|failoverMsFreeze|electedSeenMs)' \
        "$HERE/java5/target/failover-$target.txt" 2>/dev/null | sed 's/^/    /'
    else
      summary+=("failover chaos ($target): FAILED ($(( $(date +%s) - t0 ))s) — interop/java5/target/failover-$target.txt")
      status=1
    fi
  done
fi

# ---------------------------------------------------------------- broker chaos (Java 4.9.7)
if [ "$WHAT" = all ] || [ "$WHAT" = broker-chaos ]; then
  need mvn
  need java
  cycles="${RMQ_BROKER_CHAOS_CYCLES:-20}"
  budget="${RMQ_BROKER_CHAOS_BUDGET:-0}"
  # Apache's own name server and broker first (the harness's self-check), then rmq's
  for target in apache rmq; do
    say "broker chaos against $target: $([ "$budget" != 0 ] && echo "${budget}s of" || echo "$cycles") cycles of kill -9 / SIGSTOP / SIGTERM of a SYNC_FLUSH broker (Java 4.9.7 client)"
    t0=$(date +%s)
    report="$HERE/java/target/broker-chaos-$target.txt"
    rm -f "$report"
    if (cd "$HERE/java" && mvn -B -ntp -Dstyle.color=never test -Dtest=BrokerChaos \
        -Dsurefire.failIfNoSpecifiedTests=false -Dtarget="$target" -Dcycles="$cycles" -DbudgetSeconds="$budget"); then
      summary+=("broker chaos ($target): ok ($(( $(date +%s) - t0 ))s) — interop/java/target/broker-chaos-$target.txt")
    else
      summary+=("broker chaos ($target): FAILED ($(( $(date +%s) - t0 ))s) — interop/java/target/broker-chaos-$target.txt")
      status=1
    fi
    if [ -f "$report" ]; then
      while IFS= read -r line; do
        summary+=("    $line")
      done < <(grep -E '^(cycles|sendOk|sendFailed|lost|ackedNotDelivered|duplicatesDelivered|duplicatesStored|reorderingsDelivered|reorderingsStored|outageMs[A-Za-z]*) = ' "$report" | sed -E 's/( ms) \[[0-9, ]*\]$/\1/')
    fi
  done
fi

# ---------------------------------------------------------------- the console in a browser
if [ "$WHAT" = all ] || [ "$WHAT" = console ]; then
  need node
  need npm
  need mvn
  say "rmq-dashboard in headless Chromium: rmq, then Apache 4.9.7 read-only (screenshots in target/console-screenshots)"
  t0=$(date +%s)
  if bash "$HERE/console.sh"; then
    summary+=("console suite: ok ($(( $(date +%s) - t0 ))s)")
  else
    summary+=("console suite: FAILED ($(( $(date +%s) - t0 ))s) — the failing page: target/console-screenshots/*-FAILED.png")
    status=1
  fi
fi

# ---------------------------------------------------------------- Prometheus metrics vs Apache 5
if [ "$WHAT" = all ] || [ "$WHAT" = metrics ]; then
  need mvn
  say "Prometheus metrics: rmq's broker against Apache 5.3.3's (names and labels)"
  t0=$(date +%s)
  if (cd "$ROOT" && cargo build -q -p rmq-tools --bin mqbench --bin mqadmin) \
    && RMQ_BIN_DIR="$(dirname "$RMQ_BROKER_BIN")" bash "$HERE/metrics-vs-apache5.sh"; then
    summary+=("metrics suite: ok ($(( $(date +%s) - t0 ))s)")
  else
    summary+=("metrics suite: FAILED ($(( $(date +%s) - t0 ))s)")
    status=1
  fi
fi

# ---------------------------------------------------------------- POP requests on the broker
if [ "$WHAT" = all ] || [ "$WHAT" = pop-broker ]; then
  need mvn
  need java
  say "POP requests from Apache 5.3.3's remoting classes: Apache 5.3.3's broker vs rmq's"
  t0=$(date +%s)
  if (cd "$ROOT" && cargo build -q -p rmq-tools --bin mqadmin) \
    && RMQ_MQADMIN_BIN="$(dirname "$RMQ_BROKER_BIN")/mqadmin" bash "$HERE/java5/pop-broker/run.sh"; then
    summary+=("pop-broker suite: ok ($(( $(date +%s) - t0 ))s)")
  else
    summary+=("pop-broker suite: FAILED ($(( $(date +%s) - t0 ))s)")
    status=1
  fi
fi

# ---------------------------------------------------------------- the gRPC proxy suites
# grpc_suite NAME DESCRIPTION SCRIPT [ARGS...]: builds mqadmin and mqproxy, runs SCRIPT with
# their paths in RMQ_MQADMIN_BIN / RMQ_PROXY_BIN, and adds "NAME suite: ok|FAILED (Ns)".
grpc_suite() {
  local name="$1" description="$2" script="$3" t0
  shift 3
  say "$description"
  t0=$(date +%s)
  if (cd "$ROOT" && cargo build -q -p rmq-tools --bin mqadmin -p rmq-proxy --bin mqproxy) \
    && RMQ_MQADMIN_BIN="$(dirname "$RMQ_BROKER_BIN")/mqadmin" RMQ_PROXY_BIN="$(dirname "$RMQ_BROKER_BIN")/mqproxy" \
      bash "$script" "$@"; then
    summary+=("$name suite: ok ($(( $(date +%s) - t0 ))s)")
  else
    summary+=("$name suite: FAILED ($(( $(date +%s) - t0 ))s)")
    status=1
  fi
}

if [ "$WHAT" = all ] || [ "$WHAT" = grpc ]; then
  need mvn
  need java
  grpc_suite grpc "gRPC: rocketmq-client-java 5.0.7 through Apache's proxy 5.3.3 on Apache 5.3.3 and through mqproxy on rmq (plus local mode and Apache's proxy on rmq), two stacks at a time" \
    "$HERE/grpc/run.sh" all
fi

# the Python SDK
if [ "$WHAT" = all ] || [ "$WHAT" = grpc-python ]; then
  need mvn
  need java
  need python3
  grpc_suite grpc-python "gRPC: rocketmq-python-client 5.1.2 through Apache's proxy 5.3.3 on Apache 5.3.3, then through mqproxy on rmq" \
    "$HERE/grpc-python/run.sh" both
fi

# the Go v5 SDK; grpc-go/run.sh says SKIPPED when `go` is missing, and fails with CI=true.
if [ "$WHAT" = all ] || [ "$WHAT" = grpc-go ]; then
  need mvn
  need java
  grpc_suite grpc-go "gRPC: rocketmq-clients golang/v5 5.1.2 through Apache's proxy 5.3.3 on Apache 5.3.3, through mqproxy on rmq, then mqbroker --enableProxy true" \
    "$HERE/grpc-go/run.sh" all
fi

# with ACL 1.0
if [ "$WHAT" = all ] || [ "$WHAT" = grpc-acl ]; then
  need mvn
  need java
  grpc_suite grpc-acl "gRPC + ACL: rocketmq-client-java 5.0.7 with credentials through mqproxy (enableACL) on an ACL-enabled rmq broker" \
    "$HERE/grpc/acl.sh"
fi

# ---------------------------------------------------------------- Go suite
if [ "$WHAT" = all ] || [ "$WHAT" = go ]; then
  need go
  say "Go suite (go test, rocketmq-client-go v2.1.2)"
  t0=$(date +%s)
  # broadcasting consumers keep offsets in local files: under .cache, not in ~/.rocketmq_client_go
  if (cd "$HERE/go" && env "rocketmq.client.localOffsetStoreDir=$HERE/go/.cache/offsets" \
      go test -count=1 -timeout 5m -v ./... 2>&1 | grep -v '^=== \(RUN\|PAUSE\|CONT\)'); then
    summary+=("go suite: ok ($(( $(date +%s) - t0 ))s)")
  else
    summary+=("go suite: FAILED ($(( $(date +%s) - t0 ))s)")
    status=1
  fi
fi

say "summary ($(( $(date +%s) - START ))s)"
for line in "${summary[@]}"; do
  echo "  $line"
done
exit $status
