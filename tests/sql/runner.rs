//! A `sqllogictest` database backed by a DataFusion session.
//!
//! `chart <section/name> [k=v ...]` runs a chart file and prints its result;
//! the result is also registered as the table `last_chart` for the queries
//! that follow.

use async_trait::async_trait;
use cypdash::catalog::params::parse_args;
use cypdash::catalog::Catalog;
use cypdash::dashboard::Dashboard;
use cypdash::engine::{Engine, EngineConfig};
use datafusion::arrow::array::{Array, ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use sqllogictest::{DBOutput, DefaultColumnType};
use std::path::Path;

/// What an slt file runs against.
pub enum Session {
    /// A bare DataFusion session with only the cypdash UDFs.
    Bare(SessionContext),
    /// The full engine over a fixture, with the chart catalogue.
    Dashboard(Box<Dashboard>),
}

/// Builds the session an slt file runs against.
pub type MakeCtx = fn() -> Session;

/// A bare session with only the cypdash UDFs.
pub fn udf_context() -> Session {
    let ctx = SessionContext::new();
    cypdash_udfs::register_all(&ctx);
    Session::Bare(ctx)
}

/// The dashboard over `tests/fixtures/dashboard` with the embedded queries.
pub fn dashboard_context() -> Session {
    fixture_context("dashboard")
}

/// The dashboard over `tests/fixtures/national` (the national measures'
/// worked examples and edge cases).
pub fn national_context() -> Session {
    fixture_context("national")
}

/// The session an slt file under `tests/slt/queries/` runs against: the
/// `national/` charts' files run over their own fixture, the others over
/// `tests/fixtures/dashboard`.
pub fn context_for(path: &Path, default: MakeCtx) -> MakeCtx {
    let section = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str());
    match section {
        Some("national") => national_context,
        _ => default,
    }
}

fn fixture_context(name: &str) -> Session {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let engine = futures_lite_block_on(Engine::open(EngineConfig::new(dir)))
        .unwrap_or_else(|e| panic!("open the {name} fixture: {e}"));
    Session::Dashboard(Box::new(Dashboard::new(
        engine,
        Catalog::embedded().expect("catalogue"),
    )))
}

/// Run a future to completion on a fresh current-thread runtime (the slt
/// runner calls the maker from synchronous code).
fn futures_lite_block_on<F>(f: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(f)
        })
        .join()
        .expect("join")
    })
}

pub struct Db {
    session: Session,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DbError(String);

impl From<DataFusionError> for DbError {
    fn from(e: DataFusionError) -> Self {
        DbError(e.strip_backtrace())
    }
}

#[async_trait]
impl sqllogictest::AsyncDB for Db {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let (schema, batches) = match &self.session {
            Session::Bare(ctx) => {
                let df = ctx.sql(sql).await?;
                let schema = df.schema().inner().clone();
                (schema, df.collect().await?)
            }
            Session::Dashboard(dash) => {
                // `chart <section/name> [k=v ...]` runs a chart file; anything
                // else is SQL over the prepared session.
                if let Some(rest) = sql.trim().strip_prefix("chart ") {
                    let mut words = rest.split_whitespace();
                    let name = words.next().unwrap_or_default();
                    // `sdc=NAME` chooses the disclosure policy of this run;
                    // without it a chart runs with none, so that the chart
                    // files show their logic and disclosure.slt shows the
                    // policies.
                    let (sdc, args): (Vec<String>, Vec<String>) = words
                        .map(str::to_string)
                        .partition(|w| w.starts_with("sdc="));
                    let policy = match sdc.first() {
                        Some(w) => w[4..].parse().map_err(DbError)?,
                        None => cypdash::disclosure::Policy::None,
                    };
                    dash.set_policy(policy);
                    let params = parse_args(&args).map_err(|e| DbError(e.to_string()))?;
                    let result = dash
                        .run(name, &params)
                        .await
                        .map_err(|e| DbError(format!("{e}")))?;
                    // Kept as `last_chart`, so that a later query can pick
                    // rows out of a long result.
                    let ctx = dash.engine().ctx();
                    let table = datafusion::datasource::MemTable::try_new(
                        result.schema.clone(),
                        vec![result.batches.clone()],
                    )?;
                    ctx.deregister_table("last_chart")?;
                    ctx.register_table("last_chart", std::sync::Arc::new(table))?;
                    (result.schema, result.batches)
                } else {
                    dash.prepare().await.map_err(|e| DbError(e.to_string()))?;
                    let df = dash.engine().ctx().sql(sql).await?;
                    let schema = df.schema().inner().clone();
                    (schema, df.collect().await?)
                }
            }
        };
        let types = schema
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect::<Vec<_>>();
        if types.is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let mut rows = Vec::new();
        for batch in &batches {
            rows.extend(format_batch(batch)?);
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "cypdash"
    }
}

fn column_type(dt: &DataType) -> DefaultColumnType {
    if dt.is_integer() {
        DefaultColumnType::Integer
    } else if dt.is_floating() || matches!(dt, DataType::Decimal128(..)) {
        DefaultColumnType::FloatingPoint
    } else {
        DefaultColumnType::Text
    }
}

fn format_batch(batch: &RecordBatch) -> Result<Vec<Vec<String>>, DbError> {
    let columns = batch.columns();
    let mut rows = vec![Vec::with_capacity(columns.len()); batch.num_rows()];
    for col in columns {
        for (r, row) in rows.iter_mut().enumerate() {
            row.push(format_value(col, r)?);
        }
    }
    Ok(rows)
}

fn format_value(col: &ArrayRef, row: usize) -> Result<String, DbError> {
    if col.is_null(row) {
        return Ok("NULL".to_string());
    }
    match col.data_type() {
        DataType::Float64 | DataType::Float32 => {
            let v = datafusion::arrow::compute::cast(&col.slice(row, 1), &DataType::Float64)
                .map_err(|e| DbError(e.to_string()))?;
            let v = v
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Float64Array>()
                .expect("cast to Float64")
                .value(0);
            Ok(format_float(v))
        }
        _ => {
            let options = FormatOptions::default().with_null("NULL");
            let f = ArrayFormatter::try_new(col.as_ref(), &options)
                .map_err(|e| DbError(e.to_string()))?;
            let s = f.value(row).to_string();
            Ok(if s.is_empty() {
                "(empty)".to_string()
            } else {
                s
            })
        }
    }
}

fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else {
        let s = format!("{v:.6}");
        if s == "-0.000000" {
            "0.000000".to_string()
        } else {
            s
        }
    }
}

/// Run (or, with `complete`, rewrite the expected output of) one slt file.
pub async fn run_file(path: &Path, make: MakeCtx, complete: bool) -> Result<(), String> {
    let mut runner = sqllogictest::Runner::new(|| async move { Ok(Db { session: make() }) });
    runner.with_column_validator(sqllogictest::strict_column_validator);
    if complete {
        runner
            .update_test_file(
                path,
                " ",
                sqllogictest::default_validator,
                sqllogictest::default_normalizer,
                sqllogictest::strict_column_validator,
            )
            .await
            .map_err(|e| e.to_string())
    } else {
        runner
            .run_file_async(path)
            .await
            .map_err(|e| e.display(true).to_string())
    }
}
