//! Safe by default: read-only, localhost, logins, TLS, timeouts, cancel
//! requests and clients that hang up.

use crate::common::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn writes_are_refused_with_a_clear_error() {
    if !available(psql_found(), "psql (postgresql-client)") {
        return;
    }
    let server = Server::start(&[], &[]);
    for (sql, named) in [
        ("CREATE TABLE t AS SELECT 1 AS a", "CREATE TABLE"),
        ("CREATE VIEW v AS SELECT 1 AS a", "CREATE VIEW"),
        ("DROP TABLE referral", "DROP TABLE"),
        (
            "INSERT INTO referral (referral_id) VALUES (1)",
            "INSERT INTO",
        ),
        ("COPY referral TO '/tmp/cypdash-serve-copy.csv'", "COPY"),
        ("COPY (SELECT 1) TO STDOUT", "COPY"),
        (
            "SET datafusion.execution.batch_size = 10",
            "engine settings",
        ),
    ] {
        let out = psql(server.port, &["-c", sql]);
        assert!(!out.status.success(), "{sql} ran");
        let err = stderr(&out);
        assert!(err.contains(named), "{sql}: {err}");
    }
    assert!(!std::path::Path::new("/tmp/cypdash-serve-copy.csv").exists());
    // The table is still there, whole.
    let out = psql(server.port, &["-At", "-c", "SELECT count(*) FROM referral"]);
    assert_eq!(stdout(&out).trim(), "20000", "{}", stderr(&out));
    // Session settings may be set and shown.
    let out = psql(
        server.port,
        &[
            "-At",
            "-c",
            "SET statement_timeout = '5s'",
            "-c",
            "SHOW statement_timeout",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("5000ms"), "{}", stdout(&out));
}

/// `--charts-only`: the disclosure-controlled charts, no row-level table.
#[test]
fn charts_only_serves_no_table() {
    if !available(psql_found(), "psql (postgresql-client)") {
        return;
    }
    let server = Server::start(&[], &["--charts-only"]);
    let out = psql(server.port, &["-At", "-c", "SELECT count(*) FROM referral"]);
    assert!(!out.status.success(), "referral is served");
    assert!(stderr(&out).contains("referral"), "{}", stderr(&out));
    let out = psql(
        server.port,
        &["-At", "-c", "SELECT count(*) > 0 FROM charts.who__gender"],
    );
    assert_eq!(stdout(&out).trim(), "t", "{}", stderr(&out));
}

#[test]
fn another_address_than_localhost_needs_a_password() {
    let out = Command::new(BIN)
        .args(["serve", "--host", "0.0.0.0", "--port", "0"])
        .output()
        .expect("run cypdash");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--password-file"), "{err}");
}

#[test]
fn a_password_is_checked_by_scram() {
    if !available(psql_found(), "psql (postgresql-client)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, "correct horse\n").unwrap();
    let server = Server::start(
        &[],
        &[
            "--user",
            "analyst",
            "--password-file",
            file.to_str().unwrap(),
        ],
    );
    let ok = psql_as(
        server.port,
        "analyst",
        Some("correct horse"),
        &["-At", "-c", "SELECT 1"],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    for (user, password) in [("analyst", "wrong"), ("someone", "correct horse")] {
        let out = psql_as(
            server.port,
            user,
            Some(password),
            &["-At", "-c", "SELECT 1"],
        );
        assert!(!out.status.success(), "{user}/{password} got in");
        let err = stderr(&out).to_lowercase();
        assert!(err.contains("password authentication failed"), "{err}");
    }
    let none = psql_as(server.port, "analyst", None, &["-At", "-c", "SELECT 1"]);
    assert!(!none.status.success(), "no password got in");
}

#[test]
fn tls_when_given_a_certificate() {
    if !available(psql_found(), "psql (postgresql-client)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    if !available(made.is_ok_and(|o| o.status.success()), "openssl") {
        return;
    }
    let server = Server::start(
        &[],
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let out = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={} dbname=cypdash user=analyst sslmode=require",
            server.port
        ))
        .args(["-X", "-c", "\\conninfo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("SSL connection"), "{}", stdout(&out));
}

#[test]
fn a_query_stops_at_its_timeout() {
    if !available(psql_found(), "psql (postgresql-client)") {
        return;
    }
    let server = Server::start(&[], &["--query-timeout", "3"]);
    // The server's timeout.
    let started = Instant::now();
    let out = psql(server.port, &["-c", ENDLESS]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("statement timeout"),
        "{}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    // A client's shorter one.
    let started = Instant::now();
    let out = psql(
        server.port,
        &["-c", "SET statement_timeout = 500", "-c", ENDLESS],
    );
    assert!(
        stderr(&out).contains("statement timeout"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(3) + Duration::from_secs(20));
    // The server still answers.
    let out = psql(server.port, &["-At", "-c", "SELECT 1"]);
    assert_eq!(stdout(&out).trim(), "1", "{}", stderr(&out));
}

/// A cancel request (psycopg's `conn.cancel()`, libpq's PQcancel) stops
/// the running query; a client that closes its connection mid-query frees
/// the query's slot (`--max-queries 1`: the next client gets it).
#[test]
fn cancel_requests_and_hang_ups_stop_the_query() {
    let Some(python) = python_or_skip("psycopg", "python3-psycopg") else {
        return;
    };
    let server = Server::start(&[], &["--max-queries", "1"]);
    let cancel = format!(
        r#"
import sys, threading, time, psycopg
conn = psycopg.connect(host="127.0.0.1", port={port}, dbname="cypdash", user="analyst", autocommit=True)
threading.Timer(2.0, conn.cancel).start()
started = time.time()
try:
    conn.execute("{ENDLESS}")
    print("finished")
except psycopg.errors.QueryCanceled as e:
    print("cancelled after %.1f s: %s" % (time.time() - started, e))
"#,
        port = server.port
    );
    let out = python_inline(&python, &cancel);
    let said = stdout(&out);
    assert!(said.starts_with("cancelled"), "{said}{}", stderr(&out));
    assert!(said.contains("user request"), "{said}");

    let hang_up = format!(
        r#"
import time
from psycopg import pq
conn = pq.PGconn.connect(b"host=127.0.0.1 port={port} dbname=cypdash user=analyst")
conn.send_query(b"{ENDLESS}")
time.sleep(2.0)
conn.finish()
"#,
        port = server.port
    );
    let out = python_inline(&python, &hang_up);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        server.wait_for_log("the client closed the connection", Duration::from_secs(20)),
        "no stop logged:\n{}",
        server.log()
    );
    // With one query slot, this runs only if the abandoned query let go.
    let quick = format!(
        r#"
import psycopg
conn = psycopg.connect(host="127.0.0.1", port={port}, dbname="cypdash", user="analyst", autocommit=True)
conn.execute("SET statement_timeout = 20000")
print(conn.execute("SELECT count(*) FROM referral").fetchone()[0])
"#,
        port = server.port
    );
    let out = python_inline(&python, &quick);
    assert_eq!(stdout(&out).trim(), "20000", "{}", stderr(&out));
}
