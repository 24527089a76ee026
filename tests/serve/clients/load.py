"""Load on `cypdash serve`: CLIENTS concurrent connections (threads, psycopg),
each running QUERIES queries that alternate charts (views with their
defaults and chart() with other min_n) and ad hoc SQL over the input tables.
Prints one JSON object: failures (with the first messages), queries per
second, p50 and p99 latency in ms.

Usage: load.py PORT CLIENTS QUERIES
"""
import json
import sys
import threading
import time

import psycopg

port, clients, queries = (int(a) for a in sys.argv[1:4])
MIX = [
    "SELECT * FROM charts.who__gender",
    "SELECT * FROM chart('outcomes/reliable_improvement', 'min_n', '{k}')",
    "SELECT service_id, count(*) FROM referral WHERE referral_date >= DATE '2024-0{m}-01' GROUP BY service_id ORDER BY service_id",
    "SELECT * FROM charts.outcomes__sdq_change",
    "SELECT r.service_id, count(DISTINCT c.referral_id) FROM referral r JOIN contact c USING (referral_id) GROUP BY r.service_id",
    "SELECT * FROM chart('who/age', 'min_n', '{k}')",
]
latencies = []
failures = []
lock = threading.Lock()


def client(i):
    try:
        with psycopg.connect(host="127.0.0.1", port=port, dbname="cypdash", user="load%d" % i, autocommit=True) as conn:
            for q in range(queries):
                text = MIX[(i + q) % len(MIX)].format(k=5 + (i + q) % 6, m=1 + (i + q) % 9)
                started = time.perf_counter()
                try:
                    rows = conn.execute(text).fetchall()
                    if not rows:
                        raise RuntimeError("no rows from " + text)
                    with lock:
                        latencies.append(time.perf_counter() - started)
                except Exception as e:  # noqa: BLE001 (every failure is reported)
                    with lock:
                        failures.append("%s: %s" % (text, e))
    except Exception as e:  # noqa: BLE001
        with lock:
            failures.append("client %d: %s" % (i, e))


started = time.perf_counter()
threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.perf_counter() - started
latencies.sort()


def pct(p):
    return round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1) if latencies else None


print(json.dumps({
    "queries": len(latencies),
    "failures": len(failures),
    "first_failures": failures[:5],
    "seconds": round(elapsed, 2),
    "qps": round(len(latencies) / elapsed, 1),
    "p50_ms": pct(0.50),
    "p99_ms": pct(0.99),
}))
