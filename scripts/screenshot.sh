#!/usr/bin/env bash
# Render the dashboard report and photograph it with headless Chromium.
#
#   scripts/screenshot.sh [--html FILE] [--out DIR] [--pdf] [--chart ID]... [-- REPORT ARGS...]
#
# Without --html it renders the report first with
# `cypdash --data $DATA report --out DIR/dashboard.html REPORT ARGS...`
# (DATA defaults to data/demo; the binary is $CYPDASH when set, else the
# one `cargo test --workspace --features cluster` builds). It then writes into DIR (default
# target/report-shots):
#   cover.png              the top of the page (1280 x 1000)
#   chart-<id>.png         each chart block (--chart: only those named,
#                          e.g. who/severity_sdq), with scripts/browser's
#                          npm packages installed
#   dashboard.pdf          with --pdf: the page printed (A4 landscape, as the CSS asks)
#   page-NN.png            with --pdf and pdftoppm (poppler-utils): the printed
#                          pages, one or two per chart (headless --screenshot
#                          ignores #fragments, so the pages are how to see
#                          each chart)
#
# Chromium comes from Debian's `chromium` package; the script installs it
# with apt-get when it is missing and it runs as root.
set -euo pipefail

cd "$(dirname "$0")/.."
out=target/report-shots
html=""
pdf=0
report_args=()
charts=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --html) html="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --pdf) pdf=1; shift ;;
        --) shift; report_args=("$@"); break ;;
        --chart) charts+=("$2"); shift 2 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"

browser=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
done
if [[ -z "$browser" ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "installing chromium (apt-get)..." >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        browser=chromium
    else
        echo "no Chromium found: install Debian's chromium package (apt-get install -y chromium)" >&2
        exit 1
    fi
fi

if [[ -z "$html" ]]; then
    html="$out/dashboard.html"
    bin="${CYPDASH:-}"
    if [[ -z "$bin" ]]; then
        # The binary `cargo test --workspace` builds (one feature set on target/).
        cargo test --workspace --features cluster --no-run --quiet
        bin=./target/debug/cypdash
    fi
    "$bin" --quiet --data "${DATA:-data/demo}" report --out "$html" "${report_args[@]}"
fi
[[ -f "$html" ]] || { echo "no such file: $html" >&2; exit 1; }
url="file://$(realpath "$html")"

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
shoot() { # shoot URL PNG WIDTH HEIGHT
    "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$profile" \
        --window-size="$3,$4" --screenshot="$2" "$1" >/dev/null 2>&1
}

if [[ -d scripts/browser/node_modules ]]; then
    # One picture per chart block (cd scripts/browser && npm ci).
    node scripts/browser/shoot.mjs "$html" "$out" "${charts[@]}"
else
    shoot "$url" "$out/cover.png" 1280 1000
    echo "$out/cover.png"
fi
if [[ $pdf -eq 1 ]]; then
    "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --no-pdf-header-footer \
        --print-to-pdf="$out/dashboard.pdf" "$url" >/dev/null 2>&1
    echo "$out/dashboard.pdf"
    if command -v pdftoppm >/dev/null 2>&1; then
        pdftoppm -png -r 60 "$out/dashboard.pdf" "$out/page"
        ls "$out"/page-*.png
    fi
fi
