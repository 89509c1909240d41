#!/usr/bin/env python3
"""Summarises an A/B broker benchmark: BrokerBench's `BENCH key=value ...` lines for a base
setting and a variant (metrics off/on, ACL off/on, plaintext/TLS), one row per run, then the
variant/base ratio of the medians.

    ab-summary.py PREFIX BASE VARIANT NOTE 'BENCH label=PREFIX-BASE-1 ...' ...

Rows are matched to a setting by their label, `PREFIX-SETTING-ROUND`.
"""
import statistics
import sys

COLS = [("produce_tps", "produce msg/s", "{:.0f}"),
        ("cpu_us_per_produced", "CPU µs/produced", "{:.1f}"),
        ("cpu_us_per_consumed", "CPU µs/consumed", "{:.1f}")]


def main(prefix, base, variant, note, lines):
    rows = [dict(p.split("=", 1) for p in line.split()[1:]) for line in lines]
    print()
    print(f"{'':20}" + "".join(f"{c[1]:>18}" for c in COLS))
    for kv in rows:
        print(f"{kv['label']:20}" + "".join(f"{c[2].format(float(kv[c[0]])):>18}" for c in COLS)
              + ("" if kv.get("complete") == "true" else "  (consume INCOMPLETE)"))
    med = {m: {c[0]: statistics.median(float(r[c[0]]) for r in rows
                                       if r["label"].startswith(f"{prefix}-{m}-"))
               for c in COLS} for m in (base, variant)}
    title = f"{variant}/{base} (medians)"
    print(f"{title:20}" + "".join(f"{med[variant][c[0]] / med[base][c[0]]:>17.3f}x" for c in COLS))
    print(f"\n({note})")


if __name__ == "__main__":
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
