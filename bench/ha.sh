#!/usr/bin/env bash
# Replication benchmarks, one run on one machine (client, masters and slaves share the cores):
#
#  1. Send throughput and latency of a master + slave pair under `mqbench produce -c 64 -s 1024`
#     (rmq's own client for every broker), for rmq as SYNC_MASTER and as ASYNC_MASTER and, with
#     APACHE=1 (the default), the same for Apache RocketMQ 4.9.7 (Maven Central, child JVMs
#     -Xms1g -Xmx1g as in bench/broker-vs-apache.sh). mqbench counts only SEND_OK: a
#     SYNC_MASTER answering FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE counts as failed.
#     Memory: the highest RSS, and its anonymous part (without the mapped commit-log pages RSS
#     also counts), of master and slave, sampled twice a second during the run.
#  2. Catch-up rate of an empty slave: a master (ASYNC_MASTER, one commit-log file big enough
#     for everything, so the slave copies it all) is filled with CATCHUP_MIB MiB, then a slave
#     starts; the rate is the bytes copied over the time from the slave's boot line until it
#     reports the master's offset (for rmq and, with APACHE=1, Apache). Next to it, the disk's sequential write rate in the same
#     file system (`dd bs=1M conv=fdatasync` of the same size).
#
#   bench/ha.sh [seconds-per-produce-run]        (default 20)
#   APACHE=0 CATCHUP_MIB=2048 CONCURRENCY=64 SIZE=1024 bench/ha.sh 20
#   PARTS=catchup RMQ_BROKER_ARGS="--haTransferBatchSize 262144" bench/ha.sh   (PARTS: produce, catchup)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-20}"
CONCURRENCY="${CONCURRENCY:-64}"
SIZE="${SIZE:-1024}"
CATCHUP_MIB="${CATCHUP_MIB:-1024}"
APACHE="${APACHE:-1}"
PARTS="${PARTS:-produce catchup}"
read -r -a RMQ_BROKER_ARGS <<<"${RMQ_BROKER_ARGS:-}"
cd "$ROOT"

. "$ROOT/scripts/lib.sh"
echo "building release binaries (and, with APACHE=1, the Java harness)" >&2
release_bins rmq-namesrv rmq-broker rmq-tools
if [ "$APACHE" = 1 ]; then java_harness; fi
work_dir ha-bench

# name_server IMPL DIR : starts a name server; sets NS.
name_server() {
  if [ "$1" = rmq ]; then
    start "$1-ns-$RANDOM" "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$2/kv.json"
  else
    start "$1-ns-$RANDOM" java -Xmx256m -cp "$CP" rmq.interop.ApacheNamesrvMain --listenPort 0 \
      --kvConfigPath "$2/kv.json"
  fi
  NS=$ADDR
}

# broker IMPL NAME ROLE DIR [--key value]... : starts a broker of group ha-a (brokerId 1 for a
# SLAVE) registered with $NS; sets PID and ADDR.
broker() {
  local impl="$1" name="$2" role="$3" dir="$4" id=0
  shift 4
  [ "$role" = SLAVE ] && id=1
  local args=(-n "$NS" --listenPort 0 --brokerIP1 127.0.0.1 --brokerName ha-a --brokerId "$id"
              --brokerRole "$role" --storePathRootDir "$dir/$name" "$@")
  if [ "$impl" = rmq ]; then
    start "$name" "$BIN/mqbroker" --haListenPort 0 "${args[@]}" ${RMQ_BROKER_ARGS[@]+"${RMQ_BROKER_ARGS[@]}"}
  else
    start "$name" java -Xms1g -Xmx1g -XX:+UseG1GC "${JAVA_OPENS[@]}" -cp "$CP" \
      rmq.interop.ApacheBrokerMain "${args[@]}"
  fi
}

# max_offset ADDR : the broker's commitLogMaxOffset (GET_BROKER_RUNTIME_INFO), empty if it does
# not answer.
max_offset() {
  { "$BIN/mqadmin" -n "$NS" brokerStatus -b "$1" 2>/dev/null || true; } | awk '$1 == "commitLogMaxOffset" {print $3}'
}

# sample_memory OUT PID... : until killed, writes "pid rss_kib anon_kib" lines twice a second.
sample_memory() {
  local out="$1"
  shift
  while true; do
    for p in "$@"; do
      awk -v p="$p" '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} END {print p, r, a}' "/proc/$p/status" >>"$out" 2>/dev/null || true
    done
    sleep 0.5
  done
}

