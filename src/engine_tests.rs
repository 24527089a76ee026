//! Contract tests: each input form and each contract error with its message.

use super::*;
use std::path::Path;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A copy of a fixture directory in a fresh temporary directory.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, tmp.path().join(path.file_name().unwrap())).unwrap();
    }
    tmp
}

async fn open(dir: &Path) -> Result<Engine, EngineError> {
    Engine::open(EngineConfig::new(dir)).await
}

async fn count(engine: &Engine, table: &str) -> i64 {
    use datafusion::arrow::array::AsArray;
    let b = engine
        .sql(&format!("SELECT count(*) FROM {table}"))
        .await
        .unwrap();
    b[0].column(0)
        .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
        .value(0)
}

/// Rewrite `table` of `dir` (a CSV) with `select` as Parquet at `target`.
async fn to_parquet(dir: &Path, table: &str, select: &str, target: &str) {
    let engine = open(dir).await.unwrap();
    let path = dir.join(target);
    engine
        .sql(&format!(
            "COPY ({select}) TO '{}' STORED AS PARQUET",
            path.display()
        ))
        .await
        .unwrap();
    drop(engine);
    std::fs::remove_file(dir.join(format!("{table}.csv"))).unwrap();
}

fn contract_problems(result: Result<Engine, EngineError>) -> Vec<ContractProblem> {
    match result {
        Err(EngineError::Contract { problems, .. }) => problems,
        Err(e) => panic!("expected a contract error, got {e}"),
        Ok(_) => panic!("expected a contract error, got a session"),
    }
}

#[tokio::test]
async fn csv_inputs_register_every_table_with_contract_types() {
    let engine = open(&fixture("tiny")).await.unwrap();
    assert_eq!(engine.inputs().len(), contract::TABLES.len());
    assert_eq!(count(&engine, "referral").await, 2);
    let schema = engine
        .ctx()
        .table("referral")
        .await
        .unwrap()
        .schema()
        .clone();
    let date = schema.field_with_unqualified_name("referral_date").unwrap();
    assert_eq!(date.data_type(), &DataType::Date32);
    // Codes stay strings even when they look like numbers.
    let att = engine.ctx().table("contact").await.unwrap();
    let att = att
        .schema()
        .field_with_unqualified_name("attendance")
        .unwrap()
        .clone();
    assert_eq!(att.data_type(), &DataType::Utf8);
}

#[tokio::test]
async fn parquet_file_and_folder_inputs() {
    let tmp = copy_fixture("tiny");
    to_parquet(
        tmp.path(),
        "referral",
        "SELECT * FROM referral",
        "referral.parquet",
    )
    .await;
    to_parquet(tmp.path(), "contact", "SELECT * FROM contact", "contact/").await;
    let engine = open(tmp.path()).await.unwrap();
    let kinds: Vec<_> = engine
        .inputs()
        .iter()
        .map(|t| (t.name, t.source.kind()))
        .collect();
    assert!(kinds.contains(&("referral", "parquet")), "{kinds:?}");
    assert!(kinds.contains(&("contact", "parquet folder")), "{kinds:?}");
    assert_eq!(count(&engine, "referral").await, 2);
    assert_eq!(count(&engine, "contact").await, 2);
}

#[tokio::test]
async fn extra_columns_are_ignored_and_int32_ids_are_widened() {
    let tmp = copy_fixture("tiny");
    to_parquet(
        tmp.path(),
        "partnership",
        "SELECT CAST(partnership_id AS INT) AS partnership_id, partnership_name, collaborative, 'x' AS extra FROM partnership",
        "partnership.parquet",
    )
    .await;
    let engine = open(tmp.path()).await.unwrap();
    let df = engine.ctx().table("partnership").await.unwrap();
    let names: Vec<_> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        ["partnership_id", "partnership_name", "collaborative"]
    );
    assert_eq!(df.schema().field(0).data_type(), &DataType::Int64);
}

#[tokio::test]
async fn missing_table_is_named_with_the_forms_expected() {
    let tmp = copy_fixture("tiny");
    std::fs::remove_file(tmp.path().join("contact.csv")).unwrap();
    let problems = contract_problems(open(tmp.path()).await);
    assert_eq!(problems.len(), 1);
    let msg = problems[0].to_string();
    assert!(msg.starts_with("table `contact` is missing: expected contact.parquet, a folder contact/ of Parquet files, or contact.csv"), "{msg}");
}

#[tokio::test]
async fn missing_column_names_table_column_and_type() {
    let tmp = copy_fixture("tiny");
    to_parquet(
        tmp.path(),
        "referral",
        "SELECT referral_id, person_id, service_id, referral_source, closure_date, closure_reason FROM referral",
        "referral.parquet",
    )
    .await;
    let problems = contract_problems(open(tmp.path()).await);
    let msg = problems[0].to_string();
    assert!(
        msg.contains("table `referral`")
            && msg.contains("required column `referral_date` (DATE) is missing"),
        "{msg}"
    );
}

