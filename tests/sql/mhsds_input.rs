//! Scale scores and MHSDS extracts as input (issue 13).
//!
//! - A contract directory whose SDQ, RCADS and GBO questionnaires carry
//!   scale scores (`questionnaire_score`) instead of items gives every chart
//!   the figures of the items they were scored from; with both, the items
//!   win and `validate` reports the disagreement.
//! - The same generated cases written as an MHSDS extract (`generate
//!   --format mhsds`) give the scale-based charts the figures of the
//!   item-level data, chart by chart (floats to 1e-9 relative); the charts
//!   that need items return no rows with a note.
//! - A flawed extract: each flaw (missing table, wrong column type, unknown
//!   concept, non-numeric and out-of-range scores, duplicate monthly
//!   records, non-decimal ids) is a clear error or a counted warning that
//!   names the MHSDS table.

use cypdash::catalog::Catalog;
use cypdash::dashboard::{ChartResult, Dashboard};
use cypdash::engine::mhsds::InputShape;
use cypdash::engine::{Engine, EngineConfig, EngineError};
use cypdash::generate::{self, GenerateOptions};
use cypdash::validate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use std::path::Path;

/// The charts that read scale scores only (the list): the same
/// figures from either shape.
const SCALE_CHARTS: &[&str] = &[
    "who/gender",
    "who/age",
    "who/ethnicity",
    "who/severity_sdq",
    "who/severity_rcads",
    "outcomes/sdq_change",
    "outcomes/rcads_change",
    "outcomes/effect_size",
    "outcomes/reliable_improvement",
    "outcomes/goal_progress",
    "data_quality/completion",
    "data_quality/idle_cases",
    "key/partnerships",
    "national/outcome_measures",
    "national/improvement_funnel",
    "national/published",
];

/// The charts that read items (their headers' `needs_items`).
const ITEM_CHARTS: &[&str] = &[
    "experience/esq_parent",
    "experience/esq_child",
    "experience/esq_satisfaction",
    "who/problem_descriptors",
    "who/complexity",
];

fn options(out: &Path) -> GenerateOptions {
    // Small, but with every measure paired in every partnership.
    GenerateOptions {
        out: out.to_path_buf(),
        referrals: 1500,
        partnerships: 4,
        seed: 13,
        files_per_table: 1,
    }
}

async fn open(dir: &Path, shape: InputShape) -> Dashboard {
    let mut config = EngineConfig::new(dir);
    config.input = shape;
    let engine = Engine::open(config)
        .await
        .unwrap_or_else(|e| panic!("open {}: {e}", dir.display()));
    Dashboard::new(engine, Catalog::embedded().expect("catalogue"))
}

async fn run(dash: &Dashboard, chart: &str) -> ChartResult {
    dash.run(chart, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("{chart}: {e}"))
}

fn one_batch(r: &ChartResult) -> RecordBatch {
    concat_batches(&r.schema, &r.batches).expect("concat")
}

