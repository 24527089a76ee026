//! `cypdash validate`: the contract check plus data checks.
//!
//! Errors (exit status 1) are breaches of the contract itself: a missing
//! table or column, a wrong type, an unreadable file (no chart can run),
//! and a NULL in a column the contract requires (`nullable: false` in
//! `contract.rs`; the charts run, but the contract's producer broke its
//! promise and rows silently drop out). Warnings are data the contract
//! allows but that is implausible or inconsistent between tables (orphan
//! keys, unknown codes, dates out of order): the charts run, and each
//! documented rule decides how the flawed rows count (an out-of-range item
//! is scored as missing, a questionnaire dated before its referral is never
//! a T1, ...). Each check is one SQL query yielding the ids of the
//! offending rows; NULL and orphan-key findings also say what the charts do
//! with those rows.
//!
//! Beside the findings, [`table_layouts`] lists each input table's files,
//! the sort order they declare and whether the rows hold it (issue 18); a
//! declared order that does not hold is an error ([`layout_findings`]):
//! the engine registers it and DataFusion trusts it.

use crate::contract;
use crate::engine::{mhsds, ContractProblem, Engine};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::error::DataFusionError;
use serde::Serialize;
use std::borrow::Cow;

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
    /// What the charts do with these rows (empty when not stated).
    pub effect: String,
}

/// One data check: the SQL yields one row per offending record, in a
/// column `id` (Int64) identifying it.
#[derive(Debug, Clone)]
pub struct Check {
    pub problem: Cow<'static, str>,
    pub table: &'static str,
    pub sql: Cow<'static, str>,
    pub severity: Severity,
    /// What the charts do with the offending rows ("" when not stated).
    pub effect: &'static str,
}

/// A warning check with no stated effect.
const fn warn(problem: &'static str, table: &'static str, sql: &'static str) -> Check {
    warn_with_effect(problem, table, sql, "")
}

/// A warning check that says what the charts do with the rows.
const fn warn_with_effect(
    problem: &'static str,
    table: &'static str,
    sql: &'static str,
    effect: &'static str,
) -> Check {
    Check {
        problem: Cow::Borrowed(problem),
        table,
        sql: Cow::Borrowed(sql),
        severity: Severity::Warning,
        effect,
    }
}

/// What the charts do with rows whose parent is missing (or whose key to
/// it is NULL); each statement follows the query files (`in_scope_referral`
/// joins referrals to the compared units' services and left-joins people;
/// every other table reaches a chart through its referral).
const EFFECT_SERVICE_LEFT_OUT: &str =
    "not counted by any chart, nor are their referrals with their contacts and questionnaires";
const EFFECT_NO_PERSON: &str = "counted, with age, gender and ethnicity unknown";
const EFFECT_REFERRAL_LEFT_OUT: &str =
    "not counted by any chart, nor are their contacts and questionnaires";
const EFFECT_CONTACT_LEFT_OUT: &str = "not counted by any chart";
const EFFECT_QUESTIONNAIRE_LEFT_OUT: &str = "not counted by any chart, nor are their items";
const EFFECT_ITEM_LEFT_OUT: &str = "not counted by any chart";

