//! `cypdash generate --format mhsds`: the generated data as an MHSDS
//! extract (issue 13), so that the same cases can be read in both shapes
//! and the charts compared (`tests/sql/mhsds_input.rs`).
//!
//! The contract tables are generated as usual into a temporary directory,
//! then rewritten with SQL over a session on them (`docs/mhsds.md` and
//! `shared/spec/mhsds-input.md` give every column):
//!
//! - `MHS101Referral`: one record per referral and month it is open, from
//!   the month of its referral date to that of its closure (open: the last
//!   month of the data), the discharge date only in the month of discharge;
//! - `MHS001MPI`: one record per person, provider and month used by any
//!   table, numbered by `RecordNumber`, which every table carries;
//! - `MHS201CareContact`: direct contacts, and indirect ones not attended
//!   (with no consultation mechanism); `MHS204IndirectActivity`: attended
//!   indirect contacts;
//! - `MHS606CodedScoreAssessmentRefer`: every scale the charts score from
//!   the generated items (`outcome_score`: the same scoring blocks the
//!   charts use), coded by its SNOMED concept (`ref_scale_snomed`, `to_mhsds
//!   = Y`), the score as text, one row per questionnaire and scale;
//!   `MHS606UniqID` = questionnaire_id x 100 + the concept's number (1-40);
//! - `partnership.csv`: each provider's number, name and collaborative.
//!
//! Providers are `OrgIDProv` = partnership_id and teams
//! `UniqCareProfTeamLocalID` = service_id, both as decimal text.

use super::{GenerateError, GenerateOptions, GenerateSummary};
use crate::catalog::Catalog;
use crate::dashboard::Dashboard;
use crate::engine::{Engine, EngineConfig};
use datafusion::dataframe::DataFrameWriteOptions;
use std::fs;
use std::path::{Path, PathBuf};

/// The hidden directory inside the out dir that a run works in.
const TMP_DIR: &str = ".cypdash-mhsds.tmp";

/// The files an MHSDS run writes (tables as `<name>.parquet`).
pub const TABLES: &[&str] = &[
    "MHS001MPI",
    "MHS101Referral",
    "MHS201CareContact",
    "MHS204IndirectActivity",
    "MHS606CodedScoreAssessmentRefer",
];

/// The optional provider list beside the tables.
pub const PARTNERSHIP_CSV: &str = "partnership.csv";

/// `UniqMonthID` of a date column: (year - 1900) x 12 + month - 3.
fn month_id(date: &str) -> String {
    format!(
        "CAST((date_part('year', {date}) - 1900) * 12 + date_part('month', {date}) - 3 AS BIGINT)"
    )
}

/// Whole years from `birth` to `at` (the birthday counts on its day);
/// NULL without a birth date.
fn age(birth: &str, at: &str) -> String {
    format!(
        "CAST(date_part('year', {at}) - date_part('year', {birth}) \
         - CASE WHEN date_part('month', {at}) * 100 + date_part('day', {at}) \
                   < date_part('month', {birth}) * 100 + date_part('day', {birth}) \
                THEN 1 ELSE 0 END AS BIGINT)"
    )
}

