#!/usr/bin/env bash
# A local Apache Ballista cluster of cypdash processes: one scheduler and two
# executors on this machine (docs/cluster.md).
#
#   scripts/cluster.sh start    start them (logs and pids in target/cluster/)
#   scripts/cluster.sh status   which are running
#   scripts/cluster.sh stop     stop them
#
# Then run any command against it, with the block cache on a path every
# executor reads (here the same machine, so any folder):
#
#   cypdash --cluster df://localhost:50050 --cache target/cluster/cache dashboard
#
# The binary is $CYPDASH_BIN, else target/release/cypdash, which must be
# built with the cluster feature: cargo build --release --features cluster.
# Ports: SCHEDULER_PORT (50050); executor i listens on 50051+10*i (Arrow
# Flight) and 50052+10*i (gRPC). EXECUTORS (2) and EXECUTOR_CONCURRENCY
# (default: the number of cores) set the executors.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${CYPDASH_BIN:-target/release/cypdash}
run=target/cluster
port=${SCHEDULER_PORT:-50050}
executors=${EXECUTORS:-2}

running() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_port() {
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1 after 30 s: see $run/*.log" >&2
    return 1
}

start() {
    if [[ ! -x $bin ]]; then
        echo "no binary at $bin: cargo build --release --features cluster (or set CYPDASH_BIN)" >&2
        exit 1
    fi
    if ! "$bin" cluster --help >/dev/null 2>&1; then
        echo "$bin was built without the cluster feature: cargo build --release --features cluster" >&2
        exit 1
    fi
    mkdir -p "$run"
    if running "$run/scheduler.pid"; then
        echo "already running (scripts/cluster.sh stop first)" >&2
        exit 1
    fi
    "$bin" cluster scheduler --bind "127.0.0.1:$port" >"$run/scheduler.log" 2>&1 &
    echo $! >"$run/scheduler.pid"
    wait_port "$port"
    for i in $(seq 0 $((executors - 1))); do
        flight=$((port + 1 + 10 * i))
        grpc=$((port + 2 + 10 * i))
        mkdir -p "$run/executor-$i"
        args=(cluster executor --scheduler "df://127.0.0.1:$port" --port "$flight"
            --grpc-port "$grpc" --work-dir "$run/executor-$i")
        [[ -n ${EXECUTOR_CONCURRENCY:-} ]] && args+=(--concurrency "$EXECUTOR_CONCURRENCY")
        "$bin" "${args[@]}" >"$run/executor-$i.log" 2>&1 &
        echo $! >"$run/executor-$i.pid"
        wait_port "$flight"
    done
    sleep 1
    echo "scheduler on df://localhost:$port with $executors executors (logs in $run/)"
    echo "try: $bin --cluster df://localhost:$port --cache $run/cache dashboard"
}

stop() {
    for pid in "$run"/*.pid; do
        [[ -f $pid ]] || continue
        if running "$pid"; then kill "$(cat "$pid")" 2>/dev/null || true; fi
        rm -f "$pid"
    done
    echo "stopped"
}

status() {
    for pid in "$run"/*.pid; do
        [[ -f $pid ]] || { echo "not running"; return; }
        name=$(basename "$pid" .pid)
        if running "$pid"; then echo "$name: running (pid $(cat "$pid"))"; else echo "$name: gone"; fi
    done
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: scripts/cluster.sh start|status|stop" >&2; exit 2 ;;
esac
