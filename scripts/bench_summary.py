#!/usr/bin/env python3
"""Summarise bench-data/results-*.json as the Markdown tables of
docs/performance.md: min and median per step, and the target ratios."""
import json
import statistics
import sys


def mm(xs):
    return min(xs), statistics.median(xs)


# Steps that one engine computes as one and the other as two: cypdash pairs
# SDQ and RCADS in a step of its own (scale_t1_t2) and computes the bound
# views scale_change and severity_funnel as blocks; the DuckDB port pairs in
# outcome_pair, computes the two bound views inside the charts that read
# them, and counts proportion_funnel in a table of its own.
MERGED = {
    "scale_t1_t2": "outcome_pair",
    "scale_change": "(charts)",
    "severity_funnel": "(charts)",
    "proportion_funnel_counts": "proportion_funnel",
}


def block_rows(r):
    """(block, cypdash median s, DuckDB median s) for every shared block and
    the charts, in cypdash's order, steps computed as one merged (MERGED)."""
    ours, theirs, order = {}, {}, []
    for s in r["steps"]:
        name = s["step"].strip()
        if name.startswith("block _shared/"):
            name = MERGED.get(name[len("block _shared/"):], name[len("block _shared/"):])
        elif name == "all_charts":
            name = "(charts)"
        else:
            continue
        if name not in ours:
            order.append(name)
        ours[name] = ours.get(name, 0.0) + mm(s["seconds"])[1]
    for name, secs in ((r.get("duckdb_dashboard") or {}).get("blocks") or {}).items():
        name = MERGED.get(name, name)
        if name not in ours and name not in theirs:
            order.append(name)
        theirs[name] = theirs.get(name, 0.0) + statistics.median(secs)
    return [(n, ours.get(n), theirs.get(n)) for n in order]


def main(paths):
    results = [json.load(open(p)) for p in paths]
    print("| data | step | min s | median s | rows |")
    print("|---|---|---|---|---|")
    for r in results:
        for s in r["steps"]:
            lo, med = mm(s["seconds"])
            print(f"| {r['data']} | {s['step']} | {lo:.3f} | {med:.3f} | {s['rows']} |")
    print()
    print("| data | cypdash export s | DuckDB whole dashboard s (min / median) | export / DuckDB "
          "| DuckDB peak MiB |")
    print("|---|---|---|---|---|")
    for r in results:
        e = r.get("export", {}).get("seconds", float("nan"))
        d = r.get("duckdb_dashboard") or {}
        if d.get("dashboard"):
            lo, med = mm(d["dashboard"])
            print(f"| {r['data']} | {e:.2f} | {lo:.2f} / {med:.2f} | {e / med:.2f}x "
                  f"| {d.get('peak_rss_mib', float('nan')):.0f} |")
        else:
            print(f"| {r['data']} | {e:.2f} | not run | | |")
    for r in results:
        rows = block_rows(r)
        if not any(d is not None for _, _, d in rows):
            continue
        print()
        print(f"Blocks at {r['data']}, cypdash `bench` against `duckdb_dashboard.py` (median s; "
              f"{', '.join(f'{k} counted in {v}' for k, v in MERGED.items())}):")
        print()
        print("| block | cypdash s | DuckDB s | cypdash / DuckDB |")
        print("|---|---|---|---|")
        fmt = lambda x: "-" if x is None else f"{x:.3f}"
        for name, ours, theirs in rows:
            if max(ours or 0.0, theirs or 0.0) < 0.05:
                continue
            ratio = f"{ours / theirs:.2f}x" if ours and theirs else ""
            print(f"| {name} | {fmt(ours)} | {fmt(theirs)} | {ratio} |")
        ours = sum(o or 0.0 for _, o, _ in rows)
        theirs = sum(t or 0.0 for _, _, t in rows)
        print(f"| all of them | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f}x |")
    print()
    print("| data | scan floor s | all charts s | charts / floor | export s | export / floor "
          "| SDQ scoring s | DuckDB SDQ s | cypdash / DuckDB | reliable impr. s | DuckDB RI s "
          "| peak MiB (export) | 1 GiB limit: s, peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    totals = []
    for r in results:
        step = {s["step"]: s for s in r["steps"]}
        floor = mm(step["scan_floor"]["seconds"])[1]
        charts = mm(step["all_charts"]["seconds"])[1] + step["score_questionnaires"]["seconds"][0]
        sdq = mm(step["sdq_scoring"]["seconds"])[1]
        ri = mm(step["chart outcomes/reliable_improvement"]["seconds"])[1]
        d = r.get("duckdb") or {}
        dsdq = mm(d["sdq_scoring"])[1] if d.get("sdq_scoring") else float("nan")
        dri = mm(d["reliable_improvement"])[1] if d.get("reliable_improvement") else float("nan")
        e = r.get("export", {})
        print(f"| {r['data']} | {floor:.3f} | {charts:.3f} | {charts / floor:.1f}x | {e.get('seconds', float('nan')):.2f} "
              f"| {e.get('seconds', float('nan')) / floor:.1f}x | {sdq:.3f} | {dsdq:.3f} | {sdq / dsdq:.2f} "
              f"| {ri:.3f} | {dri:.3f} | {e.get('peak_rss_mib', float('nan')):.0f} "
              f"| {e.get('memory_limit_1gib_seconds', float('nan')):.2f}, {e.get('memory_limit_1gib_peak_rss_mib', float('nan')):.0f} |")
        totals.append((r["data"], charts, e.get("seconds")))
    for (d0, c0, e0), (d1, c1, e1) in zip(totals, totals[1:]):
        print(f"\nscaling {d0} -> {d1}: all charts x{c1 / c0:.2f}"
              + (f", export x{e1 / e0:.2f}" if e0 and e1 else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
