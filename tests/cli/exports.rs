//! Exports read back: Parquet types against the query headers, CSV with
//! its BOM parsed by a standard reader to the same values, the manifest,
//! the Power Query snippets, and no temporary files left behind.

use crate::common::{output, root, settings, tiny, tiny_test_charts};
use cypdash::catalog::{Catalog, QueryFile};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::Compression;
use std::path::Path;

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
