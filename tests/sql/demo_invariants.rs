//! Every chart on the committed demo data (`data/demo`, 20 partnerships,
//! 20,000 referrals), with its default parameters, checked against
//! invariants that hold whatever the data (issue #4):
//!
//! - category percentages sum to 100 per unit;
//! - no NULL keys (unit name; partnership id except on the `All` row);
//! - charts that share a denominator agree on n per unit;
//! - each funnel position agrees with the value and the limits, and a
//!   suppressed row has no value.
//!
//! Each check is SQL over the chart results registered as tables named
//! after the chart (`who__gender`, ...), so a failure names the rows.

use cypdash::catalog::Catalog;
use cypdash::dashboard::Dashboard;
use cypdash::engine::{Engine, EngineConfig};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use std::path::Path;
use std::sync::Arc;

/// A dashboard over the committed demo data with the built-in queries.
pub(crate) async fn open_demo() -> Dashboard {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    let engine = Engine::open(EngineConfig::new(dir))
        .await
        .expect("open data/demo");
    Dashboard::new(engine, Catalog::embedded().expect("catalogue"))
}

/// Run every chart on the demo data; register each result in a fresh
/// context as `<section>__<chart>`.
async fn chart_results() -> (SessionContext, Vec<(String, Vec<String>)>) {
    let dash = open_demo().await;
    let ctx = SessionContext::new();
    let mut charts = Vec::new();
    let ids: Vec<String> = dash.catalog().charts().map(|c| c.id.clone()).collect();
    for id in ids {
        let result = dash
            .run(&id, &Default::default())
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let name = id.replace('/', "__");
        let columns = result
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let table = MemTable::try_new(result.schema.clone(), vec![result.batches]).unwrap();
        ctx.register_table(name.as_str(), Arc::new(table)).unwrap();
        charts.push((name, columns));
    }
    (ctx, charts)
}

/// The rows of `sql` as text, for failure messages (empty = invariant holds).
async fn violations(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let batches = ctx
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows == 0 {
        Vec::new()
    } else {
        vec![format!("{sql}\n{text}")]
    }
}

async fn count(ctx: &SessionContext, sql: &str) -> i64 {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let col = batches[0].column(0).as_primitive::<Int64Type>();
    assert!(!col.is_null(0));
    col.value(0)
}