/// The SQL of each table, in the order written. The views `mhsds_*` they
/// read are registered first ([`VIEWS`]).
fn table_sql() -> Vec<(&'static str, String)> {
    vec![
        (
            "MHS001MPI",
            format!(
                "SELECT CAST(m.person_id AS VARCHAR) AS \"Person_ID\", m.record_number AS \"RecordNumber\", \
                    m.month AS \"UniqMonthID\", CAST(m.partnership_id AS VARCHAR) AS \"OrgIDProv\", \
                    p.gender AS \"Gender\", CAST(NULL AS VARCHAR) AS \"GenderIDCode\", \
                    p.ethnicity AS \"NHSDEthnicity\", CAST(NULL AS VARCHAR) AS \"LADistrictAuth\", \
                    {age_end} AS \"AgeRepPeriodEnd\", p.birth_date AS \"PersonBirthDate\" \
                 FROM mhsds_record m LEFT JOIN person p ON p.person_id = m.person_id \
                 ORDER BY m.record_number",
                age_end = age(
                    "p.birth_date",
                    "(make_date(CAST(1900 + (m.month + 2) / 12 AS INT), CAST((m.month + 2) % 12 + 1 AS INT), 1) + INTERVAL '1 month' - INTERVAL '1 day')"
                ),
            ),
        ),
        (
            "MHS101Referral",
            format!(
                "SELECT CAST(m.referral_id AS VARCHAR) AS \"UniqServReqID\", \
                    CAST(r.person_id AS VARCHAR) AS \"Person_ID\", k.record_number AS \"RecordNumber\", \
                    m.month AS \"UniqMonthID\", CAST(m.partnership_id AS VARCHAR) AS \"OrgIDProv\", \
                    r.referral_date AS \"ReferralRequestReceivedDate\", \
                    CASE WHEN m.month = m.last_month AND r.closure_date IS NOT NULL \
                        THEN r.closure_date END AS \"ServDischDate\", \
                    {age_ref} AS \"AgeServReferRecDate\", \
                    r.referral_source AS \"SourceOfReferralMH\", \
                    CASE WHEN m.month = m.last_month THEN r.closure_reason END AS \"ReferClosReason\", \
                    CAST(NULL AS DATE) AS \"ReferRejectionDate\", \
                    CAST(NULL AS VARCHAR) AS \"PrimReasonReferralMH\", \
                    CAST(r.service_id AS VARCHAR) AS \"UniqCareProfTeamLocalID\", \
                    CAST(NULL AS VARCHAR) AS \"ServTeamType\" \
                 FROM mhsds_referral_month m \
                 JOIN referral r ON r.referral_id = m.referral_id \
                 LEFT JOIN person p ON p.person_id = r.person_id \
                 JOIN mhsds_record k ON k.person_id = r.person_id \
                    AND k.partnership_id = m.partnership_id AND k.month = m.month \
                 ORDER BY m.referral_id, m.month",
                age_ref = age("p.birth_date", "r.referral_date"),
            ),
        ),
        (
            "MHS201CareContact",
            format!(
                "SELECT CAST(c.contact_id AS VARCHAR) AS \"UniqCareContID\", c.contact_id AS \"MHS201UniqID\", \
                    CAST(x.person_id AS VARCHAR) AS \"Person_ID\", CAST(c.referral_id AS VARCHAR) AS \"UniqServReqID\", \
                    k.record_number AS \"RecordNumber\", {m} AS \"UniqMonthID\", \
                    CAST(x.partnership_id AS VARCHAR) AS \"OrgIDProv\", c.contact_date AS \"CareContDate\", \
                    CAST(NULL AS TIME) AS \"CareContTime\", c.attendance AS \"AttendStatus\", \
                    CASE WHEN c.direct THEN '01' END AS \"ConsMechanismMH\" \
                 FROM contact c \
                 JOIN mhsds_referral_key x ON x.referral_id = c.referral_id \
                 JOIN mhsds_record k ON k.person_id = x.person_id \
                    AND k.partnership_id = x.partnership_id AND k.month = {m} \
                 WHERE c.direct OR c.attendance NOT IN ('5', '6') \
                 ORDER BY c.contact_id",
                m = month_id("c.contact_date"),
            ),
        ),
        (
            "MHS204IndirectActivity",
            format!(
                "SELECT c.contact_id AS \"MHS204UniqID\", CAST(x.person_id AS VARCHAR) AS \"Person_ID\", \
                    CAST(c.referral_id AS VARCHAR) AS \"UniqServReqID\", k.record_number AS \"RecordNumber\", \
                    {m} AS \"UniqMonthID\", CAST(x.partnership_id AS VARCHAR) AS \"OrgIDProv\", \
                    c.contact_date AS \"IndirectActDate\", CAST(NULL AS TIME) AS \"IndirectActTime\" \
                 FROM contact c \
                 JOIN mhsds_referral_key x ON x.referral_id = c.referral_id \
                 JOIN mhsds_record k ON k.person_id = x.person_id \
                    AND k.partnership_id = x.partnership_id AND k.month = {m} \
                 WHERE NOT c.direct AND c.attendance IN ('5', '6') \
                 ORDER BY c.contact_id",
                m = month_id("c.contact_date"),
            ),
        ),
        (
            "MHS606CodedScoreAssessmentRefer",
            format!(
                "SELECT s.questionnaire_id * 100 + n.concept_number AS \"MHS606UniqID\", \
                    CAST(x.person_id AS VARCHAR) AS \"Person_ID\", \
                    CAST(s.referral_id AS VARCHAR) AS \"UniqServReqID\", k.record_number AS \"RecordNumber\", \
                    {m} AS \"UniqMonthID\", CAST(x.partnership_id AS VARCHAR) AS \"OrgIDProv\", \
                    n.snomed_id AS \"CodedAssToolType\", \
                    CAST(CAST(s.score AS BIGINT) AS VARCHAR) AS \"PersScore\", \
                    CAST(s.completed_date AS TIMESTAMP) AS \"AssToolCompTimestamp\", \
                    {age_done} AS \"AgeAssessToolReferCompDate\" \
                 FROM outcome_score s \
                 JOIN mhsds_concept n ON n.measure = s.measure AND n.scale = s.scale \
                    AND (n.informant IS NULL OR n.informant = s.informant) \
                 JOIN mhsds_referral_key x ON x.referral_id = s.referral_id \
                 LEFT JOIN person p ON p.person_id = x.person_id \
                 JOIN mhsds_record k ON k.person_id = x.person_id \
                    AND k.partnership_id = x.partnership_id AND k.month = {m} \
                 ORDER BY 1",
                m = month_id("s.completed_date"),
                age_done = age("p.birth_date", "s.completed_date"),
            ),
        ),
        (
            "partnership",
            "SELECT CAST(partnership_id AS VARCHAR) AS \"OrgIDProv\", partnership_id, \
                partnership_name, collaborative \
             FROM partnership ORDER BY partnership_id"
                .to_string(),
        ),
    ]
}

