# Shell helpers shared by the bench/ and interop/ scripts: release binaries, the Java harness's
# classpath, a work directory cleaned up on exit, and servers started until their boot line.
# Source it after `set -euo pipefail`: `. "$ROOT/scripts/lib.sh"` (ROOT = the repository root).

# release_bins PACKAGE... : builds the packages in release mode; sets BIN to the release dir.
release_bins() {
  local args=() target
  for p in "$@"; do args+=(-p "$p"); done
  (cd "$ROOT" && cargo build --release -q "${args[@]}")
  target="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
    | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)"
  BIN="${target:-$ROOT/target}/release"
}

# java_harness : compiles interop/java (Apache's servers and the Java client come from Maven
# Central); sets CP to its classpath and JAVA_OPENS to the flags Apache's broker needs on Java 17.
java_harness() {
  local dir="$ROOT/interop/java"
  (cd "$dir" && mvn -B -q -ntp -Dstyle.color=never compile dependency:build-classpath \
    -Dmdep.outputFile=target/classpath.txt) >&2
  CP="$dir/target/classes:$(cat "$dir/target/classpath.txt")"
  JAVA_OPENS=(--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
              --add-opens=java.base/java.lang=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED)
}

# ab_bench_setup NAME SECONDS : the start of an A/B broker bench (bench/*-overhead.sh): SECS,
# and ROUNDS/THREADS/QUEUES from the environment (defaults 2/8/8), release name server and
# broker in BIN, the Java harness, a work directory named NAME, an empty `results`.
ab_bench_setup() {
  SECS="$2"
  ROUNDS="${ROUNDS:-2}"
  THREADS="${THREADS:-8}"
  QUEUES="${QUEUES:-8}"
  bench_setup "$1"
  results=()
}

# bench_setup NAME : the start of a broker bench: release name server and broker in BIN, the
# Java harness (CP), a work directory named NAME.
bench_setup() {
  echo "building release binaries and the Java client (first time: a few minutes)" >&2
  release_bins rmq-namesrv rmq-broker
  java_harness
  work_dir "$1"
}

# free_broker_port : a free port P whose P-2 and P+1 are free too. A broker binds all three:
# Apache's its VIP channel on P-2 and HA port on P+1, rocketmq-rust its fast remoting listener on
# P-2 and its HA listener on P+1 (set so); a taken neighbour fails the start.
free_broker_port() {
  python3 -c '
import socket
def bindable(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p > 1026 and bindable(p) and bindable(p - 2) and bindable(p + 1):
        print(p)
        break
else:
    raise SystemExit("no free port with free neighbours")
'
}

# ab_bench_rounds PREFIX BASE VARIANT NOTE : calls the script's `run_one BASE ROUND` and
# `run_one VARIANT ROUND`, alternating, for $ROUNDS rounds, then prints the summary
# (bench/ab-summary.py) with NOTE under it.
ab_bench_rounds() {
  local round
  for round in $(seq 1 "$ROUNDS"); do
    run_one "$2" "$round"
    run_one "$3" "$round"
  done
  python3 "$ROOT/bench/ab-summary.py" "$1" "$2" "$3" "$4" "${results[@]}"
}

# ab_start NAME DIR BROKER_BIN NS_ARGS [BROKER_ARGS...] : the stack of one A/B run in DIR: a name
# server (NS_ARGS: more of its options, as one string of words) and BROKER_BIN with BROKER_ARGS;
# sets NS_PID, NS_ADDR, BROKER_PID and BROKER_ADDR. ab_stop DIR stops them and drops the store.
ab_start() {
  local name="$1" dir="$2" broker="$3" ns_args
  read -ra ns_args <<<"$4"
  shift 4
  mkdir -p "$dir"
  start "ns-$name" "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$dir/kv.json" "${ns_args[@]}"
  NS_PID=$PID NS_ADDR=$ADDR
  start "broker-$name" "$broker" -n "$NS_ADDR" --listenPort 0 --brokerIP1 127.0.0.1 \
    --brokerName broker-a --storePathRootDir "$dir/store" "$@"
  BROKER_PID=$PID BROKER_ADDR=$ADDR
  sleep 2
}

ab_stop() {
  stop "$BROKER_PID"
  stop "$NS_PID"
  rm -rf "$1/store"
}

# broker_bench LABEL DIR NAMESRV BROKER BROKER_PID [BrokerBench args...] : the Java client's
# BrokerBench (interop/java) against one broker for $SECS seconds with $THREADS senders over $QUEUES
# queues, output in DIR; its `BENCH ...` line is appended to the array `results`. JAVA_BENCH_OPTS
# (e.g. -Dtls.enable=true) goes to the JVM. Needs java_harness first.
broker_bench() {
  local label="$1" dir="$2" ns="$3" broker="$4" pid="$5"
  shift 5
  # shellcheck disable=SC2086 # JAVA_BENCH_OPTS holds separate JVM options
  java -Xmx512m ${JAVA_BENCH_OPTS:-} -cp "$CP" rmq.interop.bench.BrokerBench --namesrv "$ns" \
    --broker "$broker" --brokerPid "$pid" --threads "$THREADS" --seconds "$SECS" --queues "$QUEUES" \
    --clkTck "$(getconf CLK_TCK)" --label "$label" "$@" >"$dir/bench.out" 2>"$dir/bench.err" \
    || { tail -20 "$dir/bench.err" >&2; exit 1; }
  grep -v '^BENCH ' "$dir/bench.out" >&2
  results+=("$(grep '^BENCH ' "$dir/bench.out")")
}

# disk_written_bytes DIR : bytes written so far to the block device holding DIR (sectors written in
# /sys/dev/block/MAJ:MIN/stat), or nothing where that cannot be read (tmpfs, a container's overlay).
disk_written_bytes() {
  local dev
  dev="$(stat -c '%Hd:%Ld' "$1" 2>/dev/null)" || return 0
  awk '{printf "%.0f\n", $7 * 512}' "/sys/dev/block/$dev/stat" 2>/dev/null || true
}

# work_dir NAME : sets WORK to a new temporary directory; on exit every server `start`ed is
# stopped and WORK removed (kept, and its path printed, with RMQ_KEEP_WORK=1).
work_dir() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
  SERVER_PIDS=()
  trap _lib_cleanup EXIT
}

_lib_cleanup() {
  for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${RMQ_KEEP_WORK:-0}" = 1 ]; then echo "output kept in $WORK" >&2; else rm -rf "$WORK"; fi
}

# start NAME COMMAND... : runs a server in the background (stdout and stderr in $WORK/NAME.out)
# and waits, 90 s at most, for the line READY (default "listening on"). Sets PID, START_MS
# (launch to that line) and ADDR (the HOST:PORT of a "listening on HOST:PORT" line, if any).
start() {
  local name="$1" ready="${READY:-listening on}" t0
  shift
  local out="$WORK/$name.out"
  t0=$(date +%s%N)
  "$@" >"$out" 2>&1 &
  PID=$!
  SERVER_PIDS+=("$PID")
  for _ in $(seq 1 9000); do
    grep -q "$ready" "$out" && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.01
  done
  START_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
  if ! grep -q "$ready" "$out"; then
    echo "$name did not start (no '$ready' line); its output:" >&2
    tail -30 "$out" >&2
    exit 1
  fi
  ADDR="$(grep -o 'listening on [0-9.:]*' "$out" | head -n1 | cut -d' ' -f3 || true)"
}

# stop PID : SIGTERM, then SIGKILL if it is still running after 30 s.
stop() {
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
