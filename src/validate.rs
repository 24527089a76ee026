//! `cypdash validate`: the contract check plus data-quality checks.
//!
//! Contract problems (missing table or column, wrong type, unreadable file)
//! are errors: no chart can run. Quality problems are warnings: the charts
//! run, and each documented rule decides how the flawed rows count (an
//! out-of-range item is scored as missing, a questionnaire dated before its
//! referral is never a T1, ...). Each check is one SQL query yielding the
//! ids of the offending rows.

use crate::engine::{ContractProblem, Engine};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::error::DataFusionError;
use serde::Serialize;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One line of the validation summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub problem: String,
    pub table: String,
    pub count: u64,
    /// Up to three example ids (or the problem's detail for contract errors).
    pub examples: Vec<String>,
}

/// One quality check: the SQL yields one row per offending record, in a
/// column `id` (Int64) identifying it.
#[derive(Debug)]
pub struct Check {
    pub problem: &'static str,
    pub table: &'static str,
    pub sql: &'static str,
}

/// Every data-quality check, in the order they are reported.
pub const CHECKS: &[Check] = &[
    // Duplicate ids.
    Check { problem: "duplicate id", table: "partnership", sql: "SELECT partnership_id AS id FROM partnership GROUP BY partnership_id HAVING count(*) > 1" },
    Check { problem: "duplicate id", table: "service", sql: "SELECT service_id AS id FROM service GROUP BY service_id HAVING count(*) > 1" },
    Check { problem: "duplicate id", table: "person", sql: "SELECT person_id AS id FROM person GROUP BY person_id HAVING count(*) > 1" },
    Check { problem: "duplicate id", table: "referral", sql: "SELECT referral_id AS id FROM referral GROUP BY referral_id HAVING count(*) > 1" },
    Check { problem: "duplicate id", table: "contact", sql: "SELECT contact_id AS id FROM contact GROUP BY contact_id HAVING count(*) > 1" },
    Check { problem: "duplicate id", table: "questionnaire", sql: "SELECT questionnaire_id AS id FROM questionnaire GROUP BY questionnaire_id HAVING count(*) > 1" },
    Check { problem: "duplicate item in a questionnaire", table: "questionnaire_item", sql: "SELECT questionnaire_id AS id FROM questionnaire_item GROUP BY questionnaire_id, item HAVING count(*) > 1" },
    // Orphan foreign keys.
    Check { problem: "service without a partnership", table: "service", sql: "SELECT s.service_id AS id FROM service s LEFT ANTI JOIN partnership p ON s.partnership_id = p.partnership_id" },
    Check { problem: "referral without a person", table: "referral", sql: "SELECT r.referral_id AS id FROM referral r LEFT ANTI JOIN person p ON r.person_id = p.person_id" },
    Check { problem: "referral without a service", table: "referral", sql: "SELECT r.referral_id AS id FROM referral r LEFT ANTI JOIN service s ON r.service_id = s.service_id" },
    Check { problem: "contact without a referral", table: "contact", sql: "SELECT c.contact_id AS id FROM contact c LEFT ANTI JOIN referral r ON c.referral_id = r.referral_id" },
    Check { problem: "questionnaire without a referral", table: "questionnaire", sql: "SELECT q.questionnaire_id AS id FROM questionnaire q LEFT ANTI JOIN referral r ON q.referral_id = r.referral_id" },
    Check { problem: "questionnaire with an unknown contact", table: "questionnaire", sql: "SELECT q.questionnaire_id AS id FROM questionnaire q LEFT ANTI JOIN contact c ON q.contact_id = c.contact_id WHERE q.contact_id IS NOT NULL" },
    Check { problem: "item without a questionnaire", table: "questionnaire_item", sql: "SELECT DISTINCT i.questionnaire_id AS id FROM questionnaire_item i LEFT ANTI JOIN questionnaire q ON i.questionnaire_id = q.questionnaire_id" },
    // Codes.
    Check { problem: "unknown measure or informant", table: "questionnaire", sql: "SELECT questionnaire_id AS id FROM questionnaire WHERE measure NOT IN ('SDQ', 'RCADS', 'ESQ', 'GBO', 'CURRENT_VIEW') OR informant NOT IN ('parent', 'self', 'teacher', 'clinician')" },
    Check { problem: "unknown item code", table: "questionnaire_item", sql: "SELECT DISTINCT i.questionnaire_id AS id FROM questionnaire_item i JOIN questionnaire q ON i.questionnaire_id = q.questionnaire_id LEFT ANTI JOIN ref_item_range r ON r.measure = q.measure AND r.item = i.item WHERE q.measure IN ('SDQ', 'RCADS', 'ESQ', 'GBO', 'CURRENT_VIEW')" },
    Check { problem: "out-of-range item value", table: "questionnaire_item", sql: "SELECT DISTINCT i.questionnaire_id AS id FROM questionnaire_item i JOIN questionnaire q ON i.questionnaire_id = q.questionnaire_id JOIN ref_item_range r ON r.measure = q.measure AND r.item = i.item WHERE i.value IS NOT NULL AND (r.min_value IS NULL OR i.value < r.min_value OR i.value > r.max_value) AND (r.other_valid IS NULL OR i.value <> r.other_valid)" },
    Check { problem: "unknown gender code", table: "person", sql: "SELECT p.person_id AS id FROM person p LEFT ANTI JOIN ref_gender g ON p.gender = g.code WHERE p.gender IS NOT NULL" },
    Check { problem: "unknown ethnicity code", table: "person", sql: "SELECT p.person_id AS id FROM person p LEFT ANTI JOIN ref_ethnicity g ON p.ethnicity = g.code WHERE p.ethnicity IS NOT NULL" },
    Check { problem: "unknown referral source code", table: "referral", sql: "SELECT r.referral_id AS id FROM referral r LEFT ANTI JOIN ref_referral_source s ON r.referral_source = s.code WHERE r.referral_source IS NOT NULL" },
    Check { problem: "unknown closure reason code", table: "referral", sql: "SELECT r.referral_id AS id FROM referral r LEFT ANTI JOIN ref_closure_reason s ON r.closure_reason = s.code WHERE r.closure_reason IS NOT NULL" },
    Check { problem: "unknown attendance code", table: "contact", sql: "SELECT c.contact_id AS id FROM contact c LEFT ANTI JOIN ref_attendance a ON c.attendance = a.code" },
    // Dates.
    Check { problem: "closure before referral", table: "referral", sql: "SELECT referral_id AS id FROM referral WHERE closure_date < referral_date" },
    Check { problem: "questionnaire before referral", table: "questionnaire", sql: "SELECT q.questionnaire_id AS id FROM questionnaire q JOIN referral r ON q.referral_id = r.referral_id WHERE q.completed_date < r.referral_date" },
    Check { problem: "questionnaire after closure", table: "questionnaire", sql: "SELECT q.questionnaire_id AS id FROM questionnaire q JOIN referral r ON q.referral_id = r.referral_id WHERE q.completed_date > r.closure_date" },
    Check { problem: "contact before referral", table: "contact", sql: "SELECT c.contact_id AS id FROM contact c JOIN referral r ON c.referral_id = r.referral_id WHERE c.contact_date < r.referral_date" },
    Check { problem: "contact after closure", table: "contact", sql: "SELECT c.contact_id AS id FROM contact c JOIN referral r ON c.referral_id = r.referral_id WHERE c.contact_date > r.closure_date" },
    Check { problem: "birth after referral", table: "referral", sql: "SELECT r.referral_id AS id FROM referral r JOIN person p ON r.person_id = p.person_id WHERE p.birth_date > r.referral_date" },
    Check { problem: "future date", table: "referral", sql: "SELECT referral_id AS id FROM referral WHERE referral_date > current_date() OR closure_date > current_date()" },
    Check { problem: "future date", table: "contact", sql: "SELECT contact_id AS id FROM contact WHERE contact_date > current_date()" },
    Check { problem: "future date", table: "questionnaire", sql: "SELECT questionnaire_id AS id FROM questionnaire WHERE completed_date > current_date()" },
    Check { problem: "future date", table: "person", sql: "SELECT person_id AS id FROM person WHERE birth_date > current_date()" },
    // Cases.
    Check { problem: "open case with no contacts", table: "referral", sql: "SELECT r.referral_id AS id FROM referral r LEFT ANTI JOIN contact c ON c.referral_id = r.referral_id WHERE r.closure_date IS NULL" },
];