/// The data-quality checks (warnings), in the order they are reported
/// (after the NULL checks, see [`checks`]).
#[rustfmt::skip]
pub const CHECKS: &[Check] = &[
    // Duplicate ids.
    warn("duplicate id", "partnership", "SELECT partnership_id AS id FROM partnership WHERE partnership_id IS NOT NULL GROUP BY partnership_id HAVING count(*) > 1"),
    warn("duplicate id", "service", "SELECT service_id AS id FROM service WHERE service_id IS NOT NULL GROUP BY service_id HAVING count(*) > 1"),
    warn("duplicate id", "person", "SELECT person_id AS id FROM person WHERE person_id IS NOT NULL GROUP BY person_id HAVING count(*) > 1"),
    warn("duplicate id", "referral", "SELECT referral_id AS id FROM referral WHERE referral_id IS NOT NULL GROUP BY referral_id HAVING count(*) > 1"),
    warn("duplicate id", "contact", "SELECT contact_id AS id FROM contact WHERE contact_id IS NOT NULL GROUP BY contact_id HAVING count(*) > 1"),
    warn("duplicate id", "questionnaire", "SELECT questionnaire_id AS id FROM questionnaire WHERE questionnaire_id IS NOT NULL GROUP BY questionnaire_id HAVING count(*) > 1"),
    warn("duplicate item in a questionnaire", "questionnaire_item", "SELECT questionnaire_id AS id FROM questionnaire_item GROUP BY questionnaire_id, item HAVING count(*) > 1"),
    // Orphan foreign keys.
    // A NULL key is reported by its NULL check, not here.
    warn_with_effect("service without a partnership", "service", "SELECT s.service_id AS id FROM service s LEFT ANTI JOIN partnership p ON s.partnership_id = p.partnership_id WHERE s.partnership_id IS NOT NULL", EFFECT_SERVICE_LEFT_OUT),
    warn_with_effect("referral without a person", "referral", "SELECT r.referral_id AS id FROM referral r LEFT ANTI JOIN person p ON r.person_id = p.person_id WHERE r.person_id IS NOT NULL", EFFECT_NO_PERSON),
    warn_with_effect("referral without a service", "referral", "SELECT r.referral_id AS id FROM referral r LEFT ANTI JOIN service s ON r.service_id = s.service_id WHERE r.service_id IS NOT NULL", EFFECT_REFERRAL_LEFT_OUT),
    warn_with_effect("contact without a referral", "contact", "SELECT c.contact_id AS id FROM contact c LEFT ANTI JOIN referral r ON c.referral_id = r.referral_id WHERE c.referral_id IS NOT NULL", EFFECT_CONTACT_LEFT_OUT),
    warn_with_effect("questionnaire without a referral", "questionnaire", "SELECT q.questionnaire_id AS id FROM questionnaire q LEFT ANTI JOIN referral r ON q.referral_id = r.referral_id WHERE q.referral_id IS NOT NULL", EFFECT_QUESTIONNAIRE_LEFT_OUT),
    warn_with_effect("questionnaire with an unknown contact", "questionnaire", "SELECT q.questionnaire_id AS id FROM questionnaire q LEFT ANTI JOIN contact c ON q.contact_id = c.contact_id WHERE q.contact_id IS NOT NULL", "counted as usual: no chart reads contact_id"),
    warn_with_effect("item without a questionnaire", "questionnaire_item", "SELECT DISTINCT i.questionnaire_id AS id FROM questionnaire_item i LEFT ANTI JOIN questionnaire q ON i.questionnaire_id = q.questionnaire_id WHERE i.questionnaire_id IS NOT NULL", EFFECT_ITEM_LEFT_OUT),
    // Codes.
    warn("unknown measure or informant", "questionnaire", "SELECT questionnaire_id AS id FROM questionnaire WHERE measure NOT IN ('SDQ', 'RCADS', 'ESQ', 'GBO', 'CURRENT_VIEW') OR informant NOT IN ('parent', 'self', 'teacher', 'clinician')"),
    warn("unknown item code", "questionnaire_item", "SELECT DISTINCT i.questionnaire_id AS id FROM questionnaire_item i JOIN questionnaire q ON i.questionnaire_id = q.questionnaire_id LEFT ANTI JOIN ref_item_range r ON r.measure = q.measure AND r.item = i.item WHERE q.measure IN ('SDQ', 'RCADS', 'ESQ', 'GBO', 'CURRENT_VIEW') AND i.item IS NOT NULL"),
    warn("out-of-range item value", "questionnaire_item", "SELECT DISTINCT i.questionnaire_id AS id FROM questionnaire_item i JOIN questionnaire q ON i.questionnaire_id = q.questionnaire_id JOIN ref_item_range r ON r.measure = q.measure AND r.item = i.item WHERE i.value IS NOT NULL AND (r.min_value IS NULL OR i.value < r.min_value OR i.value > r.max_value) AND (r.other_valid IS NULL OR i.value <> r.other_valid)"),
    warn("unknown gender code", "person", "SELECT p.person_id AS id FROM person p LEFT ANTI JOIN ref_gender g ON p.gender = g.code WHERE p.gender IS NOT NULL"),
    warn("unknown ethnicity code", "person", "SELECT p.person_id AS id FROM person p LEFT ANTI JOIN ref_ethnicity g ON p.ethnicity = g.code WHERE p.ethnicity IS NOT NULL"),
    warn("unknown referral source code", "referral", "SELECT r.referral_id AS id FROM referral r LEFT ANTI JOIN ref_referral_source s ON r.referral_source = s.code WHERE r.referral_source IS NOT NULL"),
    warn("unknown closure reason code", "referral", "SELECT r.referral_id AS id FROM referral r LEFT ANTI JOIN ref_closure_reason s ON r.closure_reason = s.code WHERE r.closure_reason IS NOT NULL"),
    warn("unknown attendance code", "contact", "SELECT c.contact_id AS id FROM contact c LEFT ANTI JOIN ref_attendance a ON c.attendance = a.code WHERE c.attendance IS NOT NULL"),
    // Dates.
    warn("closure before referral", "referral", "SELECT referral_id AS id FROM referral WHERE closure_date < referral_date"),
    warn("questionnaire before referral", "questionnaire", "SELECT q.questionnaire_id AS id FROM questionnaire q JOIN referral r ON q.referral_id = r.referral_id WHERE q.completed_date < r.referral_date"),
    warn("questionnaire after closure", "questionnaire", "SELECT q.questionnaire_id AS id FROM questionnaire q JOIN referral r ON q.referral_id = r.referral_id WHERE q.completed_date > r.closure_date"),
    warn("contact before referral", "contact", "SELECT c.contact_id AS id FROM contact c JOIN referral r ON c.referral_id = r.referral_id WHERE c.contact_date < r.referral_date"),
    warn("contact after closure", "contact", "SELECT c.contact_id AS id FROM contact c JOIN referral r ON c.referral_id = r.referral_id WHERE c.contact_date > r.closure_date"),
    warn("birth after referral", "referral", "SELECT r.referral_id AS id FROM referral r JOIN person p ON r.person_id = p.person_id WHERE p.birth_date > r.referral_date"),
    warn("future date", "referral", "SELECT referral_id AS id FROM referral WHERE referral_date > current_date() OR closure_date > current_date()"),
    warn("future date", "contact", "SELECT contact_id AS id FROM contact WHERE contact_date > current_date()"),
    warn("future date", "questionnaire", "SELECT questionnaire_id AS id FROM questionnaire WHERE completed_date > current_date()"),
    warn("future date", "person", "SELECT person_id AS id FROM person WHERE birth_date > current_date()"),
    // Cases.
    warn("open case with no contacts", "referral", "SELECT r.referral_id AS id FROM referral r LEFT ANTI JOIN contact c ON c.referral_id = r.referral_id WHERE r.closure_date IS NULL"),
    // Scale scores (questionnaire_score): a questionnaire with items is
    // scored from them; one without is scored from these rows.
    warn_with_effect("scale given twice in a questionnaire", "questionnaire_score", "SELECT questionnaire_id AS id FROM questionnaire_score GROUP BY questionnaire_id, scale HAVING count(*) > 1", "the scale counts as not scored unless both values agree"),
    warn_with_effect("scale score without a questionnaire", "questionnaire_score", "SELECT DISTINCT s.questionnaire_id AS id FROM questionnaire_score s LEFT ANTI JOIN questionnaire q ON s.questionnaire_id = q.questionnaire_id WHERE s.questionnaire_id IS NOT NULL", EFFECT_ITEM_LEFT_OUT),
    warn_with_effect("unknown scale for the measure", "questionnaire_score", "SELECT DISTINCT s.questionnaire_id AS id FROM questionnaire_score s JOIN questionnaire q ON s.questionnaire_id = q.questionnaire_id LEFT ANTI JOIN ref_scale r ON r.measure = q.measure AND r.scale = s.scale WHERE s.scale IS NOT NULL", "not read by any chart"),
    warn_with_effect("out-of-range or fractional scale score", "questionnaire_score", "SELECT DISTINCT s.questionnaire_id AS id FROM questionnaire_score s JOIN questionnaire q ON s.questionnaire_id = q.questionnaire_id JOIN ref_scale r ON r.measure = q.measure AND r.scale = s.scale WHERE s.score < r.min_score OR s.score > r.max_score OR s.score <> round(s.score)", "the scale counts as not scored (as an out-of-range item does)"),
    warn_with_effect("scale score disagrees with its items", "questionnaire_score", SCORE_DISAGREES, "the items win: the charts score the questionnaire from its items"),
];