#[tokio::test]
async fn wrong_type_names_expected_and_found() {
    let tmp = copy_fixture("tiny");
    to_parquet(
        tmp.path(),
        "referral",
        "SELECT referral_id, person_id, service_id, CAST(referral_date AS VARCHAR) AS referral_date, referral_source, closure_date, closure_reason FROM referral",
        "referral.parquet",
    )
    .await;
    let problems = contract_problems(open(tmp.path()).await);
    assert_eq!(problems.len(), 1);
    let msg = problems[0].to_string();
    assert!(
        msg.contains("table `referral`")
            && msg.contains("column `referral_date` has type Utf8View, expected DATE"),
        "{msg}"
    );
}

#[tokio::test]
async fn unreadable_file_names_the_path() {
    let tmp = copy_fixture("tiny");
    std::fs::remove_file(tmp.path().join("person.csv")).unwrap();
    std::fs::write(tmp.path().join("person.parquet"), b"this is not parquet").unwrap();
    let problems = contract_problems(open(tmp.path()).await);
    let msg = problems[0].to_string();
    assert!(
        msg.starts_with("table `person`: cannot read ") && msg.contains("person.parquet"),
        "{msg}"
    );
}

#[tokio::test]
async fn every_problem_is_reported_at_once() {
    let tmp = copy_fixture("tiny");
    std::fs::remove_file(tmp.path().join("contact.csv")).unwrap();
    std::fs::remove_file(tmp.path().join("person.csv")).unwrap();
    let err = open(tmp.path()).await.unwrap_err().to_string();
    assert!(
        err.contains("(2 problems)") && err.contains("`person`") && err.contains("`contact`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_table_given_twice_is_ambiguous() {
    let tmp = copy_fixture("tiny");
    std::fs::create_dir(tmp.path().join("contact")).unwrap();
    let problems = contract_problems(open(tmp.path()).await);
    assert!(problems[0]
        .to_string()
        .contains("table `contact` is given more than once"));
}

#[tokio::test]
async fn missing_data_dir_is_an_error() {
    let err = open(Path::new("/no/such/dir")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "data directory /no/such/dir does not exist or is not a directory"
    );
}

#[tokio::test]
async fn a_reference_file_in_the_data_dir_overrides_the_shipped_one() {
    let tmp = copy_fixture("tiny");
    std::fs::write(
        tmp.path().join("ref_gender.csv"),
        "code,label,group_label,sort_order,source\n1,Boy,Boys,1,local\n",
    )
    .unwrap();
    let engine = open(tmp.path()).await.unwrap();
    let r = engine
        .references()
        .iter()
        .find(|r| r.name == "ref_gender")
        .unwrap();
    assert_eq!(
        r.origin,
        crate::reference::ReferenceOrigin::Override(tmp.path().join("ref_gender.csv"))
    );
    assert_eq!(count(&engine, "ref_gender").await, 1);
    // Others stay shipped.
    let e = engine
        .references()
        .iter()
        .find(|r| r.name == "ref_ethnicity")
        .unwrap();
    assert_eq!(e.origin, crate::reference::ReferenceOrigin::Shipped);
}

#[tokio::test]
async fn memory_limit_is_enforced_and_names_consumers() {
    let mut config = EngineConfig::new(fixture("tiny"));
    config.memory_limit = Some(1024);
    let engine = Engine::open(config).await.unwrap();
    let err = engine
        .sql("SELECT v, count(*) FROM (SELECT CAST(value AS VARCHAR) || repeat('x', 1000) AS v FROM generate_series(1, 200000) AS t(value)) GROUP BY v")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("Resources exhausted"), "{err}");
    assert!(
        err.contains("consumed"),
        "the error names the top consumers: {err}"
    );
}

/// `validate` over `tests/fixtures/flawed`: every flaw class its README
/// lists is found, with the README's count and its first example id, and
/// nothing else is reported.
#[tokio::test]
async fn validate_finds_each_injected_flaw_with_its_count() {
    use std::collections::BTreeMap;
    let engine = open(&fixture("flawed")).await.unwrap();
    let findings = crate::validate::quality_findings(&engine).await.unwrap();
    let got: BTreeMap<(String, String), (u64, Vec<String>)> = findings
        .into_iter()
        .map(|f| ((f.problem, f.table), (f.count, f.examples)))
        .collect();

    // The README's table: | problem | table | count | ids |, ids starting
    // with the smallest offending id.
    let readme = std::fs::read_to_string(fixture("flawed").join("README.md")).unwrap();
    let mut expected = BTreeMap::new();
    for line in readme.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [problem, table, count, ids] = cells[..] else {
            panic!("README row with {} cells: {line}", cells.len());
        };
        let Ok(count) = count.parse::<u64>() else {
            continue; // the header row
        };
        let first_id: String = ids.chars().take_while(char::is_ascii_digit).collect();
        expected.insert((problem.to_string(), table.to_string()), (count, first_id));
    }
    assert!(expected.len() >= 20, "README table not read: {expected:?}");

    for (key, (count, first_id)) in &expected {
        let Some((got_count, examples)) = got.get(key) else {
            panic!("{key:?}: not reported; reported: {:?}", got.keys());
        };
        assert_eq!(got_count, count, "{key:?}");
        assert_eq!(examples.first(), Some(first_id), "{key:?}: {examples:?}");
    }
    let extra: Vec<_> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(extra.is_empty(), "reported but not injected: {extra:?}");
}