# max_mib FILE PID COLUMN : the largest sample of PID's COLUMN (2 = RSS, 3 = anon) in MiB.
max_mib() {
  awk -v p="$2" -v c="$3" '$1 == p && $c > m {m = $c} END {printf "%.0f", m / 1024}' "$1"
}

results=()
produce_run() { # produce_run IMPL ROLE
  local impl="$1" role="$2" label="$1-$2" dir="$WORK/$1-$2"
  mkdir -p "$dir"
  name_server "$impl" "$dir"
  local ns_pid=$PID
  broker "$impl" "$label-master" "$role" "$dir"
  local master_pid=$PID master_addr=$ADDR
  broker "$impl" "$label-slave" SLAVE "$dir"
  local slave_pid=$PID slave_addr=$ADDR
  # Until the slave is connected a SYNC_MASTER answers SLAVE_NOT_AVAILABLE (a failure for
  # mqbench); send a little until a short run has no failure at all.
  local ready=0
  for _ in $(seq 1 30); do
    if "$BIN/mqbench" --json produce -n "$NS" -t HaBench -c 4 -s "$SIZE" -d 1 >"$dir/warmup.json" 2>/dev/null &&
      python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["ok"] > 0 and r["failed"] == 0 else 1)' "$dir/warmup.json"; then
      ready=1
      break
    fi
    sleep 1
  done
  [ "$ready" = 1 ] || { echo "$label: the pair never acknowledged a send; master log:" >&2; tail -20 "$WORK/$label-master.out" >&2; exit 1; }
  sample_memory "$dir/mem.txt" "$master_pid" "$slave_pid" &
  local sampler=$!
  "$BIN/mqbench" --json produce -n "$NS" -t HaBench -c "$CONCURRENCY" -s "$SIZE" -d "$SECS" >"$dir/bench.json"
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  # The slave must hold what the master holds once the sends stop.
  local m s caught=0
  for _ in $(seq 1 600); do
    m="$(max_offset "$master_addr")"; s="$(max_offset "$slave_addr")"
    if [ -n "$m" ] && [ "$m" = "$s" ]; then caught=1; break; fi
    sleep 0.1
  done
  [ "$caught" = 1 ] || echo "$label: the slave did not catch up (master $m, slave $s)" >&2
  results+=("$label $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); l=r["latency_us"]; print(r["ops_per_sec"], r["ok"], r["failed"], l["p50"]/1000, l["p99"]/1000)' "$dir/bench.json") \
$(max_mib "$dir/mem.txt" "$master_pid" 2) $(max_mib "$dir/mem.txt" "$master_pid" 3) \
$(max_mib "$dir/mem.txt" "$slave_pid" 2) $(max_mib "$dir/mem.txt" "$slave_pid" 3) $caught")
  echo "== ${results[-1]}" >&2
  stop "$slave_pid"; stop "$master_pid"; stop "$ns_pid"
  rm -rf "$dir"
}

catch_up_run() { # catch_up_run IMPL
  # One file holds it all (with room for the fill's overshoot), so the slave copies it all;
  # Apache reads the size as a Java int (a bigger one falls back to 1 GiB).
  local impl="$1" dir="$WORK/$1-catch-up" target=$((CATCHUP_MIB * 1048576))
  local file=$(((CATCHUP_MIB + 512) * 1048576))
  [ "$file" -gt 2147483647 ] && [ "$impl" = apache ] && file=2147483647
  mkdir -p "$dir"
  name_server "$impl" "$dir"
  local ns_pid=$PID
  broker "$impl" "$impl-fill-master" ASYNC_MASTER "$dir" --mappedFileSizeCommitLog "$file"
  local master_pid=$PID master_addr=$ADDR m=0
  while [ "${m:-0}" -lt "$target" ]; do
    "$BIN/mqbench" produce -n "$NS" -t HaFill -c 32 -s 4000 -d 1 >/dev/null
    m="$(max_offset "$master_addr")"
  done
  echo "== $impl master holds $m bytes; starting an empty slave" >&2
  local t0 s=0
  t0=$(date +%s%N)
  broker "$impl" "$impl-fill-slave" SLAVE "$dir" --mappedFileSizeCommitLog "$file"
  local slave_pid=$PID slave_addr=$ADDR boot_ms=$START_MS first_s=0 first_ns=0
  until [ "${s:-0}" -ge "$m" ]; do
    sleep 0.05
    s="$(max_offset "$slave_addr")"
    if [ "$first_ns" = 0 ] && [ "${s:-0}" -gt 0 ]; then first_s=$s first_ns=$(date +%s%N); fi
  done
  local now; now=$(date +%s%N)
  # From the slave's boot line (a JVM takes seconds to get there; rmq milliseconds), and from
  # the first bytes it reported (without the wait for the master's address and the connection).
  local ms=$(((now - t0) / 1000000 - boot_ms)) stream_ms=$(((now - first_ns) / 1000000))
  local min
  min="$("$BIN/mqadmin" -n "$NS" brokerStatus -b "$slave_addr" | awk '$1 == "commitLogMinOffset" {print $3}')"
  stop "$slave_pid"; stop "$master_pid"; stop "$ns_pid"
  rm -rf "$dir"
  results+=("catchup-$impl $((m - min)) $ms $((m - first_s)) $stream_ms")
  echo "== ${results[-1]}" >&2
}

