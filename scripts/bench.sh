#!/usr/bin/env bash
# Benchmark cypdash over generated data sets and compare with its baselines.
#
#   scripts/bench.sh [SIZES] [REPS]        e.g. scripts/bench.sh "20000 250000 1000000" 3
#
# For each size: generate (cached in bench-data/<size>/, seed 7), then in one
# process time opening, the scan floor, SDQ scoring, scoring every
# questionnaire, every chart and all charts (`cypdash bench`), record peak
# memory (/usr/bin/time -v), run the DuckDB baselines on the same files (SDQ
# scoring and one chart: scripts/duckdb_baseline.py; the whole dashboard:
# scripts/duckdb_dashboard.py), and time `cypdash export` of every chart with
# and without --memory-limit 1GiB.
# Results: bench-data/results-<size>.json and a summary table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${1:-"20000 250000 1000000"}
REPS=${2:-3}
BIN=target/release/cypdash
OUT=bench-data

cargo build --release --quiet
mkdir -p "$OUT"

if ! python3 -c "import duckdb, pyarrow" 2>/dev/null; then
  pip install --quiet duckdb pyarrow || echo "warning: duckdb or pyarrow could not be installed; skipping the DuckDB baselines" >&2
fi

peak_mib() {  # peak RSS in MiB of a command, from GNU time
  local log; log=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || { cat "$log" >&2; rm -f "$log"; return 1; }
  awk -F: '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log"
  rm -f "$log"
}

for n in $SIZES; do
  data="$OUT/$n"
  partnerships=$(( n / 5000 < 20 ? 20 : n / 5000 ))
  if [ ! -f "$data/.complete" ]; then
    rm -rf "$data"
    $BIN --quiet generate --out "$data" --referrals "$n" --partnerships "$partnerships" --seed 7 --files-per-table 4
    touch "$data/.complete"
  fi
  echo "== $n referrals ($partnerships partnerships)" >&2
  $BIN --data "$data" bench --reps "$REPS" --format json > "$OUT/results-$n.json"
  bench_peak=$(peak_mib $BIN --data "$data" bench --reps 1 --format json)
  export_dir=$(mktemp -d)
  t0=$(date +%s.%N); export_peak=$(peak_mib $BIN --quiet --data "$data" export --out "$export_dir" --format parquet); t1=$(date +%s.%N)
  t2=$(date +%s.%N); limited_peak=$(peak_mib $BIN --quiet --data "$data" --memory-limit 1GiB export --out "$export_dir" --format parquet); t3=$(date +%s.%N)
  rm -rf "$export_dir"
  duck='{}'
  dashboard='{}'
  if python3 -c "import duckdb, pyarrow" 2>/dev/null; then
    duck=$(python3 scripts/duckdb_baseline.py "$data" "$REPS")
    dashboard=$(python3 scripts/duckdb_dashboard.py "$data" "$REPS")
  fi
  python3 - "$OUT/results-$n.json" "$bench_peak" "$export_peak" "$limited_peak" \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)" "$duck" "$dashboard" <<'PY'
import json, sys
path, bench_peak, export_peak, limited_peak, export_s, limited_s, duck, dashboard = sys.argv[1:]
r = json.load(open(path))
r["peak_rss_mib_bench"] = float(bench_peak)
r["export"] = {"seconds": float(export_s), "peak_rss_mib": float(export_peak),
               "memory_limit_1gib_seconds": float(limited_s), "memory_limit_1gib_peak_rss_mib": float(limited_peak)}
r["duckdb"] = json.loads(duck)
r["duckdb_dashboard"] = json.loads(dashboard)
json.dump(r, open(path, "w"), indent=1)
PY
done

python3 scripts/bench_summary.py $(for n in $SIZES; do echo "$OUT/results-$n.json"; done)