/// Questionnaires with both items and scale scores whose given score of a
/// scale differs from the score of its items (scored as the charts score
/// them: `sdq_scores`, `rcads_scores`, goal ratings 0-10).
const SCORE_DISAGREES: &str = "\
    WITH both_kinds AS ( \
        SELECT DISTINCT questionnaire_id FROM questionnaire_score \
        WHERE questionnaire_id IN (SELECT questionnaire_id FROM questionnaire_item)), \
    item AS ( \
        SELECT i.* FROM questionnaire_item i JOIN both_kinds b USING (questionnaire_id)), \
    sdq AS (SELECT questionnaire_id, sdq_scores(item, value) AS s FROM item GROUP BY questionnaire_id), \
    rcads AS (SELECT questionnaire_id, rcads_scores(item, value) AS s FROM item GROUP BY questionnaire_id), \
    scored AS ( \
        SELECT questionnaire_id, 'SDQ' AS measure, \
            unnest(['emotional', 'conduct', 'hyperactivity', 'peer', 'prosocial', \
                    'total_difficulties', 'externalising', 'internalising', 'impact']) AS scale, \
            unnest([s['emotional'], s['conduct'], s['hyperactivity'], s['peer'], s['prosocial'], \
                    s['total_difficulties'], s['externalising'], s['internalising'], s['impact']]) AS v \
        FROM sdq \
        UNION ALL \
        SELECT questionnaire_id, 'RCADS', \
            unnest(['separation_anxiety', 'generalised_anxiety', 'panic', 'social_phobia', \
                    'ocd', 'depression', 'total_anxiety', 'total']), \
            unnest([s['separation_anxiety'], s['generalised_anxiety'], s['panic'], \
                    s['social_phobia'], s['ocd'], s['depression'], s['total_anxiety'], s['total']]) \
        FROM rcads \
        UNION ALL \
        SELECT questionnaire_id, 'GBO', item, CAST(CASE WHEN value BETWEEN 0 AND 10 THEN value END AS BIGINT) \
        FROM item WHERE item IN ('goal_1', 'goal_2', 'goal_3')) \
    SELECT DISTINCT s.questionnaire_id AS id \
    FROM questionnaire_score s \
    JOIN questionnaire q USING (questionnaire_id) \
    JOIN scored x ON x.questionnaire_id = s.questionnaire_id AND x.measure = q.measure AND x.scale = s.scale \
    WHERE s.score IS DISTINCT FROM CAST(x.v AS DOUBLE)";

