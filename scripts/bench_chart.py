#!/usr/bin/env python3
"""Switch-latency chart and table from criterion's output.

Reads the medians that `cargo bench --bench switch` left in
target/criterion/<group>/<bench>/new/estimates.json, prints a markdown table
(with ratios to swapctx's coroutine round trip) and writes
docs/img/switch-latency.svg: one bar per implementation, on a log scale,
since the fastest and slowest differ by three orders of magnitude.

    cargo bench --bench switch
    python3 scripts/bench_chart.py [--cpu "AMD EPYC (2 vCPUs)"]
"""
import argparse
import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRIT = os.path.join(ROOT, "target", "criterion")

# (group directory, bench directory, label) in the order shown.
BENCHES = [
    ("round trip", "swapctx coroutine", "swapctx Coroutine resume+suspend"),
    ("round trip", "corosensei", "corosensei resume+suspend"),
    ("round trip", "context crate", "context crate (Boost asm port)"),
    ("round trip", "boost jump_fcontext", "Boost.Context jump_fcontext"),
    ("round trip", "swapctx raw switch", "swapctx raw::switch (full save)"),
    ("round trip", "glibc swapcontext", "glibc swapcontext"),
    ("round trip (kernel)", "two threads, one CPU", "two OS threads, one CPU"),
]


def median_ns(group, bench):
    path = os.path.join(CRIT, group, bench, "new", "estimates.json")
    try:
        with open(path) as f:
            est = json.load(f)
    except FileNotFoundError:
        return None
    return est["median"]["point_estimate"]


def fmt(ns):
    if ns >= 1000:
        return f"{ns / 1000:.2f} µs"
    return f"{ns:.2f} ns"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpu", default="", help="CPU named in the chart's title")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img", "switch-latency.svg"))
    args = ap.parse_args()

    rows = [(label, median_ns(g, b)) for g, b, label in BENCHES]
    rows = [(label, ns) for label, ns in rows if ns is not None]
    if not rows:
        sys.exit("no criterion results: run `cargo bench --bench switch` first")
    base = rows[0][1]

    print("| implementation | round trip (median) | one switch | × swapctx coroutine |")
    print("| --- | ---: | ---: | ---: |")
    for label, ns in rows:
        print(f"| {label} | {fmt(ns)} | {fmt(ns / 2)} | {ns / base:.2f} |")

    # The chart: label column, then a log-scale bar.
    width, left, right, bar_h, gap, top = 860, 270, 120, 22, 10, 56
    height = top + len(rows) * (bar_h + gap) + 40
    lo = math.floor(math.log10(min(ns for _, ns in rows)))
    hi = math.ceil(math.log10(max(ns for _, ns in rows)))
    span = width - left - right

    def x(ns):
        return left + span * (math.log10(ns) - lo) / (hi - lo)

    out = []
    out.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">')
    out.append(f'<rect width="{width}" height="{height}" fill="white"/>')
    title = "Switch latency: one round trip (two switches), median, log scale"
    out.append(f'<text x="{left}" y="22" font-size="15" font-weight="bold">{title}</text>')
    if args.cpu:
        out.append(f'<text x="{left}" y="40" fill="#555">{args.cpu}; lower is better</text>')
    for p in range(lo, hi + 1):
        gx = x(10 ** p)
        out.append(f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" y2="{height - 30}" stroke="#ddd"/>')
        label = fmt(10 ** p).replace(".00", "")
        out.append(f'<text x="{gx:.1f}" y="{height - 14}" text-anchor="middle" fill="#555">{label}</text>')
    for i, (label, ns) in enumerate(rows):
        y = top + i * (bar_h + gap)
        colour = "#2a7ab9" if label.startswith("swapctx") else "#9a9a9a"
        out.append(f'<text x="{left - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">{label}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{max(x(ns) - left, 1):.1f}" height="{bar_h}" fill="{colour}"/>')
        out.append(f'<text x="{x(ns) + 6:.1f}" y="{y + bar_h * 0.7:.1f}">{fmt(ns)}</text>')
    out.append("</svg>")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"\nwrote {os.path.relpath(args.out, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
