#!/usr/bin/env bash
# Interop suites: official RocketMQ clients (Java 4.9.7, Go v2.1.2) against our servers, plus
# differential runs against Apache's own name server.
#
#   interop/run.sh            build rmq-namesrv, run the Java suite, then the Go suite
#   interop/run.sh java|java5|go   run one suite only (still builds first)
#
# Environment:
#   RMQ_NAMESRV_BIN       use this name-server binary instead of building one
#   RMQ_INTEROP_NO_BUILD  =1 skips `cargo build -p rmq-namesrv`
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

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "interop: required tool '$1' not found on PATH" >&2
    exit 2
  fi
}

# ---------------------------------------------------------------- build our binaries
if [ -z "${RMQ_NAMESRV_BIN:-}" ]; then
  if [ "${RMQ_INTEROP_NO_BUILD:-0}" != "1" ]; then
    need cargo
    say "cargo build -p rmq-namesrv"
    if (cd "$ROOT" && cargo build -p rmq-namesrv); then
      summary+=("build rmq-namesrv: ok")
    else
      summary+=("build rmq-namesrv: FAILED")
      status=1
    fi
  fi
  target_dir="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | grep -o '"target_directory":"[^"]*"' | head -n1 | cut -d'"' -f4)"
  [ -n "$target_dir" ] || target_dir="$ROOT/target"
  export RMQ_NAMESRV_BIN="$target_dir/debug/mqnamesrv"
fi
case "$RMQ_NAMESRV_BIN" in
  /*) ;;
  *) RMQ_NAMESRV_BIN="$PWD/$RMQ_NAMESRV_BIN" ;;
esac
export RMQ_NAMESRV_BIN RMQ_REPO_ROOT="$ROOT"
echo "interop: name server binary: $RMQ_NAMESRV_BIN $([ -x "$RMQ_NAMESRV_BIN" ] && echo '(present)' || echo '(MISSING)')"

# ---------------------------------------------------------------- Java suite
if [ "$WHAT" = all ] || [ "$WHAT" = java ]; then
  need mvn
  need java
  say "Java suite (Maven Surefire, rocketmq-client/tools/namesrv 4.9.7)"
  t0=$(date +%s)
  if (cd "$HERE/java" && mvn -B -ntp -Dstyle.color=never test); then
    summary+=("java suite: ok ($(( $(date +%s) - t0 ))s)")
  else
    summary+=("java suite: FAILED ($(( $(date +%s) - t0 ))s) — reports in interop/java/target/surefire-reports and interop-reports")
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
    summary+=("java5 suite: FAILED ($(( $(date +%s) - t0 ))s) — reports in interop/java5/target/surefire-reports and interop-reports")
    status=1
  fi
fi

# ---------------------------------------------------------------- Go suite
if [ "$WHAT" = all ] || [ "$WHAT" = go ]; then
  need go
  say "Go suite (go test, rocketmq-client-go v2.1.2)"
  t0=$(date +%s)
  if (cd "$HERE/go" && go test -count=1 -timeout 5m -v ./... 2>&1 | grep -v '^=== \(RUN\|PAUSE\|CONT\)'); then
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