/// What the charts do with a row holding a NULL in a required column, for
/// each column the contract requires (`nullable: false`); a test checks that
/// every such column has its entry. A NULL key behaves like a key to a
/// missing parent (see the orphan checks). Each statement was checked by
/// running every chart over `tests/fixtures/dashboard` with the column
/// NULL in every other row, against the same rows removed (for "not
/// counted by any chart") or left as they were (for "counted as usual");
/// `tests/cli/errors.rs` keeps some of these comparisons as tests.
#[rustfmt::skip]
pub const NULL_EFFECTS: &[(&str, &str, &str)] = &[
    ("partnership", "partnership_id", "shown with no id and no services or cases; its services and their referrals are not counted by any chart"),
    ("partnership", "partnership_name", "counted, with no name on the charts"),
    ("partnership", "collaborative", "counted when every collaborative is compared, but in no collaborative's figures (benchmark, or a chart restricted to one collaborative)"),
    ("service", "service_id", "counted as a team with no referrals (none can point to it)"),
    ("service", "partnership_id", EFFECT_SERVICE_LEFT_OUT),
    ("service", "service_name", "counted, with no name on the team charts"),
    ("person", "person_id", "no referral can point to them: their referrals count with age, gender and ethnicity unknown"),
    ("referral", "referral_id", "counted as a referral with no contacts or questionnaires (none can point to it)"),
    ("referral", "person_id", EFFECT_NO_PERSON),
    ("referral", "service_id", EFFECT_REFERRAL_LEFT_OUT),
    ("referral", "referral_date", EFFECT_REFERRAL_LEFT_OUT),
    ("contact", "contact_id", "counted as usual: no chart reads contact_id"),
    ("contact", "referral_id", EFFECT_CONTACT_LEFT_OUT),
    ("contact", "contact_date", EFFECT_CONTACT_LEFT_OUT),
    ("contact", "attendance", EFFECT_CONTACT_LEFT_OUT),
    ("contact", "direct", "counted as usual: no chart reads direct"),
    ("questionnaire", "questionnaire_id", EFFECT_QUESTIONNAIRE_LEFT_OUT),
    ("questionnaire", "referral_id", EFFECT_QUESTIONNAIRE_LEFT_OUT),
    ("questionnaire", "measure", EFFECT_QUESTIONNAIRE_LEFT_OUT),
    ("questionnaire", "informant", "counted as of an unknown informant: in no informant's figures, but in those over all informants (completion)"),
    ("questionnaire", "completed_date", EFFECT_QUESTIONNAIRE_LEFT_OUT),
    ("questionnaire_item", "questionnaire_id", EFFECT_ITEM_LEFT_OUT),
    ("questionnaire_item", "item", EFFECT_ITEM_LEFT_OUT),
    ("questionnaire_score", "questionnaire_id", EFFECT_ITEM_LEFT_OUT),
    ("questionnaire_score", "scale", EFFECT_ITEM_LEFT_OUT),
];

