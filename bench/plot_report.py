#!/usr/bin/env python3
"""bench/plot_report.py: the table and plots of bench/run.sh (called by it; standard library only).

    plot_report.py --out DIR [--reps N] [--spin-warning 0|1]

Reads DIR/raw.csv (every repetition: peer,workload,metric_name,value,rep), DIR/reps.txt
(program,workload,reps done,reps asked,why fewer), DIR/failures.txt (peer,workload,FAIL|timeout)
and DIR/meta.txt; writes DIR/results.csv (the medians, `peer,workload,metric_name,value`),
DIR/table.md (the markdown table with its notes, printed on stdout too) and, if gnuplot is
installed, the PNG plots: latency_W3.png, latency_W4.png (p50/p99/p99.9 per peer),
latency_W7.png (ns per round trip) and throughput.png (W1, W2, W6, W8 in million messages/s).
"""

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys

WEFT = ["weft", "weft-spin", "weft-fiber", "weft-actor"]
FLOOR = "floor"
PEER_ORDER = ["go", "boost-fiber", "moodycamel", "moodycamel-rwq", "tbb", "atomic_queue", "caf"]
WORKLOADS = ["L0", "L1", "W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9", "W10"]
NAMES = {
    "L0": "cacheline_rt", "L1": "spsc_ring", "W1": "spsc_bounded", "W2": "mpmc_bounded",
    "W3": "pingpong_bounded", "W4": "pingpong_unbuffered", "W5": "green_pingpong", "W6": "select4",
    "W7": "actor_ask", "W8": "actor_tell", "W9": "spawn_idle", "W10": "timeout_overshoot",
}
# Which floor a row is compared with: messages against L1's ns_per_msg, round trips and their
# percentiles against L0's ns_per_round_trip.
FLOOR_OF = {"ns_per_msg": ("L1", "ns_per_msg"), "ns_per_round_trip": ("L0", "ns_per_round_trip"),
            "p50_ns": ("L0", "ns_per_round_trip"), "p99_ns": ("L0", "ns_per_round_trip"),
            "p99.9_ns": ("L0", "ns_per_round_trip")}


def fmt(v):
    a = abs(v)
    if a >= 1000:
        return f"{v:.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 10:
        return f"{v:.2f}"
    return f"{v:.3f}"


def ratio(r):
    if r >= 10:
        return f"{r:.0f}"
    if r >= 0.1:
        return f"{r:.2f}"
    return f"{r:.2g}"


def wkey(w):
    return WORKLOADS.index(w) if w in WORKLOADS else len(WORKLOADS)


