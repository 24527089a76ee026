#!/usr/bin/env bash
# The test command (README): installs what the tests need, then runs them.
#
#   scripts/test.sh [CARGO TEST ARGS...]
#
# 1. System packages, by name, when missing: Debian's chromium (headless
#    browser), poppler-utils (pdftotext) and nodejs/npm; the clients that
#    tests/serve connects to `cypdash serve` (postgresql-client for psql,
#    python3-psycopg, odbc-postgresql + unixodbc + python3-pyodbc, and
#    openssl for a test certificate); apt-get as root.
# 2. The browser checks' npm packages (axe-core, puppeteer-core), from
#    scripts/browser/package-lock.json (npm ci).
# 3. cargo test --workspace --locked --features cluster (the Rust suite: SQL,
#    CLI, report, serve and the Ballista cluster).
# 4. scripts/browser/check-report.sh: the report rendered, audited with
#    axe-core and printed to PDF in headless Chromium.
#
# CYPDASH_SKIP_BROWSER=1 skips 1, 2 and 4 (the Rust suite alone; the serve
# client tests whose client is not installed then say so and pass).
set -euo pipefail
cd "$(dirname "$0")/.."

browser=1
[[ ${CYPDASH_SKIP_BROWSER:-0} == 1 ]] && browser=0

if [[ $browser == 1 ]]; then
    missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    /usr/bin/python3 -c 'import psycopg' >/dev/null 2>&1 || missing+=(python3-psycopg)
    /usr/bin/python3 -c 'import pyodbc' >/dev/null 2>&1 || missing+=(python3-pyodbc)
    grep -qs '^\[PostgreSQL Unicode\]' /etc/odbcinst.ini || missing+=(odbc-postgresql unixodbc)
    if [[ ${#missing[@]} -gt 0 ]]; then
        if [[ $(id -u) -ne 0 ]]; then
            echo "missing ${missing[*]}: install them (apt-get install -y ${missing[*]}) or set CYPDASH_SKIP_BROWSER=1" >&2
            exit 1
        fi
        echo "== installing ${missing[*]} (apt-get)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    echo "== npm ci (scripts/browser)"
    (cd scripts/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== cargo test --workspace --locked --features cluster"
cargo test --workspace --locked --features cluster "$@"

if [[ $browser == 1 ]]; then
    echo "== report in headless Chromium (scripts/browser/check-report.sh)"
    scripts/browser/check-report.sh
fi