/// Every check, in the order they are reported: a NULL check (an error)
/// for each column the contract requires, then [`CHECKS`].
pub fn checks() -> Vec<Check> {
    let nulls = contract::all_tables().flat_map(|table| {
        // Rows are identified by the table's first column, its id (for
        // questionnaire_item, its questionnaire).
        let id = table.columns[0].name;
        table
            .columns
            .iter()
            .filter(|c| !c.nullable)
            .map(move |c| Check {
                problem: Cow::Owned(format!("NULL {}", c.name)),
                table: table.name,
                sql: Cow::Owned(format!(
                    "SELECT {distinct}{id} AS id FROM {t} WHERE {c} IS NULL",
                    // Item findings count questionnaires, except a NULL
                    // questionnaire_id, which counts item rows.
                    distinct = if matches!(table.name, "questionnaire_item" | "questionnaire_score")
                        && c.name != id
                    {
                        "DISTINCT "
                    } else {
                        ""
                    },
                    t = table.name,
                    c = c.name
                )),
                severity: Severity::Error,
                effect: null_effect(table.name, c.name),
            })
    });
    nulls.chain(CHECKS.iter().cloned()).collect()
}

/// The stated effect of a NULL in a required column ("" if none is stated).
pub fn null_effect(table: &str, column: &str) -> &'static str {
    NULL_EFFECTS
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map_or("", |(_, _, e)| e)
}

/// Turn contract problems into error findings (the data checks need a
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
            effect: String::new(),
        })
        .collect()
}

/// Run every data check ([`checks`]: NULLs in required columns, which are
/// errors, and the quality warnings) over a session whose tables meet the
/// contract's columns and types.
///
/// On an MHSDS extract the contract's checks run on the contract views and
/// their findings name the MHSDS tables and columns they come from
/// ([`mhsds::relabel`]); the extract's own checks ([`MHSDS_CHECKS`]:
/// unknown concepts, unusable scores, duplicate monthly records) follow.
pub async fn quality_findings(engine: &Engine) -> Result<Vec<Finding>, DataFusionError> {
    let is_mhsds = engine.shape() == mhsds::InputShape::Mhsds;
    let extra = if is_mhsds { MHSDS_CHECKS } else { &[] };
    let base = checks();
    let mut findings = Vec::new();
    for (i, check) in base.iter().chain(extra).enumerate() {
        let (count, examples) = run_check(engine, check).await?;
        if count > 0 {
            let own = i >= base.len();
            let (table, problem) = if is_mhsds && !own {
                mhsds::relabel(check.table, &check.problem)
            } else {
                (check.table.to_string(), check.problem.to_string())
            };
            findings.push(Finding {
                severity: check.severity,
                problem,
                table,
                count,
                examples,
                effect: check.effect.to_string(),
            });
        }
    }
    Ok(findings)
}

async fn run_check(engine: &Engine, check: &Check) -> Result<(u64, Vec<String>), DataFusionError> {
    let sql = format!(
        "WITH bad AS ({}) \
         SELECT (SELECT count(*) FROM bad) AS n, id FROM (SELECT id FROM bad ORDER BY id LIMIT 3) \
         UNION ALL SELECT (SELECT count(*) FROM bad), NULL ORDER BY id NULLS LAST",
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
        // Ids are numbers in the contract, text in MHSDS.
        let ids = cast(b.column(1), &DataType::Utf8)?;
        let ids = ids.as_string::<i32>();
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

/// The findings as one record batch (severity, problem, table, count,
/// examples, effect).
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
        Field::new("effect", DataType::Utf8, false),
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
            text(|f| f.effect.clone()),
        ],
    )
}