/// The views the tables are built from, in registration order.
fn views() -> Vec<(&'static str, String)> {
    let last_data_month = format!(
        "(SELECT max(m) FROM (SELECT max({}) AS m FROM referral \
          UNION ALL SELECT max({}) FROM referral \
          UNION ALL SELECT max({}) FROM contact))",
        month_id("referral_date"),
        month_id("closure_date"),
        month_id("contact_date")
    );
    vec![
        (
            // Each referral with its person and provider.
            "mhsds_referral_key",
            "SELECT r.referral_id, r.person_id, s.partnership_id \
             FROM referral r JOIN service s ON s.service_id = r.service_id"
                .to_string(),
        ),
        (
            // One row per referral and month it is open.
            "mhsds_referral_month",
            format!(
                "SELECT referral_id, partnership_id, last_month, \
                    unnest(range(first_month, last_month + 1)) AS month \
                 FROM ( \
                    SELECT r.referral_id, x.partnership_id, {first} AS first_month, \
                        greatest({first}, coalesce({closed}, {last_data_month})) AS last_month \
                    FROM referral r JOIN mhsds_referral_key x ON x.referral_id = r.referral_id)",
                first = month_id("r.referral_date"),
                closed = month_id("r.closure_date"),
            ),
        ),
        (
            // Every (person, provider, month) a table uses, numbered.
            "mhsds_record",
            format!(
                "SELECT person_id, partnership_id, month, \
                    CAST(row_number() OVER (ORDER BY month, partnership_id, person_id) AS BIGINT) \
                        AS record_number \
                 FROM ( \
                    SELECT DISTINCT x.person_id, m.partnership_id, m.month \
                    FROM mhsds_referral_month m \
                    JOIN mhsds_referral_key x ON x.referral_id = m.referral_id \
                    UNION \
                    SELECT x.person_id, x.partnership_id, {c} \
                    FROM contact c JOIN mhsds_referral_key x ON x.referral_id = c.referral_id \
                    UNION \
                    SELECT x.person_id, x.partnership_id, {q} \
                    FROM outcome_score s JOIN mhsds_referral_key x ON x.referral_id = s.referral_id)",
                c = month_id("c.contact_date"),
                q = month_id("s.completed_date"),
            ),
        ),
        (
            // The concepts written: one per cypdash measure, informant
            // (blank: any) and scale, numbered 1-40.
            "mhsds_concept",
            "SELECT snomed_id, measure, nullif(informant, '') AS informant, scale, \
                CAST(row_number() OVER (ORDER BY snomed_id) AS BIGINT) AS concept_number \
             FROM ref_scale_snomed WHERE to_mhsds = 'Y'"
                .to_string(),
        ),
    ]
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> GenerateError + '_ {
    move |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Generate the data of `opts` as an MHSDS extract in `opts.out`. The out
/// directory may be absent, empty, or hold a previous MHSDS run's files.
pub async fn generate_mhsds(
    opts: &GenerateOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<GenerateSummary, GenerateError> {
    let out = &opts.out;
    check_out_dir(out)?;
    let tmp = out.join(TMP_DIR);
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    let result = write_via(opts, &tmp, progress).await;
    let result = match result {
        Ok(summary) => publish(&tmp.join("extract"), out).map(|()| summary),
        Err(e) => Err(e),
    };
    let _ = fs::remove_dir_all(&tmp);
    result
}

async fn write_via(
    opts: &GenerateOptions,
    tmp: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<GenerateSummary, GenerateError> {
    let contract_dir = tmp.join("contract");
    let contract_opts = GenerateOptions {
        out: contract_dir.clone(),
        files_per_table: 1,
        ..opts.clone()
    };
    super::generate(&contract_opts, progress)?;
    let extract = tmp.join("extract");
    fs::create_dir_all(&extract).map_err(io_err(&extract))?;
    convert(&contract_dir, &extract).await
}

/// Rewrite the contract data directory `from` as an MHSDS extract in `to`.
pub async fn convert(from: &Path, to: &Path) -> Result<GenerateSummary, GenerateError> {
    let failed = |table: &'static str| {
        move |source: datafusion::error::DataFusionError| GenerateError::Convert { table, source }
    };
    let engine = Engine::open(EngineConfig::new(from))
        .await
        .map_err(|e| GenerateError::Options(format!("cannot read the generated data: {e}")))?;
    let catalog = Catalog::embedded()
        .map_err(|e| GenerateError::Options(format!("the built-in queries: {e}")))?;
    let dash = Dashboard::new(engine, catalog);
    // The scoring blocks the charts use score the items.
    dash.prepare()
        .await
        .map_err(|e| GenerateError::Options(format!("cannot score the generated items: {e}")))?;
    let ctx = dash.engine().ctx();
    for (name, sql) in views() {
        let view = ctx.sql(&sql).await.map_err(failed(name))?.into_view();
        ctx.register_table(name, view).map_err(failed(name))?;
    }
    let mut tables = Vec::new();
    for (name, sql) in table_sql() {
        let df = ctx.sql(&sql).await.map_err(failed(name))?;
        let (file, options) = if name == "partnership" {
            (to.join(PARTNERSHIP_CSV), DataFrameWriteOptions::new())
        } else {
            (
                to.join(format!("{name}.parquet")),
                DataFrameWriteOptions::new(),
            )
        };
        let path = file.to_string_lossy().into_owned();
        let batches = if name == "partnership" {
            let csv = datafusion::config::CsvOptions::default().with_has_header(true);
            df.write_csv(&path, options.with_single_file_output(true), Some(csv))
                .await
        } else {
            df.write_parquet(&path, options.with_single_file_output(true), None)
                .await
        }
        .map_err(failed(name))?;
        let rows: u64 = batches
            .iter()
            .filter_map(|b| {
                use datafusion::arrow::array::AsArray;
                use datafusion::arrow::datatypes::UInt64Type;
                b.column(0)
                    .as_primitive_opt::<UInt64Type>()
                    .map(|c| c.values().iter().sum::<u64>())
            })
            .sum();
        let label = if name == "partnership" {
            PARTNERSHIP_CSV
        } else {
            name
        };
        tables.push((label.to_string(), rows, 1));
    }
    Ok(GenerateSummary { tables })
}

/// The out dir may hold only what a previous MHSDS run wrote.
fn check_out_dir(out: &Path) -> Result<(), GenerateError> {
    let refuse = |reason: String| GenerateError::OutDir {
        dir: out.to_path_buf(),
        reason,
    };
    match fs::metadata(out) {
        Ok(m) if !m.is_dir() => return Err(refuse("it is not a directory".into())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fs::create_dir_all(out).map_err(io_err(out));
        }
        Err(e) => return Err(io_err(out)(e)),
    }
    for entry in fs::read_dir(out).map_err(io_err(out))? {
        let name = entry.map_err(io_err(out))?.file_name();
        let name = name.to_string_lossy();
        let ours = name == TMP_DIR
            || name == PARTNERSHIP_CSV
            || TABLES.iter().any(|t| name == format!("{t}.parquet"));
        if !ours {
            return Err(refuse(format!(
                "it holds `{name}`, which a previous `generate --format mhsds` run would not \
                 have written (use an empty or new directory)"
            )));
        }
    }
    Ok(())
}

/// Move the finished files from `from` into `out`, replacing old ones.
fn publish(from: &Path, out: &Path) -> Result<(), GenerateError> {
    let names: Vec<PathBuf> = TABLES
        .iter()
        .map(|t| PathBuf::from(format!("{t}.parquet")))
        .chain([PathBuf::from(PARTNERSHIP_CSV)])
        .collect();
    for name in names {
        let (src, dst) = (from.join(&name), out.join(&name));
        if dst.exists() {
            fs::remove_file(&dst).map_err(io_err(&dst))?;
        }
        fs::rename(&src, &dst).map_err(io_err(&dst))?;
    }
    Ok(())
}