#[test]
fn every_chart_on_the_demo_data_meets_the_invariants() {
    let rt = crate::runtime();
    rt.block_on(async {
        let (ctx, charts) = chart_results().await;
        let mut problems = Vec::new();
        let has = |cols: &Vec<String>, c: &str| cols.iter().any(|x| x == c);

        for (name, cols) in &charts {
            // Every chart returns rows on the demo data.
            let rows = count(&ctx, &format!("SELECT count(*) FROM {name}")).await;
            if rows == 0 {
                problems.push(format!("{name}: no rows"));
            }
            // Keys: a unit name on every row, and a partnership id on every
            // row but the `All` rows.
            if has(cols, "unit_name") {
                problems.extend(
                    violations(
                        &ctx,
                        &format!(
                            "SELECT * FROM {name} WHERE unit_name IS NULL \
                             OR (unit_name <> 'All' AND partnership_id IS NULL) LIMIT 5"
                        ),
                    )
                    .await,
                );
            } else if has(cols, "partnership_id") {
                // A chart with a `breakdown` (national/published, issue #12)
                // has all-data rows by age, gender and so on besides its
                // partnership and service rows: only those name a partnership.
                let units = if has(cols, "breakdown") {
                    " AND breakdown IN ('partnership', 'service')"
                } else {
                    ""
                };
                problems.extend(
                    violations(
                        &ctx,
                        &format!(
                            "SELECT * FROM {name} WHERE partnership_id IS NULL{units} LIMIT 5"
                        ),
                    )
                    .await,
                );
            }
            // Funnels: the position follows from value and limits (inclusive
            // limits), and only a shown value has a position.
            if has(cols, "position") && has(cols, "lower_998") && has(cols, "value") {
                let expected = "CASE \
                    WHEN value IS NULL OR lower_95 IS NULL THEN NULL \
                    WHEN value > upper_998 THEN 'above_998' \
                    WHEN value > upper_95 THEN 'above_95' \
                    WHEN value < lower_998 THEN 'below_998' \
                    WHEN value < lower_95 THEN 'below_95' \
                    ELSE 'inside' END";
                problems.extend(
                    violations(
                        &ctx,
                        &format!(
                            "SELECT * FROM {name} WHERE (position IS DISTINCT FROM ({expected})) \
                             OR NOT (lower_998 <= lower_95 AND lower_95 <= upper_95 \
                                     AND upper_95 <= upper_998) \
                             LIMIT 5"
                        ),
                    )
                    .await,
                );
            }
            if has(cols, "suppressed") && has(cols, "value") {
                problems.extend(
                    violations(
                        &ctx,
                        &format!(
                            "SELECT * FROM {name} WHERE suppressed AND value IS NOT NULL LIMIT 5"
                        ),
                    )
                    .await,
                );
            }
            // Category shares: per unit, the shown percentages sum to 100
            // when no category is suppressed, and never to more. (A category
            // count below min_n is suppressed on its own row; zero is shown.)
            if has(cols, "category") && has(cols, "pct") {
                problems.extend(
                    violations(
                        &ctx,
                        &format!(
                            "SELECT partnership_id, service_id, unit_name, \
                                    sum(CASE WHEN NOT suppressed THEN pct END) AS shown, \
                                    bool_or(suppressed) AS any_suppressed \
                             FROM {name} \
                             GROUP BY partnership_id, service_id, unit_name \
                             HAVING max(n) > 0 AND ( \
                                 sum(CASE WHEN NOT suppressed THEN pct END) > 100 + 1e-9 \
                                 OR sum(CASE WHEN NOT suppressed THEN count END) > max(n) \
                                 OR (NOT bool_or(suppressed) AND abs(sum(pct) - 100) > 1e-9))"
                        ),
                    )
                    .await,
                );
                // And the `All` row, never suppressed on the demo data, sums
                // to exactly 100.
                problems.extend(
                    violations(
                        &ctx,
                        &format!(
                            "SELECT sum(pct) FROM {name} WHERE unit_name = 'All' \
                             HAVING abs(sum(pct) - 100) > 1e-9"
                        ),
                    )
                    .await,
                );
            }
        }

        // ESQ answers: certainly + partly + not true = 100% per item shown.
        for name in ["experience__esq_parent", "experience__esq_child"] {
            problems.extend(
                violations(
                    &ctx,
                    &format!(
                        "SELECT * FROM {name} WHERE NOT suppressed AND n > 0 AND \
                         abs(pct_certainly_true + pct_partly_true + pct_not_true - 100) > 1e-9 \
                         LIMIT 5"
                    ),
                )
                .await,
            );
        }

        // Shared denominators: the demographic charts all count the in-scope
        // referrals of each unit.
        for other in ["who__age", "who__ethnicity"] {
            problems.extend(
                violations(
                    &ctx,
                    &format!(
                        "SELECT g.unit_name, g.n AS gender_n, o.n AS other_n \
                         FROM (SELECT DISTINCT unit_name, n FROM who__gender) g \
                         FULL JOIN (SELECT DISTINCT unit_name, n FROM {other}) o \
                           ON g.unit_name = o.unit_name \
                         WHERE g.n IS DISTINCT FROM o.n"
                    ),
                )
                .await,
            );
        }
        // One n per unit within a category chart.
        for name in ["who__gender", "who__age", "who__ethnicity"] {
            problems.extend(
                violations(
                    &ctx,
                    &format!(
                        "SELECT unit_name, count(DISTINCT n) FROM {name} \
                         GROUP BY unit_name HAVING count(DISTINCT n) > 1"
                    ),
                )
                .await,
            );
        }
        // The paired SDQ counts of the change chart and the effect-size
        // funnel agree for the total difficulties scale.
        problems.extend(
            violations(
                &ctx,
                "SELECT c.unit_name, c.n AS change_n, e.n AS effect_n \
                 FROM outcomes__sdq_change c \
                 JOIN outcomes__effect_size e ON c.unit_name = e.unit_name \
                 WHERE c.scale = 'total_difficulties' AND c.n <> e.n",
            )
            .await,
        );
        // Every partnership of the key appears in the demographic charts.
        problems.extend(
            violations(
                &ctx,
                "SELECT k.partnership_id FROM key__partnerships k \
                 LEFT JOIN (SELECT DISTINCT partnership_id FROM who__gender) g \
                   USING (partnership_id) \
                 WHERE g.partnership_id IS NULL",
            )
            .await,
        );

        assert!(
            problems.is_empty(),
            "{} invariant(s) broken:\n\n{}",
            problems.len(),
            problems.join("\n\n")
        );
    });
}

