//! `cypdash bench`: time the dashboard's steps over one data directory in
//! one process, beside the scan floor (every column the dashboard reads,
//! read once: [`scan_floor_sql`]), so figures are ratios measured in the
//! same run. `scripts/bench.sh` drives it over generated data sets of several
//! sizes and adds the DuckDB baseline; see `docs/performance.md`.

use crate::catalog::Catalog;
use crate::dashboard::{Dashboard, GivenParams, RunError};
use crate::engine::{Engine, EngineConfig, EngineError};
use crate::output::{self, Format};
use anyhow::Result;
use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::error::DataFusionError;
use futures::StreamExt;
use serde::Serialize;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The columns the dashboard reads, table by table: the scan floor reads
/// exactly these with a trivial aggregate.
pub const SCAN_FLOOR: &[(&str, &[&str])] = &[
    (
        "partnership",
        &["partnership_id", "partnership_name", "collaborative"],
    ),
    ("service", &["service_id", "partnership_id", "service_name"]),
    (
        "person",
        &["person_id", "birth_date", "gender", "ethnicity"],
    ),
    (
        "referral",
        &[
            "referral_id",
            "person_id",
            "service_id",
            "referral_date",
            "closure_date",
        ],
    ),
    ("contact", &["referral_id", "contact_date", "attendance"]),
    (
        "questionnaire",
        &[
            "questionnaire_id",
            "referral_id",
            "measure",
            "informant",
            "version",
            "completed_date",
        ],
    ),
    ("questionnaire_item", &["questionnaire_id", "item", "value"]),
];

/// The shared blocks `sdq_score` reads, registered as views (in this
/// order) for the `sdq_scoring` step.
const SDQ_SCORING_INPUTS: &[&str] = &["given_score", "scale_score"];

/// One timed step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub step: String,
    /// Wall time of each repetition, in seconds.
    pub seconds: Vec<f64>,
    pub rows: usize,
    /// A shared block kept in memory: the MiB of its Arrow arrays (what the
    /// session holds for it while the session lasts, or until a step block
    /// is dropped). None for every other step.
    pub held_mib: Option<f64>,
}

impl Step {
    /// A step that holds no shared block.
    pub fn new(step: impl Into<String>, seconds: Vec<f64>, rows: usize) -> Self {
        Self {
            step: step.into(),
            seconds,
            rows,
            held_mib: None,
        }
    }

    pub fn min(&self) -> f64 {
        self.seconds.iter().copied().fold(f64::INFINITY, f64::min)
    }

    pub fn median(&self) -> f64 {
        let mut s = self.seconds.clone();
        s.sort_by(|a, b| a.total_cmp(b));
        let n = s.len();
        if n == 0 {
            return f64::NAN;
        }
        if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        }
    }
}

/// The outcome of a bench run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub data: String,
    pub repetitions: usize,
    pub steps: Vec<Step>,
    /// Peak resident memory of the process (VmHWM), in MiB, where the OS
    /// reports it.
    pub peak_rss_mib: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    #[error(transparent)]
    Cache(#[from] crate::block_cache::CacheError),
}

/// SQL of the scan floor: each table's columns the dashboard reads,
/// selected as they are. [`read_through`] decodes every value of them and
/// keeps none. Not an aggregate: DataFusion answers `count(c)`, `max(c)`
/// and `min(c)` from Parquet statistics (or prunes row groups for them),
/// and simplifies `c IS NULL` to false for a column the file declares
/// non-nullable, so an aggregate floor read only the nullable columns (at
/// 1M, one of the item table's three).
pub fn scan_floor_sql() -> Vec<String> {
    SCAN_FLOOR
        .iter()
        .map(|(table, cols)| format!("SELECT {} FROM {table}", cols.join(", ")))
        .collect()
}

/// Run `sql`, read every row of every output partition (each partition in
/// a task of its own, as a block is read) and return how many there were;
/// no batch is kept.
async fn read_through(engine: &Engine, sql: &str) -> Result<usize, DataFusionError> {
    let streams = engine
        .ctx()
        .sql(sql)
        .await?
        .execute_stream_partitioned()
        .await?;
    let counts = crate::block_cache::each_in_task(
        streams.into_iter().map(|mut stream| async move {
            let mut rows = 0;
            while let Some(batch) = stream.next().await {
                rows += batch?.num_rows();
            }
            Ok(rows)
        }),
        |e| e,
    )
    .await?;
    Ok(counts.iter().sum())
}