const EFFECT_SCORE_MISSING: &str = "the scale counts as not scored in every chart";
const EFFECT_LATEST_RECORD: &str =
    "one record is taken: the higher RecordNumber, then the one with a discharge date";

/// Checks of an MHSDS extract itself (`src/engine/mhsds.rs`, `docs/mhsds.md`) (warnings), run by `validate` besides
/// the contract's checks on the views. Each yields the MHSDS row ids.
#[rustfmt::skip]
pub const MHSDS_CHECKS: &[Check] = &[
    warn_with_effect("unknown concept (CodedAssToolType not in ref_scale_snomed)", "MHS606CodedScoreAssessmentRefer / MHS607CodedScoreAssessmentAct",
        "SELECT row_id AS id FROM mhsds_coded_score WHERE NOT listed",
        "not read: no chart counts it"),
    warn_with_effect("concept with no cypdash scale (item-level or unnumbered goal)", "MHS606CodedScoreAssessmentRefer / MHS607CodedScoreAssessmentAct",
        "SELECT row_id AS id FROM mhsds_coded_score WHERE listed AND NOT known",
        "not read: cypdash reads scale scores, not items, from MHSDS"),
    warn_with_effect("non-numeric PersScore", "MHS606CodedScoreAssessmentRefer / MHS607CodedScoreAssessmentAct",
        "SELECT row_id AS id FROM mhsds_coded_score WHERE scale IS NOT NULL AND pers_score IS NOT NULL AND number IS NULL",
        EFFECT_SCORE_MISSING),
    warn_with_effect("PersScore outside the concept's valid range", "MHS606CodedScoreAssessmentRefer / MHS607CodedScoreAssessmentAct",
        "SELECT row_id AS id FROM mhsds_coded_score WHERE scale IS NOT NULL AND number IS NOT NULL AND score IS NULL",
        EFFECT_SCORE_MISSING),
    warn_with_effect("care activity score without its contact", "MHS607CodedScoreAssessmentAct",
        "SELECT row_id AS id FROM mhsds_coded_score WHERE completed_date IS NULL",
        "not read: no date to place it"),
    warn_with_effect("duplicate monthly record (UniqServReqID, UniqMonthID)", "MHS101Referral",
        "SELECT \"UniqServReqID\" AS id FROM \"MHS101Referral\" GROUP BY \"UniqServReqID\", \"UniqMonthID\" HAVING count(*) > 1",
        EFFECT_LATEST_RECORD),
    warn_with_effect("duplicate monthly record (Person_ID, OrgIDProv, UniqMonthID)", "MHS001MPI",
        "SELECT \"Person_ID\" AS id FROM \"MHS001MPI\" GROUP BY \"Person_ID\", \"OrgIDProv\", \"UniqMonthID\" HAVING count(*) > 1",
        "one record is taken: the latest month, then the higher RecordNumber"),
    warn_with_effect("contact in more than one record (UniqCareContID)", "MHS201CareContact",
        "SELECT \"UniqCareContID\" AS id FROM \"MHS201CareContact\" GROUP BY \"UniqCareContID\" HAVING count(*) > 1",
        "counted once: the record of the latest month"),
    warn_with_effect("id not decimal text", "MHS101Referral",
        "SELECT \"UniqServReqID\" AS id FROM \"MHS101Referral\" WHERE try_cast(\"UniqServReqID\" AS BIGINT) IS NULL \
         UNION ALL SELECT \"Person_ID\" FROM \"MHS101Referral\" WHERE try_cast(\"Person_ID\" AS BIGINT) IS NULL",
        "the referral (or its person) has no id: see the NULL findings"),
];

/// How one input table is stored and ordered (issue 18): `validate` lists
/// every table so, beside the findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableLayout {
    pub table: String,
    /// `parquet`, `parquet folder` or `csv`.
    pub format: String,
    pub files: usize,
    /// The contract's sort key of the table (`contract::sort_key`).
    pub key: String,
    /// The order every file declares; `none` (CSV never declares one) or
    /// `mixed` (files or row groups declare different orders).
    pub declared: String,
    /// Whether the rows are in the declared order, read from the files'
    /// key columns: `yes`, `no: <where>`, or `-` when nothing is declared.
    pub verified: String,
    /// The table is declared sorted by its key (or a longer order that
    /// starts with it), and its rows are in that order.
    pub sorted: bool,
    /// The column the engine declared the table range-partitioned by, one
    /// range per file, or `-`.
    pub ranges: String,
}