def read_rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return [r for r in csv.reader(f) if r]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--spin-warning", default="0")
    args = ap.parse_args()
    out = args.out

    # ---- medians
    values = {}  # (peer, workload, metric) -> [values]
    metric_order = {}  # workload -> [metrics in first-seen order]
    for r in read_rows(os.path.join(out, "raw.csv"))[1:]:
        if len(r) != 5:
            continue
        peer, w, m, v = r[0], r[1], r[2], r[3]
        try:
            x = float(v)
        except ValueError:
            continue
        values.setdefault((peer, w, m), []).append(x)
        metric_order.setdefault(w, [])
        if m not in metric_order[w]:
            metric_order[w].append(m)
    med = {k: statistics.median(v) for k, v in values.items()}
    with open(os.path.join(out, "results.csv"), "w") as f:
        for (peer, w, m) in sorted(med, key=lambda k: (wkey(k[1]), metric_order[k[1]].index(k[2]), k[0])):
            f.write(f"{peer},{w},{m},{med[(peer, w, m)]:.3f}\n")

    # ---- repetitions actually made, failures
    # reps.txt is per program ("weft" covers every weft variant and the floor).
    reps_done = {}
    fewer = []
    for r in read_rows(os.path.join(out, "reps.txt")):
        if len(r) < 4:
            continue
        prog, w, done, asked = r[0], r[1], int(r[2] or 0), int(r[3] or 0)
        why = ",".join(r[4:]) if len(r) > 4 else ""
        reps_done[(prog, w)] = done
        if done < asked and why not in ("failed", "timeout"):
            fewer.append(f"{w} / {prog}: median of {done} repetition{'s' if done != 1 else ''} ({why})")
    failed = {}
    for r in read_rows(os.path.join(out, "failures.txt")):
        if len(r) >= 3:
            failed[(r[0], r[1])] = r[2]

    def program_of(col):
        return "weft" if col in WEFT or col == FLOOR else col

    peers_seen = {k[0] for k in med} | {k[0] for k in failed} | {k[0] for k in reps_done}
    cols = [c for c in WEFT + [FLOOR] if c in peers_seen]
    cols += [p for p in PEER_ORDER if p in peers_seen]
    cols += sorted(p for p in peers_seen if p not in cols and p not in ("weft",))
    peer_cols = [c for c in cols if c not in WEFT and c != FLOOR]

    rows = []
    for w in sorted(metric_order, key=wkey):
        for m in metric_order[w]:
            rows.append((w, m))
    for (p, w) in failed:  # a workload that failed everywhere still gets a row
        if w not in metric_order:
            rows.append((w, "(failed)"))
    rows.sort(key=lambda x: wkey(x[0]))

    def cell(col, w, m):
        prog = program_of(col)
        f = failed.get((col, w))
        if f is None and prog != col and (col, w, m) not in med:
            f = failed.get((prog, w))  # weft's runner as a whole (a timeout)
        if f == "FAIL" or (f is not None and (col, w, m) not in med):
            return f
        if (col, w, m) not in med:
            return "N/A"
        s = fmt(med[(col, w, m)])
        done = reps_done.get((prog, w))
        if done is not None and done < args.reps:
            s += f" [n={done}]"
        return s

    header = ["workload", "metric"] + cols + ["weft/best peer", "weft/floor"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 2 + "---:|" * (len(header) - 2)]
    for (w, m) in rows:
        line = [f"{w} {NAMES.get(w, '')}".strip(), m] + [cell(c, w, m) for c in cols]
        weft_vals = [(med[(c, w, m)], c) for c in WEFT if (c, w, m) in med]
        peer_vals = [(med[(c, w, m)], c) for c in peer_cols if (c, w, m) in med]
        best_w = min(weft_vals) if weft_vals else None
        best_p = min(peer_vals) if peer_vals else None
        if best_w and best_p and best_p[0] > 0:
            line.append(f"{ratio(best_w[0] / best_p[0])} ({best_w[1]} / {best_p[1]})")
        else:
            line.append("–")
        fl = FLOOR_OF.get(m)
        if best_w and fl and (FLOOR, fl[0], fl[1]) in med and med[(FLOOR, fl[0], fl[1])] > 0:
            line.append(f"{ratio(best_w[0] / med[(FLOOR, fl[0], fl[1])])} ({best_w[1]} / {fl[0]})")
        else:
            line.append("–")
        lines.append("| " + " | ".join(line) + " |")

    meta = []
    if os.path.exists(os.path.join(out, "meta.txt")):
        with open(os.path.join(out, "meta.txt")) as f:
            meta = [l.rstrip("\n") for l in f if l.strip()]
    notes = ["", "Every metric: lower is better. Ratios take the best weft variant and the best peer of the row",
             "(named in brackets); below 1 weft is ahead. weft/floor: against L1 (messages) or L0 (round trips).",
             f"Each figure is the median of {args.reps} repetition{'s' if args.reps != 1 else ''} unless marked [n=k]. N/A: the peer has no",
             "such feature (never a stand-in). FAIL: a result check failed; timeout: a repetition was stopped."]
    if fewer:
        notes.append("")
        notes.append("Fewer repetitions:")
        notes += [f"- {x}" for x in fewer]
    if failed:
        notes.append("")
        notes.append("Failures: " + ", ".join(f"{p} {w} ({s})" for (p, w), s in sorted(failed.items())))
    if args.spin_warning == "1":
        notes.append("")
        notes.append("WARNING: fewer than 2 idle cores at the start: spin-mode figures (weft-spin, floor, atomic_queue)"
                     " are meaningless in this run.")
    table = "\n".join(lines)
    doc = "\n".join(["## Benchmark run", ""] + [f"- {m}" for m in meta] + ["", table] + notes) + "\n"
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(doc)
    sys.stdout.write(doc)

    plot(out, med, cols)


