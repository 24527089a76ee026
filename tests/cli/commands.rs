//! Each command's output in each of its formats, snapshot-tested.

use crate::common::{cypdash, settings, timed_table_settings, tiny, tiny_test_charts};
use insta_cmd::assert_cmd_snapshot;
use std::path::Path;

const COMMANDS: &[&str] = &[
    "dashboard",
    "list",
    "describe",
    "run",
    "sql",
    "export",
    "tables",
    "functions",
    "repl",
    "serve",
    "generate",
    "validate",
    "sort",
];

#[test]
fn help_documents_every_command() {
    settings(&[]).bind(|| {
        assert_cmd_snapshot!("help", cypdash().arg("--help"));
        for c in COMMANDS {
            assert_cmd_snapshot!(format!("help_{c}"), cypdash().args([c, "--help"]));
        }
    });
}

#[test]
fn list_in_each_format() {
    settings(&[]).bind(|| {
        for format in ["table", "csv", "json", "markdown"] {
            assert_cmd_snapshot!(
                format!("list_{format}"),
                tiny_test_charts().args(["list", "--format", format])
            );
        }
    });
}

#[test]
fn list_of_the_built_in_charts_has_every_section() {
    let out = cypdash().args(["list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let catalog = cypdash::catalog::Catalog::embedded().unwrap();
    assert!(catalog.sections().len() >= 6);
    for s in catalog.sections() {
        assert!(
            text.contains(&format!("{}: {}", s.name, s.title)),
            "{} missing:\n{text}",
            s.name
        );
    }
    assert!(text.contains("key/partnerships  "), "{text}");
}

#[test]
fn describe_in_each_format() {
    settings(&[]).bind(|| {
        for format in ["table", "markdown", "json"] {
            assert_cmd_snapshot!(
                format!("describe_types_{format}"),
                tiny_test_charts().args(["describe", "who/types", "--format", format])
            );
        }
        // A bare chart name is enough when it is unique.
        assert_cmd_snapshot!(
            "describe_partnerships",
            cypdash().args(["describe", "partnerships"])
        );
    });
}

#[test]
fn run_in_each_format() {
    settings(&[]).bind(|| {
        for format in ["table", "csv", "json", "markdown"] {
            assert_cmd_snapshot!(
                format!("run_partnerships_{format}"),
                tiny().args([
                    "run",
                    "key/partnerships",
                    "--param",
                    "min_n=1",
                    "--format",
                    format
                ])
            );
            assert_cmd_snapshot!(
                format!("run_types_{format}"),
                tiny_test_charts().args(["run", "who/types", "--format", format])
            );
        }
        assert_cmd_snapshot!(
            "run_with_params_and_maxrows",
            tiny_test_charts().args([
                "run",
                "who/types",
                "-p",
                "period_start=2024-02-01",
                "--param",
                "label=x",
                "--param",
                "scale=2",
                "--maxrows",
                "1",
            ])
        );
        assert_cmd_snapshot!(
            "run_quiet",
            tiny_test_charts().args(["--quiet", "run", "key/units", "--param", "min_services=1"])
        );
    });
}

#[test]
fn sql_in_each_format() {
    settings(&[]).bind(|| {
        let sql = "SELECT partnership_id, partnership_name, collaborative = 'North' AS north FROM partnership ORDER BY 1";
        for format in ["table", "csv", "json", "markdown"] {
            assert_cmd_snapshot!(format!("sql_{format}"), tiny().args(["sql", sql, "--format", format]));
        }
        assert_cmd_snapshot!(
            "sql_statements",
            tiny().args(["sql", "CREATE VIEW v AS SELECT 1 AS one; SELECT * FROM v; SELECT 2 AS two"])
        );
        assert_cmd_snapshot!("sql_empty_result", tiny().args(["sql", "SELECT * FROM person WHERE false"]));
        assert_cmd_snapshot!(
            "sql_udf",
            tiny().args(["sql", "SELECT round(rci(20, 12, 5, 0.8), 4) AS rci"])
        );
    });
}

#[test]
fn sql_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(
        &file,
        "-- a comment\nSELECT count(*) AS n\nFROM referral;\n",
    )
    .unwrap();
    settings(&[(dir.path(), "TMP")]).bind(|| {
        assert_cmd_snapshot!("sql_file", tiny().args(["sql", "-f"]).arg(&file));
    });
}

#[test]
fn sql_computes_shared_blocks_on_first_use() {
    // in_scope_referral exists only once the shared blocks are prepared.
    let out = tiny()
        .args([
            "sql",
            "SELECT count(*) AS n FROM in_scope_referral",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("n\n"));
}

#[test]
fn tables_in_each_format() {
    settings(&[]).bind(|| {
        for format in ["table", "csv", "json", "markdown"] {
            assert_cmd_snapshot!(
                format!("tables_{format}"),
                tiny().args(["tables", "--format", format])
            );
        }
    });
}

#[test]
fn functions_in_each_format() {
    settings(&[]).bind(|| {
        for format in ["table", "csv", "json", "markdown"] {
            assert_cmd_snapshot!(
                format!("functions_{format}"),
                tiny().args(["functions", "--format", format])
            );
            assert_cmd_snapshot!(
                format!("functions_rci_{format}"),
                tiny().args(["functions", "rci", "--format", format])
            );
        }
    });
}

#[test]
fn functions_are_documented_from_the_session() {
    let out = tiny()
        .args(["functions", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let docs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    for kind in ["scalar", "aggregate", "table"] {
        assert!(kinds.contains(&kind), "no {kind} function: {kinds:?}");
    }
    for d in &docs {
        assert_ne!(
            d["description"], "(not registered or not documented)",
            "{d}"
        );
        assert!(!d["syntax"].as_str().unwrap().is_empty(), "{d}");
    }
}

#[test]
fn repl_reads_a_script_from_stdin() {
    let script = "\\charts\n\\set min_services 1\n\\run key/units\nSELECT partnership_name\nFROM partnership\nORDER BY 1;\nSELECT * FROM nowhere;\nSELECT 1 AS one;\n\\q\n";
    settings(&[]).bind(|| {
        assert_cmd_snapshot!(
            "repl_script",
            tiny_test_charts().arg("repl").pass_stdin(script)
        );
    });
}

/// Issue 18: `sort` writes a copy of the tiny fixture (CSV: no declared
/// order) that `validate` reports sorted by key, table by table.
#[test]
fn sort_then_validate_reports_every_table_sorted() {
    let tables = |data: &Path| {
        let out = cypdash()
            .arg("--data")
            .arg(data)
            .args(["validate", "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["tables"].as_array().unwrap().clone()
    };
    let before = tables(Path::new("tests/fixtures/tiny"));
    assert_eq!(before.len(), 7);
    assert!(before
        .iter()
        .all(|t| t["sorted"] == false && t["declared"] == "none"));
    let tmp = tempfile::tempdir().unwrap();
    let sorted = tmp.path().join("sorted");
    let out = tiny()
        .args(["sort", "--out"])
        .arg(&sorted)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("sorted by questionnaire_id, item"), "{text}");
    let after = tables(&sorted);
    assert_eq!(after.len(), 7);
    for t in &after {
        assert_eq!(t["sorted"], true, "{t}");
        assert_eq!(t["verified"], "yes", "{t}");
        assert_eq!(t["declared"], t["key"], "{t}");
    }
}

#[test]
fn validate_in_each_format() {
    settings(&[]).bind(|| {
        for format in ["table", "json"] {
            assert_cmd_snapshot!(
                format!("validate_tiny_{format}"),
                tiny().args(["validate", "--format", format])
            );
        }
        let mut cmd = cypdash();
        cmd.args(["--data", "tests/fixtures/does-not-exist", "validate"]);
        assert_cmd_snapshot!("validate_missing_dir", cmd);
    });
}

#[test]
fn generate_writes_data_that_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    settings(&[(dir.path(), "TMP")]).bind(|| {
        assert_cmd_snapshot!(
            "generate",
            cypdash()
                .args([
                    "generate",
                    "--referrals",
                    "50",
                    "--partnerships",
                    "3",
                    "--seed",
                    "7",
                    "--out"
                ])
                .arg(&data)
        );
    });
    let out = cypdash()
        .arg("--data")
        .arg(&data)
        .args(["run", "key/partnerships", "--format", "csv"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn export_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    timed_table_settings(&[(dir.path(), "OUT")]).bind(|| {
        assert_cmd_snapshot!(
            "export_summary",
            tiny_test_charts()
                .args(["export", "--charts", "key/units,who/types", "--out"])
                .arg(dir.path())
        );
        assert_cmd_snapshot!(
            "export_quiet",
            tiny_test_charts()
                .args([
                    "--quiet",
                    "export",
                    "--section",
                    "key",
                    "--format",
                    "csv",
                    "--out"
                ])
                .arg(dir.path())
        );
    });
}

#[test]
fn dashboard_reports_a_failing_chart_and_exports_the_others() {
    let dir = tempfile::tempdir().unwrap();
    timed_table_settings(&[(dir.path(), "OUT")]).bind(|| {
        assert_cmd_snapshot!(
            "dashboard_with_a_failing_chart",
            tiny_test_charts()
                .args(["dashboard", "--param", "min_services=1", "--out"])
                .arg(dir.path())
        );
    });
    assert!(dir.path().join("key__units.parquet").is_file());
    assert!(dir.path().join("who__types.csv").is_file());
    assert!(!dir.path().join("outcomes__broken.parquet").exists());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["failed"][0]["chart"], "outcomes/broken");
}

/// `cypdash dashboard` runs every built-in chart (issue #5: the main job).
/// Charts other engineers are still fixing may fail; this test checks the
/// machinery: every chart is either exported or reported, and the stable
/// `key/partnerships` chart is exported.
#[test]
fn dashboard_runs_every_built_in_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out = tiny()
        .args(["dashboard", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let catalog = cypdash::catalog::Catalog::embedded().unwrap();
    let exported: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["chart"].as_str().unwrap())
        .collect();
    let failed: Vec<&str> = manifest["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["chart"].as_str().unwrap())
        .collect();
    for chart in catalog.charts() {
        let id = chart.id.as_str();
        assert!(
            exported.contains(&id) || failed.contains(&id),
            "{id} neither exported nor reported"
        );
        assert!(stdout.contains(id), "{id} not in the summary:\n{stdout}");
    }
    assert!(exported.contains(&"key/partnerships"), "{stderr}");
    assert!(dir.path().join("key__partnerships.parquet").is_file());
    assert!(dir.path().join("key__partnerships.csv").is_file());
    assert!(dir.path().join("key__partnerships.pq").is_file());
    assert_eq!(out.status.success(), failed.is_empty(), "{stderr}");
    if failed.is_empty() {
        // The rendered dashboard beside the exports, renamed into place.
        let html = std::fs::read_to_string(dir.path().join("dashboard.html")).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..40]);
        assert!(!dir.path().join("dashboard.html.partial").exists());
        assert!(stdout.contains("wrote the report"), "{stdout}");
    }
    if !failed.is_empty() {
        eprintln!(
            "charts failing on the tiny fixture (not this test's concern): {failed:?}\n{stderr}"
        );
    }
}

#[test]
fn the_demo_data_is_the_default() {
    // From a fresh clone `cypdash dashboard` reads data/demo; when that is
    // not there yet the error says where it looked.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    let has_demo = std::fs::read_dir(&demo)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    let out = cypdash()
        .args(["tables", "--format", "csv"])
        .output()
        .unwrap();
    if has_demo {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("data/demo"));
    } else {
        assert!(String::from_utf8_lossy(&out.stderr).contains("data/demo"));
    }
}

/// The benchmark's smoke test (issue #7: CI runs it at the smallest size
/// only; figures are in docs/performance.md). Every step is reported with
/// a time per repetition, every chart is run, and the scan floor reads data.
#[test]
fn bench_smoke_test_on_the_tiny_fixture() {
    let out = tiny()
        .args(["bench", "--reps", "2", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = report["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    for step in [
        "open",
        "scan_floor",
        "sdq_scoring",
        "score_questionnaires",
        "all_charts",
    ] {
        assert!(names.contains(&step), "{step} missing: {names:?}");
    }
    let charts = names.iter().filter(|n| n.starts_with("chart ")).count();
    let catalog = cypdash::catalog::Catalog::embedded().unwrap();
    assert_eq!(charts, catalog.charts().count());
    assert!(names
        .iter()
        .any(|n| n.trim() == "block _shared/outcome_pair"));
    let floor = steps.iter().find(|s| s["step"] == "scan_floor").unwrap();
    assert_eq!(floor["seconds"].as_array().unwrap().len(), 2);
    // Every row of the tables it reads (the seven contract tables) is read,
    // as a query counts them.
    let total = cypdash::bench::SCAN_FLOOR
        .iter()
        .map(|(t, _)| format!("(select count(*) from {t})"))
        .collect::<Vec<_>>()
        .join(" + ");
    let out = tiny()
        .args(["--quiet", "sql", "--format", "csv"])
        .arg(format!("select {total} as n"))
        .output()
        .unwrap();
    let rows: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    // By hand: the seven CSV files hold 20 lines, 7 of them headers.
    assert_eq!(rows, 13);
    assert_eq!(floor["rows"], rows);
    assert!(floor["held_mib"].is_null(), "{floor}");

    // An in-memory block reports what it holds: its rows are the table's
    // rows as a query counts them, and its arrays take some memory.
    let scored = steps
        .iter()
        .find(|s| s["step"].as_str().unwrap().trim() == "block _shared/scale_score")
        .unwrap();
    let out = tiny()
        .args(["--quiet", "sql", "--format", "csv"])
        .arg("select count(*) as n from scale_score")
        .output()
        .unwrap();
    let counted: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(counted > 0);
    assert_eq!(scored["rows"].as_u64(), Some(counted), "{scored}");
    assert!(scored["held_mib"].as_f64().unwrap() > 0.0, "{scored}");
}

/// `report` writes one HTML page with the highlighted partnership marked,
/// and names an unknown partnership in its error.
#[test]
fn report_writes_the_page_and_rejects_an_unknown_partnership() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("sub/page.html");
    let out = cypdash()
        .args(["--quiet", "report", "--partnership", "1", "--out"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Partnership 1"), "highlight not named");
    assert!(!html.contains("<script src"), "external script");
    assert!(!page.with_extension("html.partial").exists());

    let out = cypdash()
        .args(["report", "--partnership", "999", "--out"])
        .arg(dir.path().join("bad.html"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("partnership 999 is not among"), "{stderr}");
    assert!(!dir.path().join("bad.html").exists());
}
