"""Python psycopg (3) against `cypdash serve`: server-side parameters,
binary results, a prepared statement reused, a chart with parameters, and
the errors a client sees. Prints one JSON object for tests/serve/clients.rs.

Usage: psycopg_client.py PORT
"""
import json
import sys

import psycopg
from psycopg import sql

port = int(sys.argv[1])
out = {}
with psycopg.connect(host="127.0.0.1", port=port, dbname="cypdash", user="analyst") as conn:
    # psycopg 3 binds server-side: the text says $1, the value travels apart
    # (extended protocol: Parse, Bind, Execute).
    cur = conn.execute("SELECT count(*) FROM referral WHERE service_id = %s", (17,))
    out["referrals_of_service_17"] = cur.fetchone()[0]
    with conn.cursor(binary=True) as cur:
        cur.execute(
            "SELECT service_id, count(*) AS n, min(referral_date) AS first "
            "FROM referral GROUP BY service_id ORDER BY service_id LIMIT 3"
        )
        out["binary_rows"] = [[r[0], r[1], r[2].isoformat()] for r in cur.fetchall()]
    # The same statement prepared once and executed with several values.
    out["prepared"] = [
        conn.execute(
            "SELECT count(*) FROM referral WHERE service_id = %s", (s,), prepare=True
        ).fetchone()[0]
        for s in (17, 49)
    ]
    # chart()'s arguments are constants of the query text: psycopg.sql.Literal.
    query = sql.SQL("SELECT * FROM chart({}, 'min_n', {})").format(
        sql.Literal("outcomes/reliable_improvement"), sql.Literal("10")
    )
    cur = conn.execute(query)
    out["chart_columns"] = [d.name for d in cur.description]
    out["chart_rows"] = len(cur.fetchall())
    for name, statement, params in [
        ("chart_bound_parameter", "SELECT * FROM chart(%s)", ("who/gender",)),
        ("create_table", "CREATE TABLE t (a int)", None),
        ("unknown_chart_parameter", "SELECT * FROM chart('who/gender', 'min_m', '3')", None),
    ]:
        try:
            conn.execute(statement, params)
            out[name] = None
        except psycopg.Error as e:
            out[name] = {"sqlstate": e.sqlstate, "message": str(e)}
            conn.rollback()
print(json.dumps(out))
