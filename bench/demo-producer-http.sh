#!/usr/bin/env bash
# Load on the producer demo's GET /product/msg with wrk, release builds, one run per broker
# flush mode: rmq-local with ASYNC_FLUSH, then with SYNC_FLUSH. Every request is one
# RocketMQTemplate::sync_send of the demo's message to first-topic. With SPRING=1 the same
# demo built with Spring Boot 2.7 and rocketmq-spring-boot-starter 2.2.3
# (interop/spring-demo, Maven Central) runs next, against the same broker.
#
# Reports per demo and mode: requests/s, latency p50/p99 (wrk --latency), non-2xx answers and
# "发送失败" bodies (a failed send), the demo's peak RSS (VmHWM) and its start time (launch to
# ready). Both demos get the same warm-up (WARMUP seconds of the same load). wrk, the demo
# and the stack share the machine's cores, so compare runs made on the same machine.
#
#   bench/demo-producer-http.sh [seconds]          (default 20)
#   SPRING=1 WARMUP=15 CONNS=64 THREADS=2 bench/demo-producer-http.sh 30
#
# Needs wrk (Debian/Ubuntu: apt-get install wrk); SPRING=1 also needs Java 17 and Maven.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-20}"
CONNS="${CONNS:-32}"
THREADS="${THREADS:-2}"
WARMUP="${WARMUP:-3}"
SPRING="${SPRING:-0}"
cd "$ROOT"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

echo "building release binaries (first time: a few minutes)" >&2
cargo build --release -q -p rmq-local -p demo-producer
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
SPRING_JAR="$ROOT/interop/spring-demo/target/spring-demo.jar"
if [ "$SPRING" = 1 ]; then
  (cd "$ROOT/interop/spring-demo" && mvn -B -q -ntp -Dstyle.color=never package -DskipTests) >&2
fi

WORK="$(mktemp -d /tmp/demo-producer-http.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# wait_for FILE PATTERN PID: until PATTERN appears in FILE (or the process dies)
wait_for() {
  for _ in $(seq 1 3000); do
    grep -q "$2" "$1" && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.01
  done
  echo "no '$2' in $1:" >&2; tail -20 "$1" >&2; exit 1
}

stop() { # SIGTERM and wait
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# Counts answers other than 发送成功！ (the demo's failure answer is 发送失败) across wrk threads.
cat >"$WORK/check.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) failed = 0 end
function response(status, headers, body)
  if body ~= "发送成功！" then failed = failed + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("failed") end
  io.write(string.format("FAILED %d\n", n))
end
LUA

# load NAME MODE PID URL START_MS: warm-up, measured run, one row
load() {
  curl -fsS "$4" >/dev/null  # the first send creates first-topic
  wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "$4" >/dev/null
  wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -s "$WORK/check.lua" "$4" \
    >"$WORK/wrk.out" 2>&1
  rps="$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.out")"
  p50="$(awk '$1 == "50%" {print $2}' "$WORK/wrk.out")"
  p99="$(awk '$1 == "99%" {print $2}' "$WORK/wrk.out")"
  non2xx="$(awk '/Non-2xx/ {print $5}' "$WORK/wrk.out")"
  failed="$(awk '/^FAILED/ {s += $2; seen = 1} END {print seen ? s : "?"}' "$WORK/wrk.out")"
  rss="$(awk '/VmHWM/ {print $2}' "/proc/$3/status")"
  printf '%-8s %-12s %10s %9s %9s %8s %8s %9s %8s\n' "$1" "$2" "$rps" "$p50" "$p99" \
    "${non2xx:-0}" "$failed" "$rss" "$5"
}

printf '%-8s %-12s %10s %9s %9s %8s %8s %9s %8s\n' demo flush req/s p50 p99 non2xx failed rss_kib start_ms
for mode in ASYNC_FLUSH SYNC_FLUSH; do
  "$BIN/rmq-local" --data "$WORK/$mode" --namesrvPort 0 --listenPort 0 --flushDiskType "$mode" \
    >"$WORK/stack.out" 2>"$WORK/stack.err" &
  stack=$!; pids+=("$stack")
  wait_for "$WORK/stack.out" 'name server on' "$stack"
  ns="$(grep -o 'name server on [0-9.:]*' "$WORK/stack.out" | cut -d' ' -f4)"

  t0=$(date +%s%N)
  ROCKETMQ_NAME_SERVER="$ns" RUST_LOG=warn "$BIN/demo-producer" --server.port=0 \
    >"$WORK/demo.out" 2>"$WORK/demo.err" &
  demo=$!; pids+=("$demo")
  wait_for "$WORK/demo.out" 'listening on' "$demo"
  started=$(( ($(date +%s%N) - t0) / 1000000 ))
  port="$(grep -o 'listening on [0-9.:]*' "$WORK/demo.out" | head -n1 | rev | cut -d: -f1 | rev)"
  load rmq "$mode" "$demo" "http://127.0.0.1:$port/product/msg" "$started"
  stop "$demo"

  if [ "$SPRING" = 1 ]; then
    t0=$(date +%s%N)
    java -jar "$SPRING_JAR" --server.port=0 --rocketmq.name-server="$ns" \
      --logging.level.root=WARN --logging.level.org.springframework.boot.web.embedded.tomcat=INFO \
      >"$WORK/spring.out" 2>&1 &
    spring=$!; pids+=("$spring")
    wait_for "$WORK/spring.out" 'Tomcat started on port' "$spring"
    started=$(( ($(date +%s%N) - t0) / 1000000 ))
    port="$(grep -o 'Tomcat started on port(s): [0-9]*' "$WORK/spring.out" | head -n1 | awk '{print $NF}')"
    load spring "$mode" "$spring" "http://127.0.0.1:$port/product/msg" "$started"
    stop "$spring"
  fi
  stop "$stack"
done