/// Turn contract problems into error findings (the quality checks need a
/// session, so they run only once the contract holds).
pub fn contract_findings(problems: &[ContractProblem]) -> Vec<Finding> {
    problems
        .iter()
        .map(|p| Finding {
            severity: Severity::Error,
            problem: p.class().to_string(),
            table: p.table().to_string(),
            count: 1,
            examples: vec![p.to_string()],
        })
        .collect()
}

/// Run every quality check over a session whose tables meet the contract.
pub async fn quality_findings(engine: &Engine) -> Result<Vec<Finding>, DataFusionError> {
    let mut findings = Vec::new();
    for check in CHECKS {
        let (count, examples) = run_check(engine, check).await?;
        if count > 0 {
            findings.push(Finding {
                severity: Severity::Warning,
                problem: check.problem.to_string(),
                table: check.table.to_string(),
                count,
                examples,
            });
        }
    }
    Ok(findings)
}

async fn run_check(engine: &Engine, check: &Check) -> Result<(u64, Vec<String>), DataFusionError> {
    let sql = format!(
        "WITH bad AS ({}) \
         SELECT (SELECT count(*) FROM bad) AS n, id FROM (SELECT id FROM bad ORDER BY id LIMIT 3) \
         UNION ALL SELECT (SELECT count(*) FROM bad), CAST(NULL AS BIGINT) ORDER BY id NULLS LAST",
        check.sql
    );
    let batches: Vec<RecordBatch> = engine.sql(&sql).await.map_err(|e| {
        e.context(format!(
            "validate check `{}` on table `{}`",
            check.problem, check.table
        ))
    })?;
    let mut count = 0;
    let mut examples = Vec::new();
    for b in &batches {
        let n = b.column(0).as_primitive::<Int64Type>();
        let ids = b.column(1).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            count = n.value(i) as u64;
            if ids.is_valid(i) {
                examples.push(ids.value(i).to_string());
            }
        }
    }
    Ok((count, examples))
}

/// True when any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// The findings as one record batch (severity, problem, table, count, examples).
pub fn findings_batch(
    findings: &[Finding],
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    use datafusion::arrow::array::{StringArray, UInt64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![
        Field::new("severity", DataType::Utf8, false),
        Field::new("problem", DataType::Utf8, false),
        Field::new("table", DataType::Utf8, false),
        Field::new("count", DataType::UInt64, false),
        Field::new("examples", DataType::Utf8, false),
    ]));
    let text = |f: fn(&Finding) -> String| {
        Arc::new(StringArray::from(
            findings.iter().map(f).collect::<Vec<_>>(),
        ))
    };
    RecordBatch::try_new(
        schema,
        vec![
            text(|f| match f.severity {
                Severity::Error => "error".to_string(),
                Severity::Warning => "warning".to_string(),
            }),
            text(|f| f.problem.clone()),
            text(|f| f.table.clone()),
            Arc::new(UInt64Array::from(
                findings.iter().map(|f| f.count).collect::<Vec<_>>(),
            )),
            text(|f| f.examples.join(", ")),
        ],
    )
}