/// Equal values: floats to 1e-9 relative, everything else as displayed.
/// Returns the differences found (empty: equal) and how many numeric cells
/// were neither NULL nor zero (a test over nothing proves nothing).
fn differences(chart: &str, a: &RecordBatch, b: &RecordBatch) -> (Vec<String>, usize) {
    let mut diffs = Vec::new();
    let mut informative = 0;
    if a.num_rows() != b.num_rows() {
        diffs.push(format!(
            "{chart}: {} rows from items, {} from MHSDS",
            a.num_rows(),
            b.num_rows()
        ));
        return (diffs, 0);
    }
    let fmt = FormatOptions::default().with_null("NULL");
    let team = |r: usize| {
        a.schema().index_of("breakdown").is_ok_and(|j| {
            ArrayFormatter::try_new(a.column(j).as_ref(), &fmt)
                .unwrap()
                .value(r)
                .to_string()
                == "service"
        })
    };
    for (i, field) in a.schema().fields().iter().enumerate() {
        let (x, y) = (a.column(i), b.column(i));
        let label = TEAM_LABELS.contains(&field.name().as_str());
        if x.data_type() == &DataType::Float64 && y.data_type() == &DataType::Float64 {
            let (x, y) = (
                x.as_primitive::<Float64Type>(),
                y.as_primitive::<Float64Type>(),
            );
            for r in 0..a.num_rows() {
                match (x.is_valid(r), y.is_valid(r)) {
                    (true, true) => {
                        let (u, v) = (x.value(r), y.value(r));
                        if u != 0.0 {
                            informative += 1;
                        }
                        if (u - v).abs() > 1e-9 * u.abs().max(v.abs()) {
                            diffs.push(format!("{chart} row {r} {}: {u} vs {v}", field.name()));
                        }
                    }
                    (false, false) => {}
                    (p, q) => diffs.push(format!(
                        "{chart} row {r} {}: NULL {} vs {}",
                        field.name(),
                        !p,
                        !q
                    )),
                }
            }
            continue;
        }
        let fx = ArrayFormatter::try_new(x.as_ref(), &fmt).unwrap();
        let fy = ArrayFormatter::try_new(y.as_ref(), &fmt).unwrap();
        for r in 0..a.num_rows() {
            if label && team(r) {
                continue;
            }
            let (u, v) = (fx.value(r).to_string(), fy.value(r).to_string());
            if x.data_type().is_integer() && x.is_valid(r) && u != "0" {
                informative += 1;
            }
            if u != v {
                diffs.push(format!("{chart} row {r} {}: {u} vs {v}", field.name()));
            }
        }
    }
    (diffs, informative)
}

/// The columns that identify a team: MHSDS names no team (its name is its
/// code, its number follows the codes), so team rows (national breakdown
/// `service`) are matched by their figures, not their names.
const TEAM_LABELS: &[&str] = &["service_id", "unit", "sort_order"];

