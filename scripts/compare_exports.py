#!/usr/bin/env python3
"""Compare two `cypdash export` directories chart by chart (issue 11).

    scripts/compare_exports.py BEFORE_DIR AFTER_DIR

Every CSV of either directory must be in the other with the same header and
the same rows in the same order; cells equal as text, or both numbers equal
to 1e-12 relative (|a - b| <= 1e-12 * max(|a|, |b|), or both within 1e-300
of zero). Prints one line per file and a summary; exits 1 on any difference.
"""

import csv
import math
import sys
from pathlib import Path

REL = 1e-12


def cell_equal(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    if math.isnan(x) and math.isnan(y):
        return True
    scale = max(abs(x), abs(y))
    return abs(x - y) <= REL * scale or scale < 1e-300


def read(path: Path):
    with path.open(newline="") as f:
        return list(csv.reader(f))


def compare(before: Path, after: Path) -> int:
    names = sorted({p.name for p in before.glob("*.csv")} | {p.name for p in after.glob("*.csv")})
    bad = 0
    rows_total = 0
    for name in names:
        a, b = before / name, after / name
        if not a.exists() or not b.exists():
            print(f"DIFF {name}: only in {'after' if not a.exists() else 'before'}")
            bad += 1
            continue
        ra, rb = read(a), read(b)
        problem = None
        if ra[:1] != rb[:1]:
            problem = f"header {ra[:1]} != {rb[:1]}"
        elif len(ra) != len(rb):
            problem = f"{len(ra) - 1} rows before, {len(rb) - 1} after"
        else:
            for i, (x, y) in enumerate(zip(ra, rb)):
                if len(x) != len(y) or not all(cell_equal(p, q) for p, q in zip(x, y)):
                    problem = f"line {i + 1}: {x} != {y}"
                    break
        if problem:
            print(f"DIFF {name}: {problem}")
            bad += 1
        else:
            rows_total += len(ra) - 1
            print(f"same {name} ({len(ra) - 1} rows)")
    print(f"{len(names) - bad} of {len(names)} CSV files identical ({rows_total} rows); {bad} differ")
    return 1 if bad or not names else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(compare(Path(sys.argv[1]), Path(sys.argv[2])))
