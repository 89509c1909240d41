#!/usr/bin/env bash
# RocketMQ 5's gRPC path side by side, same machine, same client, one run: rmq's mqproxy +
# mqbroker (release builds; cluster mode, two processes), rmq's mqbroker with the proxy in its
# own process (enableProxy=true, local mode), and Apache 5.3.3's rocketmq-proxy + broker
# (cluster mode; Maven Central, the harness's JVMs: -Xms384m -Xmx384m SerialGC each), each with
# its own name server, started as interop/lib/stacks.sh starts them. The client is the official
# rocketmq-client-java 5.0.7 in rmq.interop.grpc.bench.GrpcBench (interop/grpc): $THREADS
# threads send 1 KiB synchronously for SECONDS, then $THREADS SimpleConsumers (batch 32,
# invisible 30 s) receive and ack the backlog. apache-local: Apache 5.3.3's local mode, the
# broker inside the proxy's JVM (ProxyStartup -pm local).
#
# Reports per stack: send TPS, send latency p50/p99, receive+ack TPS, the server processes' CPU
# time (utime+stime; proxy + broker, not the name server) per sent and per acked message, their
# peak summed RSS (sampled every 250 ms) and each one's, and the peak summed RssAnon (RSS
# without the commit-log pages a broker touched); then rmq/apache ratios.
#
#   bench/grpc-proxy.sh [seconds-of-sending]          (default 20)
#   THREADS=8 STACKS="rmq local apache apache-local" bench/grpc-proxy.sh 20
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-20}"
THREADS="${THREADS:-8}"
STACKS="${STACKS:-rmq local apache apache-local}"
HARNESS=grpc-bench

# shellcheck source=../scripts/lib.sh
. "$ROOT/scripts/lib.sh"
echo "building release binaries (first time: a few minutes)" >&2
release_bins rmq-namesrv rmq-broker rmq-tools rmq-proxy
# stacks.sh takes every binary from RMQ_*_BIN (else the debug builds).
RMQ_NAMESRV_BIN="$BIN/mqnamesrv" RMQ_BROKER_BIN="$BIN/mqbroker" RMQ_MQADMIN_BIN="$BIN/mqadmin"
RMQ_PROXY_BIN="$BIN/mqproxy"
# shellcheck source=../interop/lib/stacks.sh
. "$ROOT/interop/lib/stacks.sh"
stacks_prepare "$PROXY_BIN"

results=()
# bench_stack LABEL ENDPOINT PID... : a topic of 8 queues, the load, the summary line; then
# every server of the stack stopped and its files removed.
bench_stack() {
  local label="$1" endpoint="$2" topic="GrpcBench$(date +%s)"
  shift 2
  local pids
  pids="$(IFS=,; echo "$*")"
  "$MQADMIN_BIN" updateTopic -c DefaultCluster -t "$topic" -r 8 -w 8 -n "$NAMESRV" >"$WORK/$label-topic.log" 2>&1 \
    || { echo "grpc-bench: cannot create $topic on $label: $(tail -n 5 "$WORK/$label-topic.log")" >&2; exit 1; }
  sleep 2
  echo "== $label: proxy $endpoint, server pids $pids, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  java -Xmx1g -cp "$CLIENT_CP" -Drocketmq.log.level=WARN rmq.interop.grpc.bench.GrpcBench --endpoint "$endpoint" \
    --topic "$topic" --group "${topic}Group" --pids "$pids" --threads "$THREADS" --seconds "$SECS" \
    --clkTck "$(getconf CLK_TCK)" --label "$label" >"$WORK/$label-bench.out" 2>"$WORK/$label-bench.err" \
    || { echo "grpc-bench: the load failed on $label:" >&2; tail -n 20 "$WORK/$label-bench.out" "$WORK/$label-bench.err" >&2; exit 1; }
  grep '^GRPCBENCH ' "$WORK/$label-bench.out" >&2
  results+=("$(grep '^GRPCBENCH ' "$WORK/$label-bench.out")")
  stacks_cleanup_now
}

