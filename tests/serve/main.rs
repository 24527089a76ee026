//! `cypdash serve` (issue 15) against real clients: the real binary is
//! started on a free port over the demo data, and psql, Python psycopg, the
//! PostgreSQL ODBC driver (pyodbc) and a scripted session in the shape of
//! Npgsql's (Power BI) connect to it; then the read-only rule, logins, TLS,
//! timeouts, cancel requests, hang-ups and load.
//!
//! The clients are Debian packages that scripts/test.sh installs
//! (postgresql-client, python3-psycopg, odbc-postgresql, unixodbc,
//! python3-pyodbc). A test whose client is missing fails, unless
//! CYPDASH_SKIP_BROWSER=1 (the mode without browser and client packages),
//! where it prints why and passes.

mod clients;
mod common;
mod limits;
mod load;