/// The layout of every input table, reading each Parquet table's footers
/// and, when they declare an order, its key columns.
pub fn table_layouts(engine: &Engine) -> Vec<TableLayout> {
    use crate::engine::layout::{self, Declared};
    use crate::engine::TableSource;
    engine
        .inputs()
        .iter()
        .map(|input| {
            let key = contract::sort_key(input.name);
            let files = crate::engine::parquet_files(&input.source);
            let declared = match &input.source {
                TableSource::Csv(_) => Ok(Declared::Undeclared),
                _ => layout::declared_order(&files),
            };
            let (declared, verified, holds) = match declared {
                Err(e) => (format!("unreadable: {e}"), "-".to_string(), None),
                Ok(Declared::Undeclared) => ("none".to_string(), "-".to_string(), None),
                Ok(Declared::Mixed) => ("mixed".to_string(), "-".to_string(), None),
                Ok(Declared::Sorted(order)) => {
                    let verified = match layout::verify(&files, &order) {
                        Ok(None) => "yes".to_string(),
                        Ok(Some(at)) => format!("no: {at}"),
                        Err(e) => format!("no: {e}"),
                    };
                    let holds = verified == "yes";
                    (layout::order_text(&order), verified, Some((order, holds)))
                }
            };
            let sorted = holds.is_some_and(|(order, holds)| {
                holds
                    && !key.is_empty()
                    && order.len() >= key.len()
                    && order
                        .iter()
                        .zip(key)
                        .all(|(c, k)| c.name == *k && !c.descending)
            });
            TableLayout {
                table: input.name.to_string(),
                format: input.source.kind().to_string(),
                files: match &input.source {
                    TableSource::Csv(_) => 1,
                    _ => files.len(),
                },
                key: key.join(", "),
                declared,
                verified,
                sorted,
                ranges: input.ranged_by.unwrap_or("-").to_string(),
            }
        })
        .collect()
}

/// An error for each table whose files declare an order their rows do
/// not have: the engine registers the declared order and DataFusion
/// trusts it, so aggregates and joins over the table could be wrong.
pub fn layout_findings(layouts: &[TableLayout]) -> Vec<Finding> {
    layouts
        .iter()
        .filter(|l| l.verified.starts_with("no"))
        .map(|l| Finding {
            severity: Severity::Error,
            problem: format!("declared sort order ({}) does not hold", l.declared),
            table: l.table.clone(),
            count: 1,
            examples: vec![l.verified.trim_start_matches("no: ").to_string()],
            effect: "the engine trusts the declaration: results over this table may be wrong; \
                     rewrite the data with `cypdash sort`"
                .to_string(),
        })
        .collect()
}

/// The layouts as one record batch (table, format, files, key, declared,
/// verified, sorted, the column of a range per file).
pub fn layouts_batch(
    layouts: &[TableLayout],
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    use datafusion::arrow::array::{BooleanArray, StringArray, UInt64Array};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("format", DataType::Utf8, false),
        Field::new("files", DataType::UInt64, false),
        Field::new("sort key", DataType::Utf8, false),
        Field::new("declared order", DataType::Utf8, false),
        Field::new("rows in that order", DataType::Utf8, false),
        Field::new("sorted by key", DataType::Boolean, false),
        Field::new("a range per file", DataType::Utf8, false),
    ]));
    let text = |f: fn(&TableLayout) -> String| {
        Arc::new(StringArray::from(layouts.iter().map(f).collect::<Vec<_>>()))
    };
    RecordBatch::try_new(
        schema,
        vec![
            text(|l| l.table.clone()),
            text(|l| l.format.clone()),
            Arc::new(UInt64Array::from(
                layouts.iter().map(|l| l.files as u64).collect::<Vec<_>>(),
            )),
            text(|l| l.key.clone()),
            text(|l| l.declared.clone()),
            text(|l| l.verified.clone()),
            Arc::new(BooleanArray::from(
                layouts.iter().map(|l| l.sorted).collect::<Vec<_>>(),
            )),
            text(|l| l.ranges.clone()),
        ],
    )
}
