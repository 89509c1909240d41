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

. "$ROOT/scripts/lib.sh"
echo "building release binaries (first time: a few minutes)" >&2
release_bins rmq-local demo-producer
SPRING_JAR="$ROOT/interop/spring-demo/target/spring-demo.jar"
if [ "$SPRING" = 1 ]; then
  (cd "$ROOT/interop/spring-demo" && mvn -B -q -ntp -Dstyle.color=never package -DskipTests) >&2
fi
work_dir demo-producer-http

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
  READY='name server on' start stack "$BIN/rmq-local" --data "$WORK/$mode" --namesrvPort 0 \
    --listenPort 0 --flushDiskType "$mode"
  stack=$PID
  ns="$(grep -o 'name server on [0-9.:]*' "$WORK/stack.out" | cut -d' ' -f4)"

  ROCKETMQ_NAME_SERVER="$ns" RUST_LOG=warn start demo "$BIN/demo-producer" --server.port=0
  port="${ADDR##*:}"
  load rmq "$mode" "$PID" "http://127.0.0.1:$port/product/msg" "$START_MS"
  stop "$PID"

  if [ "$SPRING" = 1 ]; then
    READY='Tomcat started on port' start spring java -jar "$SPRING_JAR" --server.port=0 \
      --rocketmq.name-server="$ns" --logging.level.root=WARN \
      --logging.level.org.springframework.boot.web.embedded.tomcat=INFO
    port="$(grep -o 'Tomcat started on port(s): [0-9]*' "$WORK/spring.out" | head -n1 | awk '{print $NF}')"
    load spring "$mode" "$PID" "http://127.0.0.1:$port/product/msg" "$START_MS"
    stop "$PID"
  fi
  stop "$stack"
done