async fn time<F, Fut>(reps: usize, mut f: F) -> Result<(Vec<f64>, usize), BenchError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize, BenchError>>,
{
    let mut seconds = Vec::with_capacity(reps);
    let mut rows = 0;
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        rows = f().await?;
        seconds.push(secs(t.elapsed()));
    }
    Ok((seconds, rows))
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Time, in one process: opening the data, the scan floor, scoring every
/// questionnaire (the shared tables), each chart, and all charts together.
/// The first step that computes shared tables runs once (it is what a
/// session pays once); the others repeat `reps` times. With a block cache
/// (`cache`), the shared tables are read from it when it holds them, else
/// computed and written there.
pub async fn run(
    config: EngineConfig,
    catalog: Catalog,
    reps: usize,
    cache: Option<&std::path::Path>,
) -> Result<BenchReport, BenchError> {
    let data = config.data_dir.display().to_string();
    let mut steps = Vec::new();

    let t = Instant::now();
    let engine = Engine::open(config).await?;
    steps.push(Step::new("open", vec![secs(t.elapsed())], 0));

    let floor = scan_floor_sql();
    let (seconds, rows) = time(reps, || async {
        let mut rows = 0;
        for sql in &floor {
            rows += read_through(&engine, sql).await?;
        }
        Ok(rows)
    })
    .await?;
    steps.push(Step::new("scan_floor", seconds, rows));

    // The SDQ scoring step alone, as the DuckDB baseline does it: score every
    // SDQ and consume the totals.
    let sdq = catalog
        .shared()
        .find(|b| b.name == "sdq_score")
        .map(|b| b.sql.clone())
        .unwrap_or_default();
    let sdq_sql = format!("SELECT count(*), sum(total_difficulties) FROM ({sdq})");
    // sdq_score selects the SDQ rows of scale_score, which reads the given
    // scale scores: views of both for this step (the RCADS half of
    // scale_score is planned away by the filter on the measure); `prepare`
    // computes the blocks themselves below.
    for name in SDQ_SCORING_INPUTS {
        if let Some(block) = catalog.shared().find(|b| b.name == *name) {
            let view = engine.ctx().sql(&block.sql).await?.into_view();
            engine.ctx().register_table(*name, view)?;
        }
    }
    let (seconds, rows) = time(reps, || async {
        Ok(crate::output::row_count(&engine.sql(&sdq_sql).await?))
    })
    .await?;
    steps.push(Step::new("sdq_scoring", seconds, rows));

    let mut dashboard = Dashboard::new(engine, catalog);
    if let Some(dir) = cache {
        dashboard = dashboard.with_cache(dir)?;
    }
    let t = Instant::now();
    dashboard.prepare().await?;
    steps.push(Step::new(
        "score_questionnaires",
        vec![secs(t.elapsed())],
        0,
    ));
    // Where that time went: each shared block, in the order computed.
    for block in dashboard.block_timings() {
        steps.push(Step {
            step: format!("  block {}", block.id),
            seconds: vec![secs(block.elapsed)],
            rows: block.held.map_or(0, |h| h.rows),
            held_mib: block.held.map(|h| h.bytes as f64 / (1024.0 * 1024.0)),
        });
    }

    let charts: Vec<String> = dashboard.catalog().charts().map(|c| c.id.clone()).collect();
    let given = GivenParams::new();
    let mut all = vec![0.0; reps.max(1)];
    for chart in &charts {
        let (seconds, rows) = time(reps, || async {
            let r = dashboard.run(chart, &given).await?;
            Ok(crate::output::row_count(&r.batches))
        })
        .await?;
        for (a, s) in all.iter_mut().zip(&seconds) {
            *a += s;
        }
        steps.push(Step::new(format!("chart {chart}"), seconds, rows));
    }
    steps.push(Step::new("all_charts", all, charts.len()));
    Ok(BenchReport {
        data,
        repetitions: reps.max(1),
        steps,
        peak_rss_mib: peak_rss_mib(),
    })
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Print a bench report (`cypdash bench`): one row per step with min, median, the ratio
/// of the median to the scan floor's median, rows, and the memory an in-memory shared
/// block holds.
pub fn write_report(report: &BenchReport, format: Format, out: &mut dyn Write) -> Result<()> {
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, report)?;
        writeln!(out)?;
        return Ok(());
    }
    let floor = report
        .steps
        .iter()
        .find(|s| s.step == "scan_floor")
        .map(|s| s.median());
    let rows: Vec<Vec<String>> = report
        .steps
        .iter()
        .map(|s| {
            vec![
                s.step.clone(),
                format!("{:.3}", s.min()),
                format!("{:.3}", s.median()),
                floor
                    .filter(|f| *f > 0.0)
                    .map_or_else(String::new, |f| format!("{:.2}", s.median() / f)),
                s.rows.to_string(),
                s.held_mib.map_or_else(String::new, |m| format!("{m:.1}")),
            ]
        })
        .collect();
    let schema = Arc::new(Schema::new(
        [
            "step",
            "min_s",
            "median_s",
            "x_scan_floor",
            "rows",
            "held_mib",
        ]
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, false))
        .collect::<Vec<_>>(),
    ));
    let columns = (0..6)
        .map(|c| {
            Arc::new(StringArray::from(
                rows.iter().map(|r| r[c].clone()).collect::<Vec<_>>(),
            )) as _
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    output::write_batches(out, &schema, &[batch], format, None)?;
    if let Some(peak) = report.peak_rss_mib {
        if format == Format::Table {
            writeln!(out, "peak memory: {peak:.0} MiB")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_min() {
        let s = Step::new("x", vec![3.0, 1.0, 2.0, 10.0], 0);
        assert_eq!(s.min(), 1.0);
        assert_eq!(s.median(), 2.5);
    }

    #[test]
    fn scan_floor_reads_every_contract_table() {
        let sql = scan_floor_sql();
        assert_eq!(sql.len(), crate::contract::TABLES.len());
        for ((table, cols), spec) in SCAN_FLOOR.iter().zip(crate::contract::TABLES) {
            assert_eq!(*table, spec.name);
            for c in *cols {
                assert!(
                    spec.column(c).is_some(),
                    "{table}.{c} is not a contract column"
                );
            }
        }
    }
}