disk_run() {
  local t0 ms
  t0=$(date +%s%N)
  dd if=/dev/zero of="$WORK/dd.bin" bs=1M count="$CATCHUP_MIB" conv=fdatasync status=none
  ms=$((($(date +%s%N) - t0) / 1000000))
  rm -f "$WORK/dd.bin"
  results+=("disk $((CATCHUP_MIB * 1048576)) $ms")
}

impls=(rmq)
[ "$APACHE" = 1 ] && impls+=(apache)
if [[ " $PARTS " = *" produce "* ]]; then
  for impl in "${impls[@]}"; do
    produce_run "$impl" SYNC_MASTER
    produce_run "$impl" ASYNC_MASTER
  done
fi
if [[ " $PARTS " = *" catchup "* ]]; then
  for impl in "${impls[@]}"; do catch_up_run "$impl"; done
  disk_run
fi

python3 - "$CONCURRENCY" "$SIZE" "${results[@]}" <<'PY'
import sys
conc, size, rows = sys.argv[1], sys.argv[2], sys.argv[3:]
runs, other = {}, {}
for row in rows:
    f = row.split()
    if f[0].startswith(("rmq-", "apache-")):
        runs[f[0]] = dict(zip(["tps", "ok", "failed", "p50", "p99", "m_rss", "m_anon", "s_rss", "s_anon", "caught"],
                              map(float, f[1:])))
    else:
        other[f[0]] = [int(x) for x in f[1:]]
if runs:
    print(f"\nmqbench produce -c {conc} -s {size}, master + slave on one machine")
    print(f"{'':20}{'sends/s':>10}{'failed':>8}{'p50 ms':>9}{'p99 ms':>9}{'master RSS':>12}{'(anon)':>8}{'slave RSS':>11}{'(anon)':>8}")
for label, r in runs.items():
    print(f"{label:20}{r['tps']:>10.0f}{r['failed']:>8.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['m_rss']:>10.0f}Mi{r['m_anon']:>6.0f}Mi"
          f"{r['s_rss']:>9.0f}Mi{r['s_anon']:>6.0f}Mi" + ("" if r["caught"] else "  (slave did NOT catch up)"))
for impl in ("rmq", "apache"):
    s, a = runs.get(f"{impl}-SYNC_MASTER"), runs.get(f"{impl}-ASYNC_MASTER")
    if s and a:
        print(f"{impl}: SYNC_MASTER / ASYNC_MASTER throughput {s['tps'] / a['tps']:.2f}x (goal >= 0.9x), p99 {s['p99'] / a['p99']:.2f}x")
r, a = runs.get("rmq-SYNC_MASTER"), runs.get("apache-SYNC_MASTER")
if r and a:
    print(f"rmq / apache, SYNC_MASTER + slave: throughput {r['tps'] / a['tps']:.2f}x (goal >= 2x), p99 {r['p99'] / a['p99']:.2f}x "
          f"(goal <= 0.5x), RSS master+slave {(r['m_rss'] + r['s_rss']) / (a['m_rss'] + a['s_rss']):.3f}x (goal <= 0.1x), "
          f"anon {(r['m_anon'] + r['s_anon']) / (a['m_anon'] + a['s_anon']):.3f}x")
if "disk" in other:
    db, dms = other["disk"]
    d = db / 1e6 / (dms / 1000)
    print(f"disk sequential write (dd bs=1M conv=fdatasync, same file system): {d:.0f} MB/s")
    for impl in ("rmq", "apache"):
        if f"catchup-{impl}" in other:
            cb, cms, sb, sms = other[f"catchup-{impl}"]
            c, st = cb / 1e6 / (cms / 1000), sb / 1e6 / (max(sms, 1) / 1000)
            print(f"empty {impl} slave catch-up: {cb / 1048576:.0f} MiB in {cms / 1000:.2f} s from its boot line = {c:.0f} MB/s, "
                  f"{c / d:.2f}x the disk (goal >= 0.5x); from its first bytes: {st:.0f} MB/s, {st / d:.2f}x")
PY
