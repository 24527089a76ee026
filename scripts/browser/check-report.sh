#!/usr/bin/env bash
# The report in headless Chromium (issue 14): renders it from generated data
# with 20, 40 and 60 partnerships, with and without a highlighted
# partnership, and at team level, then
#   - audits it with axe-core (WCAG 2.2 A and AA, best practices): no violation
#     of moderate or higher impact (minor ones are listed);
#   - prints it to PDF and reads every page (pdftotext): no page holding only
#     a footnote or a lone title;
#   - measures the funnel labels with the browser's fonts: none overlap.
# Needs the debug cypdash binary (built by `cargo test --workspace`, in
# target/ or $CARGO_TARGET_DIR), Debian's
# chromium and poppler-utils, and `npm ci` in scripts/browser: scripts/test.sh
# installs them. Results go to target/report-checks/.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${CARGO_TARGET_DIR:-target}/debug/cypdash
out=target/report-checks
node=scripts/browser/checks.mjs
[[ -x $bin ]] || { echo "no $bin: run cargo test --workspace first" >&2; exit 1; }
mkdir -p "$out"

reports=()
for p in 20 40 60; do
    data="$out/data-p$p"
    [[ -f $data/referral.parquet ]] || "$bin" --quiet generate --out "$data" --referrals $((p * 1000)) --partnerships "$p" --seed 7 >/dev/null
    "$bin" --quiet --data "$data" report --out "$out/p$p.html"
    "$bin" --quiet --data "$data" report --out "$out/p$p-highlight.html" --partnership 3
    reports+=("$out/p$p.html" "$out/p$p-highlight.html")
done
"$bin" --quiet --data "$out/data-p60" report --out "$out/p60-teams.html" --level service --service 31

status=0
node "$node" axe "$out/p20-highlight.html" "$out/p60-teams.html" | tee "$out/axe.txt" || status=1
node "$node" print "$out/pdf" "${reports[@]}" | tee "$out/print.txt" || status=1
node "$node" labels "$out/p60-highlight.html" "$out/p60-teams.html" | tee "$out/labels.txt" || status=1
if [[ $status -eq 0 ]]; then
    echo "browser-checks: 3 passed, 0 failed"
else
    echo "report browser checks failed (see $out)" >&2
fi
exit $status
