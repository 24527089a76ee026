//! Exports read back: Parquet types against the query headers, CSV with
//! its BOM parsed by a standard reader to the same values, the manifest,
//! the Power Query snippets, and no temporary files left behind; an export
//! replaces its directory whole, even when killed (issue 10).

use crate::common::{output, root, settings, tiny, tiny_test_charts};
use cypdash::catalog::{Catalog, QueryFile};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::Compression;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

fn read_parquet(path: &Path) -> (Vec<RecordBatch>, Vec<Compression>) {
    let file = std::fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let compressions = builder
        .metadata()
        .row_groups()
        .iter()
        .flat_map(|rg| rg.columns().iter().map(|c| c.compression()))
        .collect();
    let batches = builder
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (batches, compressions)
}

/// A cell as the CSV should hold it ("" for NULL).
fn cell(array: &dyn Array, row: usize) -> Expected {
    if array.is_null(row) {
        return Expected::Null;
    }
    match array.data_type() {
        DataType::Int64 => Expected::Text(array.as_primitive::<Int64Type>().value(row).to_string()),
        DataType::Float64 => Expected::Number(array.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => Expected::Text(array.as_boolean().value(row).to_string()),
        DataType::Date32 => Expected::Text(cypdash::catalog::format_date(
            array.as_primitive::<Date32Type>().value(row),
        )),
        DataType::Utf8 => Expected::Text(array.as_string::<i32>().value(row).to_string()),
        other => panic!("exported a column of type {other}"),
    }
}

#[derive(Debug)]
enum Expected {
    Null,
    Text(String),
    Number(f64),
}

/// Check one chart's export: Parquet types against the header, CSV against
/// the Parquet values. Returns the number of rows.
fn check_chart(dir: &Path, chart: &QueryFile) -> usize {
    let base = format!("{}__{}", chart.section, chart.name);
    let (batches, compressions) = read_parquet(&dir.join(format!("{base}.parquet")));
    assert!(
        compressions.iter().all(|c| *c == Compression::SNAPPY),
        "{base}: {compressions:?}"
    );
    let schema = batches.first().map(|b| b.schema()).unwrap_or_else(|| {
        let file = std::fs::File::open(dir.join(format!("{base}.parquet"))).unwrap();
        ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .schema()
            .clone()
    });
    let declared: Vec<(&str, &str)> = chart
        .header
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.ty.as_str()))
        .collect();
    let found: Vec<(String, String)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect();
    let found_ref: Vec<(&str, &str)> = found
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        found_ref, declared,
        "{base}: Parquet columns against the header"
    );

    let bytes = std::fs::read(dir.join(format!("{base}.csv"))).unwrap();
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "{base}.csv has no BOM"
    );
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(&bytes[3..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(header, names, "{base}.csv header");
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(records.len(), rows, "{base}: CSV and Parquet row counts");
    let mut r = 0;
    for batch in &batches {
        for i in 0..batch.num_rows() {
            for (c, column) in batch.columns().iter().enumerate() {
                let got = &records[r][c];
                match cell(column.as_ref(), i) {
                    Expected::Null => assert_eq!(got, "", "{base} row {r} column {c}"),
                    Expected::Text(t) => assert_eq!(got, t, "{base} row {r} column {c}"),
                    Expected::Number(x) => {
                        let y: f64 = got
                            .parse()
                            .unwrap_or_else(|_| panic!("{base}: `{got}` is not a number"));
                        assert!(
                            x == y || (x.is_nan() && y.is_nan()),
                            "{base} row {r} column {c}: {x} vs {y}"
                        );
                    }
                }
            }
            r += 1;
        }
    }
    rows
}

fn no_temporary_files(dir: &Path) {
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn exported_files_read_back_with_the_declared_types_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = output(
        tiny_test_charts()
            .args(["export", "--charts", "key/units,who/types", "--out"])
            .arg(dir.path()),
    );
    assert_eq!(code, 0, "{stderr}");
    let catalog = Catalog::from_dir(&root().join(crate::common::TEST_QUERIES)).unwrap();
    assert_eq!(
        check_chart(dir.path(), catalog.chart("key/units").unwrap()),
        2
    );
    assert_eq!(
        check_chart(dir.path(), catalog.chart("who/types").unwrap()),
        2
    );
    no_temporary_files(dir.path());

    // RFC 4180: the label holds a comma, quotes and a line break.
    let text = std::fs::read_to_string(dir.path().join("who__types.csv")).unwrap();
    assert!(text.contains("\"a,b \"\"c\"\"\nA1\""), "{text}");
    assert!(text.contains("\r\n"), "CRLF line ends");
}

#[test]
fn the_built_in_partnerships_chart_exports_as_declared() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = output(
        tiny()
            .args(["export", "--charts", "partnerships", "--out"])
            .arg(dir.path()),
    );
    assert_eq!(code, 0, "{stderr}");
    let catalog = Catalog::embedded().unwrap();
    check_chart(dir.path(), catalog.chart("key/partnerships").unwrap());
    no_temporary_files(dir.path());
}