/// `b` with its team rows in the order of `a`'s: within each run of team
/// rows, the row of `b` with the same figures (every other column) as the
/// row of `a`. Other rows keep their place.
fn align_team_rows(a: &RecordBatch, b: &RecordBatch) -> RecordBatch {
    let Ok(j) = a.schema().index_of("breakdown") else {
        return b.clone();
    };
    if a.num_rows() != b.num_rows() {
        return b.clone();
    }
    let fmt = FormatOptions::default().with_null("NULL");
    let key = |batch: &RecordBatch, r: usize| -> String {
        (0..batch.num_columns())
            .filter(|&c| !TEAM_LABELS.contains(&batch.schema().field(c).name().as_str()))
            .map(|c| {
                let col = batch.column(c);
                if col.data_type() == &DataType::Float64 && col.is_valid(r) {
                    format!("{:.9e}", col.as_primitive::<Float64Type>().value(r))
                } else {
                    ArrayFormatter::try_new(col.as_ref(), &fmt)
                        .unwrap()
                        .value(r)
                        .to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    let is_team = |batch: &RecordBatch, r: usize| {
        ArrayFormatter::try_new(batch.column(j).as_ref(), &fmt)
            .unwrap()
            .value(r)
            .to_string()
            == "service"
    };
    let mut taken = vec![false; b.num_rows()];
    let mut order = Vec::with_capacity(a.num_rows());
    for r in 0..a.num_rows() {
        if !is_team(a, r) {
            order.push(r as u32);
            taken[r] = true;
            continue;
        }
        let k = key(a, r);
        let found = (0..b.num_rows()).find(|&q| !taken[q] && is_team(b, q) && key(b, q) == k);
        let q = found.unwrap_or(r);
        taken[q] = true;
        order.push(q as u32);
    }
    let indices = datafusion::arrow::array::UInt32Array::from(order);
    datafusion::arrow::compute::take_record_batch(b, &indices).unwrap()
}

#[test]
fn an_mhsds_extract_gives_the_scale_charts_of_its_item_level_data() {
    crate::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let contract_dir = dir.path().join("contract");
        let extract_dir = dir.path().join("extract");
        generate::generate(&options(&contract_dir), &mut |_| {}).unwrap();
        generate::mhsds::generate_mhsds(&options(&extract_dir), &mut |_| {})
            .await
            .unwrap();
        let items = open(&contract_dir, InputShape::Auto).await;
        let extract = open(&extract_dir, InputShape::Auto).await;
        assert_eq!(items.engine().shape(), InputShape::Contract);
        assert_eq!(extract.engine().shape(), InputShape::Mhsds);

        let mut failures = Vec::new();
        let mut compared = Vec::new();
        for chart in SCALE_CHARTS {
            let (a, b) = (run(&items, chart).await, run(&extract, chart).await);
            assert!(
                a.note.is_none() && b.note.is_none(),
                "{chart}: {:?}",
                b.note
            );
            let (a, b) = (one_batch(&a), one_batch(&b));
            let b = align_team_rows(&a, &b);
            let (diffs, informative) = differences(chart, &a, &b);
            failures.extend(diffs.into_iter().take(5));
            if informative == 0 {
                failures.push(format!("{chart}: no non-zero value to compare"));
            }
            compared.push(format!(
                "{chart}: {} rows, {informative} non-zero",
                a.num_rows()
            ));
        }
        assert!(
            failures.is_empty(),
            "{} differences:\n{}",
            failures.len(),
            failures.join("\n")
        );
        eprintln!("equal:\n{}", compared.join("\n"));

        for chart in ITEM_CHARTS {
            let (a, b) = (run(&items, chart).await, run(&extract, chart).await);
            assert!(a.note.is_none() && one_batch(&a).num_rows() > 0, "{chart}");
            assert_eq!(one_batch(&b).num_rows(), 0, "{chart}");
            let note = b.note.unwrap_or_default();
            assert!(note.contains("items"), "{chart}: {note}");
        }

        // The generated extract is clean but for the generator's own flaws
        // (scores of questionnaires dated before their referral etc.):
        // no unusable score or unknown concept, and no contract error.
        let findings = validate::quality_findings(extract.engine()).await.unwrap();
        assert!(!validate::has_errors(&findings), "{findings:?}");
        for f in &findings {
            assert!(
                !f.problem.contains("PersScore") && !f.problem.contains("concept"),
                "{f:?}"
            );
            assert!(
                f.table.contains("MHS") || f.table.contains("partnership"),
                "{f:?}"
            );
        }
    });
}

/// Copy a contract directory, replacing the items of SDQ, RCADS and GBO
/// questionnaires by their scale scores (as the charts score them).
/// `keep_items`: keep the items too, and alter one score.
async fn as_scale_scores(from: &Path, to: &Path, keep_items: bool) {
    std::fs::create_dir_all(to).unwrap();
    for table in [
        "partnership",
        "service",
        "person",
        "referral",
        "contact",
        "questionnaire",
    ] {
        let name = format!("{table}.parquet");
        std::fs::copy(from.join(&name), to.join(&name)).unwrap();
    }
    let dash = open(from, InputShape::Contract).await;
    dash.prepare().await.unwrap();
    let ctx = dash.engine().ctx();
    let copy = |sql: String| async move {
        ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    };
    let items = if keep_items {
        "SELECT * FROM questionnaire_item".to_string()
    } else {
        "SELECT i.* FROM questionnaire_item i JOIN questionnaire q USING (questionnaire_id) \
         WHERE q.measure NOT IN ('SDQ', 'RCADS', 'GBO')"
            .to_string()
    };
    copy(format!(
        "COPY ({items}) TO '{}' STORED AS PARQUET",
        to.join("questionnaire_item.parquet").display()
    ))
    .await;
    // With items kept, the lowest-id SDQ score is raised by one: its
    // questionnaire's items still decide (one disagreement to report).
    let score = if keep_items {
        "score + CASE WHEN questionnaire_id = (SELECT min(questionnaire_id) FROM outcome_score \
         WHERE measure = 'SDQ') AND scale = 'emotional' THEN 1 ELSE 0 END"
    } else {
        "score"
    };
    copy(format!(
        "COPY (SELECT questionnaire_id, scale, {score} AS score FROM outcome_score) \
         TO '{}' STORED AS PARQUET",
        to.join("questionnaire_score.parquet").display()
    ))
    .await;
}

#[test]
fn scale_scores_give_every_chart_the_figures_of_their_items() {
    crate::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let items_dir = dir.path().join("items");
        generate::generate(&options(&items_dir), &mut |_| {}).unwrap();
        let scores_dir = dir.path().join("scores");
        as_scale_scores(&items_dir, &scores_dir, false).await;
        let both_dir = dir.path().join("both");
        as_scale_scores(&items_dir, &both_dir, true).await;

        let items = open(&items_dir, InputShape::Auto).await;
        let scores = open(&scores_dir, InputShape::Auto).await;
        let both = open(&both_dir, InputShape::Auto).await;
        let ids: Vec<String> = items.catalog().charts().map(|c| c.id.clone()).collect();
        let mut failures = Vec::new();
        for chart in &ids {
            let a = one_batch(&run(&items, chart).await);
            for other in [&scores, &both] {
                let b = one_batch(&run(other, chart).await);
                failures.extend(differences(chart, &a, &b).0.into_iter().take(5));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));

        // Scores only: clean. Both: the one altered score disagrees.
        let clean = validate::quality_findings(scores.engine()).await.unwrap();
        assert!(
            !clean.iter().any(|f| f.table == "questionnaire_score"),
            "{clean:?}"
        );
        let found = validate::quality_findings(both.engine()).await.unwrap();
        let disagree: Vec<_> = found
            .iter()
            .filter(|f| f.problem == "scale score disagrees with its items")
            .collect();
        assert_eq!(disagree.len(), 1, "{found:?}");
        assert_eq!(disagree[0].count, 1, "{found:?}");
    });
}