def plot(out, med, cols):
    gp = shutil.which("gnuplot")
    if not gp:
        print("plot_report.py: gnuplot not installed (apt-get install gnuplot-nox): no plots", file=sys.stderr)
        return
    pdir = os.path.join(out, "plots")
    os.makedirs(pdir, exist_ok=True)
    colors = ["#1f77b4", "#aec7e8", "#2ca02c", "#98df8a", "#7f7f7f", "#d62728", "#ff7f0e", "#9467bd",
              "#8c564b", "#e377c2", "#bcbd22", "#17becf"]
    script = ["set terminal png size 1000,560 font ',10' noenhanced", "set style data histograms",
              "set style histogram clustered gap 1", "set style fill solid 0.85 border -1", "set boxwidth 0.9",
              "set grid ytics", "set key outside right top", "set xtics rotate by -30"]
    script += [f"set linetype {i + 1} linecolor rgb '{c}'" for i, c in enumerate(colors)]
    script += ["set linetype cycle 12"]
    made = []
    for w in ("W3", "W4"):
        rows = [(c, [med.get((c, w, m)) for m in ("p50_ns", "p99_ns", "p99.9_ns")]) for c in cols]
        rows = [(c, v) for c, v in rows if all(x is not None and x > 0 for x in v)]
        if not rows:
            continue
        dat = os.path.join(pdir, f"latency_{w}.dat")
        with open(dat, "w") as f:
            f.write("peer p50 p99 p99.9\n")
            for c, v in rows:
                f.write(f"{c} {v[0]} {v[1]} {v[2]}\n")
        script += [f"set output '{os.path.join(out, f'latency_{w}.png')}'",
                   f"set title '{w} {NAMES[w]}: round-trip latency percentiles (ns, log scale; lower is better)'",
                   "set logscale y", "set ylabel 'ns'",
                   f"plot '{dat}' using 2:xtic(1) title 'p50', '' using 3 title 'p99', '' using 4 title 'p99.9'",
                   "unset logscale y"]
        made.append(f"latency_{w}.png")
    rows = [(c, med.get((c, "W7", "ns_per_round_trip"))) for c in cols]
    rows = [(c, v) for c, v in rows if v]
    if rows:
        dat = os.path.join(pdir, "latency_W7.dat")
        with open(dat, "w") as f:
            f.write("peer ns\n")
            for c, v in rows:
                f.write(f"{c} {v}\n")
        script += [f"set output '{os.path.join(out, 'latency_W7.png')}'",
                   "set title 'W7 actor_ask: ns per ask round trip (lower is better)'", "set ylabel 'ns'",
                   f"plot '{dat}' using 2:xtic(1) title 'ns per round trip'"]
        made.append("latency_W7.png")
    tws = ["W1", "W2", "W6", "W8"]
    tcols = [c for c in cols if any((c, w, "ns_per_msg") in med for w in tws)]
    if tcols:
        dat = os.path.join(pdir, "throughput.dat")
        with open(dat, "w") as f:
            f.write("workload " + " ".join(tcols) + "\n")
            for w in tws:
                vals = [med.get((c, w, "ns_per_msg")) for c in tcols]
                f.write(w + " " + " ".join(f"{1000.0 / v:.4f}" if v else "NaN" for v in vals) + "\n")
        script += [f"set output '{os.path.join(out, 'throughput.png')}'",
                   "set title 'Throughput, million messages per second (higher is better; missing bar: N/A)'",
                   "set ylabel 'M msg/s'", "set xtics norotate",
                   "plot " + ", ".join(f"'{dat}' using {i + 2}{':xtic(1)' if i == 0 else ''} title '{c}'"
                                       for i, c in enumerate(tcols))]
        made.append("throughput.png")
    gpfile = os.path.join(pdir, "plots.gp")
    with open(gpfile, "w") as f:
        f.write("\n".join(script) + "\n")
    r = subprocess.run([gp, gpfile], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"plot_report.py: gnuplot failed: {r.stderr.strip()}", file=sys.stderr)
    else:
        print(f"plot_report.py: plots: {', '.join(made)}", file=sys.stderr)


if __name__ == "__main__":
    main()