#[test]
fn the_manifest_records_what_each_file_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = output(
        tiny_test_charts()
            .args([
                "export",
                "--charts",
                "who/types,key/units",
                "--param",
                "scale=2",
                "--out",
            ])
            .arg(dir.path()),
    );
    assert_eq!(code, 0, "{stderr}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let catalog = Catalog::from_dir(&root().join(crate::common::TEST_QUERIES)).unwrap();
    assert_eq!(manifest["tool"], "cypdash");
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    let created = manifest["created"].as_str().unwrap();
    assert!(
        created.len() == 20 && created.ends_with('Z') && &created[10..11] == "T",
        "{created}"
    );
    assert_eq!(manifest["data"]["fingerprint"].as_str().unwrap().len(), 16);
    let inputs: Vec<&str> = manifest["data"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(inputs.contains(&"referral.csv"), "{inputs:?}");
    let files = manifest["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "who__types.parquet",
            "who__types.csv",
            "key__units.parquet",
            "key__units.csv"
        ]
    );
    for f in files {
        let chart = catalog.chart(f["chart"].as_str().unwrap()).unwrap();
        assert_eq!(f["query_fingerprint"], chart.fingerprint());
        let columns: Vec<(&str, &str)> = f["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["type"].as_str().unwrap()))
            .collect();
        let declared: Vec<(&str, &str)> = chart
            .header
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.ty.as_str()))
            .collect();
        assert_eq!(columns, declared);
        assert_eq!(f["rows"], 2);
        assert!(dir
            .path()
            .join(f["power_query"].as_str().unwrap())
            .is_file());
    }
    // Resolved values, defaults included; `scale` only where declared.
    assert_eq!(files[0]["params"]["scale"], 2.0);
    assert_eq!(files[0]["params"]["period_end"], "2024-06-01");
    assert_eq!(files[0]["params"]["period_start"], "2023-06-02");
    assert_eq!(files[0]["params"]["label"], "a,b \"c\"");
    assert_eq!(files[2]["params"], serde_json::json!({"min_services": 0}));
}

#[test]
fn power_query_snippets_type_every_column() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = output(
        tiny_test_charts()
            .args(["export", "--charts", "who/types", "--out"])
            .arg(dir.path()),
    );
    assert_eq!(code, 0, "{stderr}");
    let pq = std::fs::read_to_string(dir.path().join("who__types.pq")).unwrap();
    settings(&[(dir.path(), "OUT")]).bind(|| insta::assert_snapshot!("power_query_csv", pq));

    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = output(
        tiny_test_charts()
            .args([
                "export",
                "--charts",
                "key/units",
                "--format",
                "parquet",
                "--out",
            ])
            .arg(dir.path()),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(!dir.path().join("key__units.csv").exists());
    let pq = std::fs::read_to_string(dir.path().join("key__units.pq")).unwrap();
    settings(&[(dir.path(), "OUT")]).bind(|| insta::assert_snapshot!("power_query_parquet", pq));
}

#[test]
fn manifest_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = output(
        tiny_test_charts()
            .args(["export", "--charts", "key/units", "--out"])
            .arg(dir.path()),
    );
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(dir.path().join("manifest.json")).unwrap();
    let mut s = settings(&[(dir.path(), "OUT")]);
    s.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]");
    s.add_filter(r#""bytes": \d+"#, r#""bytes": [BYTES]"#);
    s.bind(|| insta::assert_snapshot!("manifest", text));
}

/// The tiny dashboard fixture: every built-in chart runs on it in about a
/// second, and `min_n=3` changes the contents of most of them.
const DASHBOARD_DATA: &str = "tests/fixtures/dashboard";

/// `cypdash dashboard` over the dashboard fixture into `out`.
fn dashboard_into(out: &Path, params: &[&str]) -> std::process::Command {
    let mut cmd = crate::common::cypdash();
    cmd.args(["--quiet", "--data", DASHBOARD_DATA, "dashboard", "--out"])
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for p in params {
        cmd.args(["--param", p]);
    }
    cmd
}

/// Wait for a child, at most `limit`; it is killed and the test fails if it
/// runs longer.
fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cypdash ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run to completion (bounded), asserting success; returns how long it took.
fn run_complete(cmd: &mut std::process::Command) -> Duration {
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(120));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    started.elapsed()
}