/// A hand-made extract with one of each flaw (every row is there for the
/// flaw it carries; months: April 2024 = (124 x 12) + 4 - 3 = 1489).
fn write_flawed(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let files = [
        (
            "MHS001MPI.csv",
            "Person_ID,UniqMonthID,OrgIDProv,Gender,NHSDEthnicity,PersonBirthDate,RecordNumber\n\
             101,1489,P1,1,A,2012-05-01,1\n\
             101,1490,P1,1,A,2012-05-01,2\n",
        ),
        (
            // Referral 201: open in April, discharged in May, and a second
            // (lower-numbered) record for May: a duplicate monthly record.
            // Referral 202's person is not decimal text.
            "MHS101Referral.csv",
            "UniqServReqID,Person_ID,UniqMonthID,OrgIDProv,ReferralRequestReceivedDate,ServDischDate,SourceOfReferralMH,ReferClosReason,UniqCareProfTeamLocalID,RecordNumber\n\
             201,101,1489,P1,2024-04-03,,A1,,T1,1\n\
             201,101,1490,P1,2024-04-03,2024-05-20,A1,02,T1,3\n\
             201,101,1490,P1,2024-04-03,,A1,,T1,2\n\
             202,ABC,1490,P1,2024-05-01,,A1,,T1,2\n",
        ),
        (
            "MHS201CareContact.csv",
            "UniqCareContID,MHS201UniqID,UniqServReqID,UniqMonthID,CareContDate,AttendStatus,ConsMechanismMH\n\
             C1,1,201,1489,2024-04-10,5,01\n\
             C2,2,201,1490,2024-05-02,6,01\n",
        ),
        (
            "MHS204IndirectActivity.csv",
            "MHS204UniqID,UniqServReqID,UniqMonthID,IndirectActDate\n1,201,1489,2024-04-20\n",
        ),
        (
            // 1: SDQ parent emotional 8 (read); 2: non-numeric; 3: SDQ
            // parent hyperactivity 14 (valid 0-10); 4: not a concept of
            // ref_scale_snomed; 5: a Current View item (no cypdash scale).
            "MHS606CodedScoreAssessmentRefer.csv",
            "MHS606UniqID,UniqServReqID,UniqMonthID,CodedAssToolType,PersScore,AssToolCompTimestamp\n\
             1,201,1489,986071000000101,8,2024-04-10 00:00:00\n\
             2,201,1489,986061000000108,eleven,2024-04-10 00:00:00\n\
             3,201,1489,986081000000104,14,2024-04-10 00:00:00\n\
             4,201,1489,123456789,3,2024-04-10 00:00:00\n\
             5,201,1490,987251000000103,2,2024-05-02 00:00:00\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

#[test]
fn a_flawed_extract_gives_counted_warnings_naming_mhsds_tables() {
    crate::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        write_flawed(dir.path());
        let dash = open(dir.path(), InputShape::Auto).await;
        assert_eq!(dash.engine().shape(), InputShape::Mhsds);
        let findings = validate::quality_findings(dash.engine()).await.unwrap();
        let find = |problem: &str| {
            findings
                .iter()
                .find(|f| f.problem.starts_with(problem))
                .unwrap_or_else(|| panic!("no `{problem}` in {findings:#?}"))
        };
        // (problem, count, examples): one row of each flaw above.
        for (problem, count, examples) in [
            ("unknown concept", 1, vec!["4"]),
            ("concept with no cypdash scale", 1, vec!["5"]),
            ("non-numeric PersScore", 1, vec!["2"]),
            ("PersScore outside the concept's valid range", 1, vec!["3"]),
            ("duplicate monthly record (UniqServReqID", 1, vec!["201"]),
            ("id not decimal text", 1, vec!["ABC"]),
        ] {
            let f = find(problem);
            assert_eq!(
                (f.count, f.examples.clone()),
                (count, examples.iter().map(|s| s.to_string()).collect()),
                "{f:?}"
            );
            assert!(f.table.starts_with("MHS"), "{f:?}");
        }
        // Referral 202 has no person id: a NULL key, in MHSDS words.
        let null = find("NULL person_id");
        assert_eq!(null.table, "MHS101Referral (as referral)");
        assert!(null.problem.contains("Person_ID"), "{null:?}");
        assert!(validate::has_errors(&findings));

        // The referral is its latest record: discharged 2024-05-20, and the
        // one usable score (emotional 8) is its only questionnaire's scale.
        let b = dash
            .engine()
            .sql(
                "SELECT CAST(closure_date AS VARCHAR) AS c, \
                 (SELECT count(*) FROM questionnaire_score WHERE score IS NOT NULL) AS n, \
                 (SELECT count(*) FROM contact) AS k \
                 FROM referral WHERE referral_id = 201",
            )
            .await
            .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&b)
            .unwrap()
            .to_string();
        assert!(
            text.contains("2024-05-20") && text.contains("| 1 ") && text.contains("| 3 "),
            "{text}"
        );
    });
}

