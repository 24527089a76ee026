"""The PostgreSQL ODBC driver (psqlODBC, through unixODBC and pyodbc)
against `cypdash serve`: a DSN-less connection string naming the driver
registered in odbcinst.ini, an ODBC parameter, and the catalog functions
(SQLTables, SQLColumns) that Excel and Power BI's ODBC connector call to
list tables. Prints one JSON object for tests/serve/clients.rs.

Usage: odbc_client.py PORT
"""
import json
import sys

import pyodbc

port = int(sys.argv[1])
connection = (
    "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=%d;DATABASE=cypdash;"
    "UID=analyst;PWD=unused;SSLMODE=disable" % port
)
out = {}
conn = pyodbc.connect(connection, autocommit=True)
cur = conn.cursor()
cur.execute("SELECT count(*) FROM referral WHERE service_id = ?", 17)
out["referrals_of_service_17"] = cur.fetchone()[0]
cur.execute("SELECT * FROM charts.who__gender ORDER BY partnership_id, sort_order")
out["gender_columns"] = [d[0] for d in cur.description]
out["gender_rows"] = len(cur.fetchall())
out["chart_tables"] = sorted(r.table_name for r in cur.tables(schema="charts"))
out["gender_table_columns"] = [r.column_name for r in cur.columns(table="who__gender", schema="charts")]
try:
    cur.execute("DELETE FROM referral")
    out["delete"] = None
except pyodbc.Error as e:
    out["delete"] = str(e)
conn.close()
print(json.dumps(out))
