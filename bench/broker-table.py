"""The summary table of bench/broker-vs-apache.sh and bench/rocketmq-rust.sh (via stack_table in
bench/broker-stacks.sh): one row per BrokerBench `BENCH key=value ...` line, then ratio rows.

    broker-table.py [NUM/DEN=TITLE ...] -- BENCH-LINE...

NUM and DEN are row labels; a ratio row whose labels are missing is left out.
"""
import sys

COLS = [("produce_tps", "produce msg/s", "{:.0f}"), ("p50_ms", "send p50 ms", "{:.2f}"),
        ("p99_ms", "send p99 ms", "{:.2f}"), ("consume_tps", "consume msg/s", "{:.0f}"),
        ("rss_max_mib", "RSS max MiB", "{:.0f}"), ("anon_max_mib", "anon max MiB", "{:.0f}"),
        ("idle_rss_mib", "idle RSS MiB", "{:.0f}"), ("ready_ms", "start-ready ms", "{:.0f}"),
        ("cpu_us_per_produced", "CPU µs/produced", "{:.1f}"),
        ("cpu_us_per_consumed", "CPU µs/consumed", "{:.1f}"),
        ("cpu_us_per_floor", "CPU µs/floor", "{:.1f}")]


def cell(kv, col):
    """A row's value in a column, or "-" when its line has none (a run without a floor phase)."""
    key, _, fmt = col
    return fmt.format(float(kv[key])) if key in kv else "-"


def ratio_cell(num, den, col):
    key = col[0]
    if key not in num or key not in den:
        return f"{'-':>16}"
    d = float(den[key])
    return f"{(float(num[key]) / d if d else float('nan')):>15.2f}x"


def main(argv):
    split = argv.index("--")
    ratios, lines = argv[:split], argv[split + 1:]
    rows = {}
    for line in lines:
        kv = dict(p.split("=", 1) for p in line.split()[1:])
        rows[kv["label"]] = kv
    titles = [r.split("=", 1)[1] for r in ratios]
    width = max([22] + [len(t) for t in list(rows) + titles])
    print()
    print(f"{'':{width}}" + "".join(f"{c[1]:>16}" for c in COLS))
    for label, kv in rows.items():
        print(f"{label:{width}}" + "".join(f"{cell(kv, c):>16}" for c in COLS)
              + ("" if kv.get("complete") == "true" else "  (consume INCOMPLETE)"))
    for ratio in ratios:
        pair, title = ratio.split("=", 1)
        num, den = pair.split("/", 1)
        r, a = rows.get(num), rows.get(den)
        if not r or not a:
            continue
        print(f"{title:{width}}" + "".join(ratio_cell(r, a, c) for c in COLS))
    print("\n(ratios > 1 are better for msg/s columns, < 1 better for the others)")


if __name__ == "__main__":
    main(sys.argv[1:])