#[test]
fn a_missing_table_and_a_wrong_column_type_name_the_mhsds_table() {
    crate::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        write_flawed(dir.path());
        std::fs::remove_file(dir.path().join("MHS204IndirectActivity.csv")).unwrap();
        // UniqMonthID as text in a Parquet file: a type error.
        std::fs::remove_file(dir.path().join("MHS001MPI.csv")).unwrap();
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.sql(&format!(
            "COPY (SELECT '101' AS \"Person_ID\", '1489' AS \"UniqMonthID\", 'P1' AS \"OrgIDProv\", \
             '1' AS \"Gender\", 'A' AS \"NHSDEthnicity\") TO '{}' STORED AS PARQUET",
            dir.path().join("MHS001MPI.parquet").display()
        ))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
        let mut config = EngineConfig::new(dir.path());
        config.input = InputShape::Mhsds;
        let err = Engine::open(config).await.unwrap_err();
        let EngineError::Contract { problems, .. } = &err else {
            panic!("{err}");
        };
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 2, "{text:?}");
        assert!(
            text.iter().any(|t| t.contains("table `MHS204IndirectActivity` is missing")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("table `MHS001MPI`")
                && t.contains("column `UniqMonthID`")
                && t.contains("expected INT64")),
            "{text:?}"
        );
    });
}
