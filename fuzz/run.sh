#!/usr/bin/env bash
# Runs every fuzz target for the given number of seconds each (default 60), one after another.
# Usage: fuzz/run.sh [seconds] [extra libFuzzer args...]
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
shift || true
targets=(frame_decoder header_decoders fastjson_reader)
cargo +nightly fuzz build -a
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "=== $t: ${secs}s ==="
    # First corpus dir is where new inputs go; the checked-in seeds are read only.
    cargo +nightly fuzz run -a "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -dict=dicts/remoting.dict -print_final_stats=1 "$@" \
        2>&1 | tee "$t.log" | grep -E '^(#[0-9]+ +DONE|Done|stat::|==[0-9]+==|SUMMARY|thread)' || true
    if ls "artifacts/$t"/crash-* "artifacts/$t"/leak-* "artifacts/$t"/timeout-* "artifacts/$t"/oom-* >/dev/null 2>&1; then
        echo "!!! $t: findings in fuzz/artifacts/$t (see fuzz/$t.log)"
    fi
done
