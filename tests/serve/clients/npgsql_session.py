"""A scripted session in the shape of Npgsql's (the .NET driver inside
Power BI's PostgreSQL connector), over libpq's low-level calls (psycopg's
pgconn) so that each protocol message is the one Npgsql sends:

1. startup as Npgsql does it (client_encoding UTF8, application_name);
2. its type loading, ONE simple-protocol Query message holding four
   statements (Npgsql src/Npgsql/PostgresDatabaseInfo.cs, LoadBackendTypes:
   `SELECT version();`, the types query, the composite fields query, the
   enum labels query). The queries here are written for this test with the
   same shape: pg_type joined to pg_proc on typreceive (arrays are the types
   received by array_recv), LEFT JOIN pg_range on rngtypid for a range's
   subtype, a multirange's range by a scalar subquery on rngmultitypid, the
   domain base type, then pg_namespace; composite fields from
   pg_attribute; enum labels from pg_enum;
3. `DISCARD ALL`, which Npgsql sends when a pooled connection is reused
   (Power BI pools), as a simple Query;
4. a query by the extended protocol with binary results, as Npgsql runs
   every command;
5. navigator-style listing of tables and columns by information_schema.

Prints one JSON object for tests/serve/clients.rs. Usage: npgsql_session.py PORT
"""
import json
import sys

from psycopg import pq

port = int(sys.argv[1])
conn = pq.PGconn.connect(
    (
        "host=127.0.0.1 port=%d dbname=cypdash user=analyst "
        "client_encoding=UTF8 application_name=PowerBI" % port
    ).encode()
)
if conn.status != pq.ConnStatus.OK:
    raise SystemExit("connect failed: %s" % conn.error_message.decode())

TYPES = """
SELECT ns.nspname, t.oid, t.typname, t.typtype, t.typnotnull, t.elemtypoid
FROM (
    SELECT typ.oid, typ.typnamespace, typ.typname, typ.typtype, typ.typnotnull,
           elem.oid AS elemtypoid, elem.typname AS elemtypname,
           CASE WHEN elemrecv.proname = 'array_recv' THEN 'a' ELSE elem.typtype END AS elemtyptype
    FROM (
        SELECT pt.oid, pt.typnamespace, pt.typname, pt.typnotnull, pt.typrelid,
               CASE WHEN recv.proname = 'array_recv' THEN 'a' ELSE pt.typtype END AS typtype,
               CASE
                   WHEN recv.proname = 'array_recv' THEN pt.typelem
                   WHEN pt.typtype = 'r' THEN rng.rngsubtype
                   WHEN pt.typtype = 'm' THEN (SELECT r2.rngtypid FROM pg_range AS r2 WHERE r2.rngmultitypid = pt.oid)
                   WHEN pt.typtype = 'd' THEN pt.typbasetype
               END AS elemtypoid
        FROM pg_type AS pt
        LEFT JOIN pg_class AS cls ON (cls.oid = pt.typrelid)
        LEFT JOIN pg_proc AS recv ON recv.oid = pt.typreceive
        LEFT JOIN pg_range AS rng ON (rng.rngtypid = pt.oid)
    ) AS typ
    LEFT JOIN pg_type AS elem ON elem.oid = typ.elemtypoid
    LEFT JOIN pg_proc AS elemrecv ON elemrecv.oid = elem.typreceive
) AS t
JOIN pg_namespace AS ns ON (ns.oid = t.typnamespace)
WHERE t.typtype IN ('b', 'r', 'm', 'e', 'd')
   OR (t.typtype = 'p' AND t.typname IN ('record', 'void'))
   OR (t.typtype = 'a' AND t.elemtyptype IN ('b', 'r', 'm', 'e', 'd'))
ORDER BY CASE
    WHEN t.typtype IN ('b', 'e', 'p') THEN 0
    WHEN t.typtype = 'r' THEN 1
    WHEN t.typtype = 'm' THEN 2
    WHEN t.typtype = 'c' THEN 3
    WHEN t.typtype = 'd' THEN 4
    ELSE 5
END;
"""
COMPOSITES = """
SELECT typ.oid, att.attname, att.atttypid
FROM pg_type AS typ
JOIN pg_namespace AS ns ON (ns.oid = typ.typnamespace)
JOIN pg_class AS cls ON (cls.oid = typ.typrelid)
JOIN pg_attribute AS att ON (att.attrelid = typ.typrelid)
WHERE typ.typtype = 'c' AND cls.relkind = 'c' AND att.attnum > 0 AND NOT att.attisdropped
ORDER BY typ.oid, att.attnum;
"""
ENUMS = """
SELECT pg_type.oid, enumlabel
FROM pg_enum
JOIN pg_type ON pg_type.oid = enumtypid
ORDER BY oid, enumsortorder;
"""


def results_of(text):
    """Send one simple Query message; return each statement's rows (text)."""
    conn.send_query(text.encode())  # raises on a failure to send
    results = []
    while True:
        res = conn.get_result()
        if res is None:
            return results
        if res.status == pq.ExecStatus.FATAL_ERROR:
            raise SystemExit(
                "query failed: %s\n%s" % (res.error_message.decode(), text)
            )
        rows = [
            [None if res.get_value(r, c) is None else res.get_value(r, c).decode()
             for c in range(res.nfields)]
            for r in range(res.ntuples)
        ]
        results.append({"tag": res.command_status.decode(), "rows": rows})


out = {}
loaded = results_of("SELECT version();\n" + TYPES + COMPOSITES + ENUMS)
out["statements_in_batch"] = len(loaded)
out["version"] = loaded[0]["rows"][0][0]
types = loaded[1]["rows"]
out["types_loaded"] = len(types)
by_name = {row[2]: row for row in types}
out["base_types"] = sorted(n for n in ("int4", "int8", "text", "float8", "date", "bool", "numeric") if n in by_name and by_name[n][3] == "b")
ranges = [row for row in types if row[3] == "r"]
out["range_types"] = sorted(row[2] for row in ranges)
out["int4range_subtype_is_int4"] = any(
    row[2] == "int4range" and row[5] == by_name.get("int4", [None, None])[1] for row in ranges
)
out["array_of_int4"] = any(row[2] == "_int4" and row[3] == "a" for row in types)
out["composite_fields"] = len(loaded[2]["rows"])
out["enum_labels"] = len(loaded[3]["rows"])

discard = results_of("DISCARD ALL")
out["discard_tag"] = discard[0]["tag"]

res = conn.exec_params(
    b"SELECT count(*) AS n FROM referral WHERE service_id = $1",
    [b"17"],
    [23],  # int4
    [0],
    1,  # binary results, as Npgsql asks
)
if res.status != pq.ExecStatus.TUPLES_OK:
    raise SystemExit("extended query failed: %s" % res.error_message.decode())
out["binary_count_bytes"] = len(res.get_value(0, 0))
out["binary_count"] = int.from_bytes(res.get_value(0, 0), "big", signed=True)

navigator = results_of(
    "SELECT table_schema, table_name, table_type FROM information_schema.tables "
    "WHERE table_schema NOT IN ('information_schema', 'pg_catalog') "
    "ORDER BY table_schema, table_name"
)
out["navigator_tables"] = [r[0] + "." + r[1] for r in navigator[0]["rows"]]
columns = results_of(
    "SELECT column_name, ordinal_position, is_nullable, data_type FROM information_schema.columns "
    "WHERE table_schema = 'charts' AND table_name = 'who__gender' ORDER BY ordinal_position"
)
out["gender_columns"] = [r[0] for r in columns[0]["rows"]]
conn.finish()
print(json.dumps(out))
