# Sourced by bench/broker-vs-apache.sh and bench/rocketmq-rust.sh: one broker with its own name
# server, measured with the stock Java 4.9.7 client (rmq.interop.bench.BrokerBench), and the
# summary table of all runs. Source it after scripts/lib.sh, then call release_bins rmq-namesrv
# rmq-broker, java_harness and work_dir; the caller sets SECS, THREADS and QUEUES.
#
# An implementation IMPL is started by a function start_IMPL (dashes as underscores) taking
# DIR FLUSH; its broker stores in $STORE and writes its output to $WORK/IMPL-FLUSH-broker.out; it
# sets NS_PID, NS_ADDR (HOST:PORT), BROKER_PID, BROKER_ADDR and READY_MS (broker launch to
# ready). rmq and Apache 4.9.7 are defined here; a script adds its own. STORE is DIR/store, or
# $STORE_ROOT/IMPL-FLUSH when the caller sets STORE_ROOT (and removes it on exit).

results=()

# start_rmq DIR FLUSH : rmq's release mqnamesrv and mqbroker on ephemeral ports.
start_rmq() {
  local dir="$1" flush="$2"
  start "rmq-$flush-ns" "$BIN/mqnamesrv" --listenPort 0 --kvConfigPath "$dir/kv.json"
  NS_PID=$PID NS_ADDR=$ADDR
  start "rmq-$flush-broker" "$BIN/mqbroker" -n "$NS_ADDR" --listenPort 0 --brokerIP1 127.0.0.1 \
    --brokerName broker-a --storePathRootDir "$STORE" --flushDiskType "$flush"
  BROKER_PID=$PID BROKER_ADDR=$ADDR READY_MS=$START_MS
}

# start_apache DIR FLUSH : Apache 4.9.7's NamesrvController and BrokerController (Maven Central)
# in child JVMs, the broker with a 1 GiB heap.
start_apache() {
  local dir="$1" flush="$2"
  start "apache-$flush-ns" java -Xmx256m -cp "$CP" rmq.interop.ApacheNamesrvMain --listenPort 0 \
    --kvConfigPath "$dir/kv.json"
  NS_PID=$PID NS_ADDR=$ADDR
  start "apache-$flush-broker" java -Xms1g -Xmx1g -XX:+UseG1GC "${JAVA_OPENS[@]}" -cp "$CP" \
    rmq.interop.ApacheBrokerMain -n "$NS_ADDR" --listenPort 0 --brokerIP1 127.0.0.1 \
    --brokerName broker-a --storePathRootDir "$STORE" --flushDiskType "$flush"
  BROKER_PID=$PID BROKER_ADDR=$ADDR READY_MS=$START_MS
}

# stack_bench IMPL FLUSH : starts IMPL's name server and broker in a new directory, notes the
# broker's RSS after 2 idle seconds (failing if it has exited), runs BrokerBench (broker_bench in
# scripts/lib.sh; its floor phase for $FLOOR_SECS, default half of $SECS, 0 to skip) and adds
# ready_ms and idle_rss_mib to its line in `results`; then stops both and removes the store.
stack_bench() {
  local impl="$1" flush="$2" dir="$WORK/$1-$2" idle_rss
  STORE="$dir/store"
  [ -z "${STORE_ROOT:-}" ] || STORE="$STORE_ROOT/$impl-$flush"
  mkdir -p "$dir"
  "start_${impl//-/_}" "$dir" "$flush"
  sleep 2
  if ! kill -0 "$BROKER_PID" 2>/dev/null; then
    echo "$impl $flush: the broker exited after it was ready; its output:" >&2
    tail -30 "$WORK/$impl-$flush-broker.out" >&2
    exit 1
  fi
  idle_rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$BROKER_PID/status")
  echo "== $impl $flush: broker $BROKER_ADDR (pid $BROKER_PID) ready in $READY_MS ms, idle RSS $idle_rss MiB" >&2
  local written_before written_after
  written_before="$(disk_written_bytes "$dir")"
  broker_bench "$impl-$flush" "$dir" "$NS_ADDR" "$BROKER_ADDR" "$BROKER_PID" \
    --floorSeconds "${FLOOR_SECS:-$(((SECS + 1) / 2))}"
  written_after="$(disk_written_bytes "$dir")"
  results[-1]+=" ready_ms=$READY_MS idle_rss_mib=$idle_rss"
  if [ -n "$written_before" ] && [ -n "$written_after" ]; then
    # Everything the machine wrote to that disk meanwhile, the store's syncs above all.
    echo "== $impl $flush: the disk wrote $(((written_after - written_before) / 1000000)) MB during the bench" >&2
  fi
  stop "$BROKER_PID"
  stop "$NS_PID"
  rm -rf "$STORE"
}

# stack_table RATIO... : prints every line of `results` as a table row (bench/broker-table.py),
# then one ratio row per RATIO, written "LABEL/LABEL=TITLE" (numerator, denominator, row title).
stack_table() {
  python3 "$ROOT/bench/broker-table.py" "$@" -- "${results[@]}"
}
