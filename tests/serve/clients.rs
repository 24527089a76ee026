//! Each client against the server: psql, psycopg, ODBC, Npgsql's session.

use crate::common::*;
use serde_json::json;

/// The number of referrals of service 17 in the demo data, as `cypdash sql`
/// counts them: the reference every client's answer is compared with.
fn referrals_of_service_17() -> i64 {
    let csv = cypdash(&[
        "-q",
        "sql",
        "SELECT count(*) AS n FROM referral WHERE service_id = 17",
        "--format",
        "csv",
    ]);
    csv.lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("a count")
}

#[test]
fn psql_queries_tables_and_lists_the_charts() {
    if !available(psql_found(), "psql (postgresql-client)") {
        return;
    }
    let server = Server::start(&[], &[]);
    let out = psql(
        server.port,
        &[
            "-At",
            "-c",
            "SELECT count(*) FROM referral WHERE service_id = 17",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), referrals_of_service_17().to_string());

    // psql's \dv reads pg_class and pg_namespace: the charts are views.
    let out = psql(server.port, &["-At", "-c", "\\dv charts.*"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let views = stdout(&out);
    for view in [
        "who__gender",
        "outcomes__reliable_improvement",
        "key__partnerships",
    ] {
        assert!(
            views.contains(&format!("charts|{view}|view")),
            "{view} in:\n{views}"
        );
    }
    // The cypdash functions are there: rci(10, 5, 5, 0.9) = (5 - 10) /
    // (5 * sqrt(2) * sqrt(1 - 0.9)) = -5 / 2.23607 = -2.2361.
    let out = psql(
        server.port,
        &["-At", "-c", "SELECT round(rci(10, 5, 5, 0.9), 4)"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "-2.2361");
}

/// Under the corc policy a served chart is `cypdash run`'s result, cell for
/// cell, and differs from the chart without disclosure control (so the
/// comparison would catch a server that bypassed it).
#[test]
fn a_served_chart_is_cypdash_run_under_the_corc_policy() {
    if !available(psql_found(), "psql (postgresql-client)") {
        return;
    }
    let server = Server::start(&["--sdc", "corc"], &[]);
    let cases = [
        (
            "SELECT * FROM chart('outcomes/reliable_improvement', 'min_n', '10')",
            ["outcomes/reliable_improvement", "-p", "min_n=10"],
        ),
        (
            "SELECT * FROM charts.outcomes__reliable_improvement",
            ["outcomes/reliable_improvement", "-p", "min_n=5"],
        ),
    ];
    for (query, run) in cases {
        let served = psql(server.port, &["--csv", "-c", query]);
        assert!(served.status.success(), "{query}: {}", stderr(&served));
        let corc = cypdash(
            &[
                &["-q", "--sdc", "corc", "run"][..],
                &run,
                &["--format", "csv"],
            ]
            .concat(),
        );
        let none = cypdash(
            &[
                &["-q", "--sdc", "none", "run"][..],
                &run,
                &["--format", "csv"],
            ]
            .concat(),
        );
        assert_ne!(
            csv_cells(&corc),
            csv_cells(&none),
            "{run:?} must withhold something under corc for this test to mean anything"
        );
        assert_eq!(csv_cells(&stdout(&served)), csv_cells(&corc), "{query}");
    }
}

#[test]
fn python_psycopg_binds_parameters_on_the_server() {
    let Some(python) = python_or_skip("psycopg", "python3-psycopg") else {
        return;
    };
    let server = Server::start(&[], &[]);
    let out = run_script(&python, "psycopg_client.py", &[server.port.to_string()]);
    let expected = referrals_of_service_17();
    assert_eq!(out["referrals_of_service_17"], json!(expected));
    assert_eq!(out["prepared"][0], json!(expected));
    assert_eq!(
        out["binary_rows"].as_array().map(Vec::len),
        Some(3),
        "{out}"
    );
    assert_eq!(out["chart_columns"][0], json!("partnership_id"));
    assert!(out["chart_rows"].as_u64().unwrap_or(0) > 0, "{out}");
    let bound = out["chart_bound_parameter"]["message"]
        .as_str()
        .unwrap_or("");
    assert!(bound.contains("must be a constant"), "{out}");
    assert_eq!(out["create_table"]["sqlstate"], json!("25006"), "{out}");
    let unknown = out["unknown_chart_parameter"]["message"]
        .as_str()
        .unwrap_or("");
    assert!(unknown.contains("min_m"), "{out}");
}

#[test]
fn odbc_driver_connects_and_lists_the_charts() {
    let Some(python) = python_or_skip("pyodbc", "python3-pyodbc") else {
        return;
    };
    let driver = std::fs::read_to_string("/etc/odbcinst.ini")
        .is_ok_and(|ini| ini.contains("[PostgreSQL Unicode]"));
    if !available(
        driver,
        "the PostgreSQL ODBC driver (odbc-postgresql, unixodbc)",
    ) {
        return;
    }
    let server = Server::start(&[], &[]);
    let out = run_script(&python, "odbc_client.py", &[server.port.to_string()]);
    assert_eq!(
        out["referrals_of_service_17"],
        json!(referrals_of_service_17())
    );
    assert_eq!(out["gender_columns"][0], json!("partnership_id"), "{out}");
    assert!(out["gender_rows"].as_u64().unwrap_or(0) > 0, "{out}");
    let tables = out["chart_tables"].to_string();
    assert!(tables.contains("who__gender"), "{out}");
    assert!(
        out["gender_table_columns"].to_string().contains("pct"),
        "{out}"
    );
    assert!(
        out["delete"].as_str().unwrap_or("").contains("read-only"),
        "{out}"
    );
}

#[test]
fn npgsql_startup_type_loading_and_discard_all() {
    let Some(python) = python_or_skip("psycopg", "python3-psycopg") else {
        return;
    };
    let server = Server::start(&[], &[]);
    let out = run_script(&python, "npgsql_session.py", &[server.port.to_string()]);
    assert_eq!(out["statements_in_batch"], json!(4), "{out}");
    assert_eq!(
        out["base_types"],
        json!(["bool", "date", "float8", "int4", "int8", "numeric", "text"]),
        "{out}"
    );
    assert!(
        out["range_types"].to_string().contains("int4range"),
        "{out}"
    );
    assert_eq!(out["int4range_subtype_is_int4"], json!(true), "{out}");
    assert_eq!(out["array_of_int4"], json!(true), "{out}");
    assert_eq!(out["discard_tag"], json!("DISCARD ALL"));
    // count(*) is int8: 8 bytes in binary.
    assert_eq!(out["binary_count_bytes"], json!(8));
    assert_eq!(out["binary_count"], json!(referrals_of_service_17()));
    let tables = out["navigator_tables"].to_string();
    assert!(
        tables.contains("public.referral") && tables.contains("charts.who__gender"),
        "{out}"
    );
    assert_eq!(out["gender_columns"][0], json!("partnership_id"), "{out}");
}