fn entries(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Every file's bytes.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    entries(dir)
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

/// Check that `dir` holds one whole export made by `dashboard`: exactly
/// the files its manifest lists, their Power Query scripts, the manifest
/// and `dashboard.html`, each data file read back with the listed row
/// count. Returns the manifest.
fn whole_export(dir: &Path) -> serde_json::Value {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert!(!files.is_empty());
    let mut expected: BTreeSet<String> =
        ["manifest.json", "dashboard.html"].map(String::from).into();
    for f in files {
        let name = f["file"].as_str().unwrap();
        expected.insert(name.to_string());
        expected.insert(f["power_query"].as_str().unwrap().to_string());
        let rows = if name.ends_with(".csv") {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            csv::ReaderBuilder::new()
                .from_reader(&bytes[3..])
                .records()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
                .len()
        } else {
            read_parquet(&dir.join(name))
                .0
                .iter()
                .map(|b| b.num_rows())
                .sum()
        };
        assert_eq!(f["rows"], rows, "{name}: rows against the manifest");
    }
    assert_eq!(entries(dir), expected, "the files against the manifest");
    manifest
}

/// The `min_n` every chart that takes it ran with.
fn min_n(manifest: &serde_json::Value) -> BTreeSet<i64> {
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["params"]["min_n"].as_i64())
        .collect()
}

/// Issue 10: an export is all-or-nothing per directory. A `dashboard` run
/// replacing an earlier one made with other parameters is killed (SIGKILL)
/// at moments spread over its run; after each kill the directory is exactly
/// the earlier export or wholly the new one (files, dashboard and manifest
/// agreeing), and the next complete run leaves nothing else behind.
#[test]
fn a_killed_export_leaves_the_earlier_one_or_the_new_one_whole() {
    // When to kill, in percent of a whole run's time: spread over the run,
    // closer together towards its end (the dashboard, the swap), and two
    // after it (a slower run may still be swapping).
    const KILL_AT: [u32; 10] = [10, 30, 50, 70, 85, 92, 97, 100, 105, 120];
    let scratch = tempfile::tempdir().unwrap();
    let new_run = run_complete(&mut dashboard_into(scratch.path(), &["min_n=3"]));
    let new_manifest = whole_export(scratch.path());
    assert_eq!(min_n(&new_manifest), BTreeSet::from([3]));

    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    run_complete(&mut dashboard_into(&out, &[]));
    let (mut kept, mut replaced) = (0, 0);
    for (i, percent) in KILL_AT.into_iter().enumerate() {
        let earlier = contents(&out);
        assert_eq!(min_n(&whole_export(&out)), BTreeSet::from([5]));
        // Files of the earlier run are older than `started` by this much.
        std::thread::sleep(Duration::from_millis(50));
        let started = SystemTime::now() - Duration::from_millis(25);
        let mut child = dashboard_into(&out, &["min_n=3"]).spawn().unwrap();
        std::thread::sleep(new_run * percent / 100);
        let _ = child.kill();
        wait_bounded(&mut child, Duration::from_secs(30));

        let manifest = whole_export(&out);
        if contents(&out) == earlier {
            kept += 1;
        } else {
            assert_eq!(min_n(&manifest), BTreeSet::from([3]), "kill {i}");
            for name in entries(&out) {
                let modified = std::fs::metadata(out.join(&name))
                    .unwrap()
                    .modified()
                    .unwrap();
                assert!(modified >= started, "kill {i}: {name} is the earlier run's");
            }
            replaced += 1;
        }

        // The next complete run removes what the killed one left.
        run_complete(&mut dashboard_into(&out, &[]));
        assert_eq!(entries(root.path()), BTreeSet::from(["out".to_string()]));
        no_temporary_files(&out);
    }
    eprintln!(
        "{} kills: the earlier export kept {kept} times, the new one in place {replaced} times",
        KILL_AT.len()
    );
    assert!(kept > 0, "no kill landed before the swap");
}

/// Issue 10: an export never replaces a folder that is not an export.
#[test]
fn an_export_refuses_to_replace_a_folder_that_is_not_an_export() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("report.pbix"), "mine").unwrap();
    let (code, _, stderr) = output(
        tiny()
            .args(["export", "--charts", "partnerships", "--out"])
            .arg(dir.path()),
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("is not a cypdash export (it holds `report.pbix`)"),
        "{stderr}"
    );
    assert_eq!(
        entries(dir.path()),
        BTreeSet::from(["report.pbix".to_string()])
    );
    assert_eq!(
        std::fs::read_dir(dir.path().parent().unwrap())
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.contains(".cypdash-")
                    && name.contains(&*dir.path().file_name().unwrap().to_string_lossy())
            })
            .count(),
        0,
        "no staging directory left"
    );
}

