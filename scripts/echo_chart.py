#!/usr/bin/env python3
"""Echo-server chart and table from examples/echo_bench.rs's CSV.

Reads the CSV that `echo_bench --csv FILE` wrote (one line per server and
number of connections), prints a markdown table (with ratios to tokio's
figures at the same number of connections) and writes
docs/img/echo-servers.svg: three panels of grouped bars (messages per
second, the server's CPU time per message, resident memory per idle
connection), one group per number of connections, one bar per server.

    cargo run --release --example echo_bench -- --csv target/echo_bench.csv
    python3 scripts/echo_chart.py target/echo_bench.csv [--cpu "AMD EPYC (2 vCPUs)"]
"""
import argparse
import csv
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVERS = [
    ("swapctx", "swapctx event loop (1 thread)", "#2a7ab9"),
    ("tokio", "tokio current-thread (1 thread)", "#9a9a9a"),
    ("threads", "thread per connection", "#d08a3c"),
]


def load(path):
    rows = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            rows[(r["server"], int(r["conns"]))] = r
    return rows


def table(rows, conns):
    print("| server | connections | messages/s | p50 | p99 | RSS per connection | threads "
          "| server CPU per message | messages/s ÷ tokio | RSS ÷ tokio | CPU ÷ tokio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in conns:
        tokio = rows.get(("tokio", n))
        for key, label, _ in SERVERS:
            r = rows.get((key, n))
            if r is None:
                print(f"| {label} | {n:,} | (failed: see the program's output) | | | | | | | | |")
                continue
            tput, rss = float(r["msgs_per_s"]), float(r["rss_per_conn_kib"])
            cpu = float(r["cpu_us_per_msg"])
            ratio_t = f"{tput / float(tokio['msgs_per_s']):.2f}" if tokio else ""
            ratio_r = f"{rss / float(tokio['rss_per_conn_kib']):.2f}" if tokio else ""
            ratio_c = f"{cpu / float(tokio['cpu_us_per_msg']):.2f}" if tokio else ""
            bold = "**" if key == "swapctx" else ""
            print(f"| {bold}{label}{bold} | {n:,} | {tput:,.0f} | "
                  f"{float(r['p50_us']) / 1000:.3f} ms | {float(r['p99_us']) / 1000:.3f} ms | "
                  f"{rss:.1f} KiB | {int(r['threads']):,} | {cpu:.2f} µs | {ratio_t} | {ratio_r} "
                  f"| {ratio_c} |")


def panel(out, x0, y0, w, h, title, unit, rows, conns, field):
    values = [float(rows[(k, n)][field]) for n in conns for k, _, _ in SERVERS if (k, n) in rows]
    top = max(values) * 1.15 if values else 1
    out.append(f'<text x="{x0}" y="{y0 - 10}" font-size="14" font-weight="bold">{title}</text>')
    out.append(f'<line x1="{x0}" y1="{y0 + h}" x2="{x0 + w}" y2="{y0 + h}" stroke="#999"/>')
    group_w = w / len(conns)
    bar_w = group_w * 0.8 / len(SERVERS)
    for gi, n in enumerate(conns):
        gx = x0 + gi * group_w + group_w * 0.1
        out.append(f'<text x="{gx + group_w * 0.4:.1f}" y="{y0 + h + 18}" text-anchor="middle">'
                   f'{n:,} connections</text>')
        for si, (key, _, colour) in enumerate(SERVERS):
            r = rows.get((key, n))
            bx = gx + si * bar_w
            if r is None:
                out.append(f'<text x="{bx + bar_w / 2:.1f}" y="{y0 + h - 4}" text-anchor="middle" '
                           f'font-size="11">failed</text>')
                continue
            v = float(r[field])
            bh = h * v / top
            out.append(f'<rect x="{bx:.1f}" y="{y0 + h - bh:.1f}" width="{bar_w - 2:.1f}" '
                       f'height="{bh:.1f}" fill="{colour}"/>')
            label = f"{v / 1000:.0f}k" if field == "msgs_per_s" else f"{v:.1f}"
            if field == "cpu_us_per_msg":
                label = f"{v:.2f}"
            out.append(f'<text x="{bx + bar_w / 2:.1f}" y="{y0 + h - bh - 4:.1f}" '
                       f'text-anchor="middle" font-size="11">{label}</text>')
    out.append(f'<text x="{x0 + w}" y="{y0 - 10}" text-anchor="end" fill="#555">{unit}</text>')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv", help="the file echo_bench --csv wrote")
    ap.add_argument("--cpu", default="", help="machine named in the chart")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img", "echo-servers.svg"))
    args = ap.parse_args()
    rows = load(args.csv)
    if not rows:
        sys.exit(f"{args.csv} has no results")
    conns = sorted({n for _, n in rows})
    table(rows, conns)

    width, height = 1000, 330
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           '<text x="20" y="22" font-size="15" font-weight="bold">Echo servers, 64-byte '
           'messages, one run</text>']
    if args.cpu:
        out.append(f'<text x="20" y="40" fill="#555">{args.cpu}</text>')
    panel(out, 30, 80, 290, 180, "Messages per second", "higher is better", rows, conns,
          "msgs_per_s")
    panel(out, 360, 80, 290, 180, "Server CPU per message", "µs, lower is better", rows, conns,
          "cpu_us_per_msg")
    panel(out, 690, 80, 290, 180, "RSS per idle connection", "KiB, lower is better",
          rows, conns, "rss_per_conn_kib")
    for i, (_, label, colour) in enumerate(SERVERS):
        lx = 30 + i * 290
        out.append(f'<rect x="{lx}" y="{height - 22}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 18}" y="{height - 12}">{label}</text>')
    out.append("</svg>")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"\nwrote {os.path.relpath(args.out, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