/// Shared blocks are kept per binding: a chart run with other parameter
/// values recomputes them, and going back gives the first result again,
/// the same as a fresh session.
#[test]
fn shared_blocks_follow_each_charts_parameters() {
    use cypdash::dashboard::GivenParams;
    let rt = crate::runtime();
    rt.block_on(async {
        let text = |r: cypdash::dashboard::ChartResult| {
            datafusion::arrow::util::pretty::pretty_format_batches(&r.batches)
                .unwrap()
                .to_string()
        };
        let mut short = GivenParams::new();
        short.insert("period_start".into(), "2025-01-01".into());
        short.insert("period_end".into(), "2025-03-31".into());
        let chart = "key/partnerships";
        let dash = open_demo().await;
        let default_first = text(dash.run(chart, &GivenParams::new()).await.unwrap());
        let short_run = text(dash.run(chart, &short).await.unwrap());
        let default_again = text(dash.run(chart, &GivenParams::new()).await.unwrap());
        assert_ne!(
            default_first, short_run,
            "the period must change the referrals"
        );
        assert_eq!(default_first, default_again);
        let fresh = open_demo().await;
        assert_eq!(short_run, text(fresh.run(chart, &short).await.unwrap()));
    });
}

/// With results kept (`cypdash dashboard` renders its report from the
/// export's results), a chart run again with the same values returns the
/// same arrays, not a recomputation; other values, or a dashboard that
/// keeps nothing, compute afresh.
#[test]
fn kept_results_are_reused_per_parameter_values() {
    use cypdash::dashboard::{ChartResult, GivenParams};
    let rt = crate::runtime();
    rt.block_on(async {
        let dash = open_demo().await;
        let chart = "key/partnerships";
        // The same arrays (a computed column is never shared by two runs).
        let same = |a: &ChartResult, b: &ChartResult| {
            a.batches.len() == b.batches.len()
                && a.batches.iter().zip(&b.batches).all(|(x, y)| {
                    x.columns()
                        .iter()
                        .zip(y.columns())
                        .all(|(c, d)| Arc::ptr_eq(c, d))
                })
        };
        let default = GivenParams::new();
        let mut short = GivenParams::new();
        short.insert("period_end".into(), "2024-12-31".into()); // default: 2025-03-31

        let unkept = dash.run(chart, &default).await.unwrap();
        assert!(!same(&unkept, &dash.run(chart, &default).await.unwrap()));

        dash.keep_results();
        let first = dash.run(chart, &default).await.unwrap();
        let other = dash.run(chart, &short).await.unwrap();
        let again = dash.run(chart, &default).await.unwrap();
        assert!(same(&first, &again), "the kept result is returned");
        assert!(!same(&first, &other), "other values are computed");
        assert_eq!(first.batches, unkept.batches);
    });
}

/// Step blocks (`item_answer`, `scale_t1_t2`) are gone once the session is
/// prepared; the table built from them stays.
#[test]
fn step_blocks_are_dropped_after_the_session_tables_are_built() {
    let rt = crate::runtime();
    rt.block_on(async {
        let dash = open_demo().await;
        dash.prepare().await.unwrap();
        let ctx = dash.engine().ctx();
        for step in ["item_answer", "scale_t1_t2"] {
            assert!(!ctx.table_exist(step).unwrap(), "{step} still registered");
        }
        let n = count(ctx, "SELECT count(*) FROM outcome_pair").await;
        assert!(n > 0);
    });
}