/// The REPL's `\export CHART FOLDER` replaces the folder whole too.
#[test]
fn the_repl_exports_a_folder_whole() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("units");
    let script = format!(
        "\\export key/partnerships {0}\n\\export key/partnerships {0}\n",
        folder.display()
    );
    let mut child = tiny()
        .arg("repl")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(120));
    assert!(status.success());
    assert_eq!(
        entries(&folder),
        [
            "key__partnerships.csv",
            "key__partnerships.parquet",
            "key__partnerships.pq",
            "manifest.json"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(entries(root.path()), BTreeSet::from(["units".to_string()]));
}

/// Issue 17: a funnel chart's export has its limit curves beside it: the
/// data files, their Power Query script, and manifest entries right after
/// the chart's naming the chart file they belong to; a chart without a
/// `[funnel]` declaration has none. On the tiny fixture the default
/// `min_n` withholds every centre: the files are there, without rows, and
/// the manifest says why.
#[test]
fn a_funnel_chart_exports_its_limit_curves_beside_it() {
    let base = "outcomes__reliable_improvement";
    let export = |min_n: &str| {
        let dir = tempfile::tempdir().unwrap();
        let (code, _, stderr) = output(
            crate::common::cypdash()
                .args(["--quiet", "--data", DASHBOARD_DATA, "export", "--charts"])
                .args(["outcomes/reliable_improvement,key/partnerships", "--out"])
                .arg(dir.path())
                .args(["--param", &format!("min_n={min_n}")]),
        );
        assert_eq!(code, 0, "{stderr}");
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap())
                .unwrap();
        let bytes = std::fs::read(dir.path().join(format!("{base}__limits.csv"))).unwrap();
        let records: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
            .from_reader(&bytes[3..])
            .records()
            .collect::<Result<_, _>>()
            .unwrap();
        no_temporary_files(dir.path());
        (dir, manifest, records)
    };

    let (dir, manifest, records) = export("1");
    let files: Vec<(String, String, Option<String>)> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["power_query"].as_str().unwrap().to_string(),
                f["funnel_limits"]["limits_of"].as_str().map(String::from),
            )
        })
        .collect();
    let entry = |file: &str, pq: &str, of: Option<&str>| {
        (file.to_string(), pq.to_string(), of.map(String::from))
    };
    assert_eq!(
        files,
        [
            entry(&format!("{base}.parquet"), &format!("{base}.pq"), None),
            entry(&format!("{base}.csv"), &format!("{base}.pq"), None),
            entry(
                &format!("{base}__limits.parquet"),
                &format!("{base}__limits.pq"),
                Some(&format!("{base}.parquet")),
            ),
            entry(
                &format!("{base}__limits.csv"),
                &format!("{base}__limits.pq"),
                Some(&format!("{base}.csv")),
            ),
            entry("key__partnerships.parquet", "key__partnerships.pq", None),
            entry("key__partnerships.csv", "key__partnerships.pq", None),
        ]
    );
    let limits = &manifest["files"][3];
    assert_eq!(limits["funnel_limits"]["kind"], "proportion_exact");
    assert_eq!(
        limits["funnel_limits"]["group"],
        serde_json::json!(["metric"])
    );
    let columns: Vec<&str> = limits["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        [
            "metric",
            "n",
            "centre",
            "lower_95",
            "upper_95",
            "lower_998",
            "upper_998"
        ]
    );
    // The CSV reads back with the rows the manifest lists, n from 1.
    assert_eq!(limits["rows"], records.len());
    assert!(records.iter().any(|r| &r[1] == "1"), "n = 1 is a row");
    let pq = std::fs::read_to_string(dir.path().join(format!("{base}__limits.pq"))).unwrap();
    assert!(
        pq.contains(&format!("Folder & \"{base}__limits.csv\"")),
        "{pq}"
    );
    assert!(pq.contains("{\"n\", Int64.Type}"), "{pq}");

    let (_dir, manifest, records) = export("5");
    assert!(
        records.is_empty(),
        "limits written with the centre withheld"
    );
    let groups = manifest["files"][3]["funnel_limits"]["groups"]
        .as_array()
        .unwrap();
    assert_eq!(groups.len(), 4);
    for g in groups {
        assert_eq!(g["rows"], 0, "{g}");
        assert!(
            g["omitted"]
                .as_str()
                .unwrap()
                .starts_with("centre withheld"),
            "{g}"
        );
    }
}