# Stops the stack's servers and removes its files (stacks.sh's trap does the same at exit).
stacks_cleanup_now() {
  stacks_stop
  find "$WORK" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
}

for stack in $STACKS; do
  case "$stack" in
    rmq)
      start_rmq_stack "$WORK/rmq"
      broker_pid="${PIDS[-1]}"
      start_rmq_proxy "$WORK/rmq/proxy" "$NAMESRV"
      bench_stack rmq "$PROXY" "${PIDS[-1]}" "$broker_pid"
      ;;
    local)
      port="$(free_port)"
      RMQ_BROKER_EXTRA="--enableProxy true --grpcServerPort $port" start_rmq_stack "$WORK/local"
      bench_stack rmq-local "127.0.0.1:$port" "${PIDS[-1]}"
      ;;
    apache)
      start_apache_stack "$WORK/apache"
      broker_pid="${PIDS[-1]}"
      start_apache_proxy "$WORK/apache/proxy" "$NAMESRV"
      bench_stack apache "$PROXY" "${PIDS[-1]}" "$broker_pid"
      ;;
    apache-local)
      # Apache's local mode is ProxyStartup -pm local -bc broker.conf (the broker in the proxy's
      # JVM): the harness's stack is started, its broker stopped, and its broker.conf and store
      # reused by the proxy.
      start_apache_stack "$WORK/apache-local"
      kill "${PIDS[-1]}" && wait "${PIDS[-1]}" || true
      unset 'PIDS[-1]'
      dir="$WORK/apache-local/proxy" grpc="$(free_port)"
      mkdir -p "$dir"
      printf '{"rocketMQClusterName":"DefaultCluster","namesrvAddr":"%s","grpcServerPort":%s,"remotingListenPort":%s,"proxyMode":"local"}\n' \
        "$NAMESRV" "$grpc" "$(free_port)" >"$dir/rmq-proxy.json"
      apache_java "$dir" org.apache.rocketmq.proxy.ProxyStartup -pm local -pc "$dir/rmq-proxy.json" \
        -bc "$WORK/apache-local/broker.conf" >"$dir/proxy.log" 2>&1 &
      PIDS+=($!)
      wait_for "$dir/proxy.log" "rocketmq-proxy startup successfully" 120
      wait_for_broker "$NAMESRV" broker-apache
      bench_stack apache-local "127.0.0.1:$grpc" "${PIDS[-1]}"
      ;;
    *) echo "unknown stack '$stack' (rmq, local, apache, apache-local)" >&2; exit 2 ;;
  esac
done

python3 - "${results[@]}" <<'PY'
import sys
rows = [dict(kv.split("=", 1) for kv in line.split()[1:]) for line in sys.argv[1:]]
cols = [("send_tps", "send/s"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"), ("recv_tps", "recv+ack/s"),
        ("cpu_us_per_send", "CPU us/send"), ("cpu_us_per_recv", "CPU us/recv"), ("rss_max_mib", "RSS MiB"), ("anon_max_mib", "anon MiB")]
print("| stack | " + " | ".join(c[1] for c in cols) + " | sent | acked (dup) |")
print("|---|" + "---|" * (len(cols) + 2))
for r in rows:
    print(f"| {r['label']} | " + " | ".join(r[c] for c, _ in cols) + f" | {r['sent']} | {r['acked']} ({r['duplicates']}) |")
by = {r["label"]: r for r in rows}
for label, base_label in [("rmq", "apache"), ("rmq-local", "apache-local"), ("rmq-local", "apache")]:
    r, base = by.get(label), by.get(base_label)
    if r and base:
        ratio = lambda k: float(r[k]) / max(float(base[k]), 1e-9)
        print(f"{label}/{base_label}: send {ratio('send_tps'):.2f}x, p99 {ratio('p99_ms'):.2f}x, "
              f"recv+ack {ratio('recv_tps'):.2f}x, CPU/send {ratio('cpu_us_per_send'):.2f}x, "
              f"CPU/recv {ratio('cpu_us_per_recv'):.2f}x, RSS {ratio('rss_max_mib'):.3f}x, "
              f"anonymous {ratio('anon_max_mib'):.3f}x")
PY
