//! The one place a DataFusion [`SessionContext`] is built.
//!
//! [`Engine::open`] registers every table of the input data contract from a
//! data directory (each as `<table>.parquet`, a folder `<table>/` of Parquet
//! files, or `<table>.csv`), checks required columns and types, registers the
//! cypdash UDFs and the reference tables, and applies the memory limit and
//! spill directory. The CLI, the REPL, the tests and the benchmarks all go
//! through it.
//!
//! Bad input never panics and never fails without saying where: each Parquet
//! file's footer is checked before DataFusion reads it
//! (`engine/parquet_check.rs`), and every scan of an input table names its
//! table and file (and CSV line, or Parquet row group and column) in a read
//! error (`engine/scan.rs`).

pub mod layout;
pub mod mhsds;
mod parquet_check;
pub mod pool;
mod scan;

use crate::contract::{self, ContractType, TableSpec};
use crate::reference;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::config::ConfigNonZeroUsize;
use datafusion::common::{SplitPoint, TableReference};
use datafusion::datasource::file_format::options::ReadOptions;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{MemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::{Partitioning, RangePartitioning};
use datafusion::prelude::{
    cast, col, ident, CsvReadOptions, DataFrame, ParquetReadOptions, SessionConfig, SessionContext,
};
use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The default of [`EngineConfig::block_memory`] (`--block-memory 64MiB`):
/// every block of the 20k demo stays in memory; at 1M the large ones (the
/// T1/T2 pairs, the scale scores, the national concepts: about 4 GiB
/// together) go to disk, and the export peaked at 3.2 GiB instead of 6.0,
/// about 20% slower (docs/performance.md, issue 18).
pub const DEFAULT_BLOCK_MEMORY: usize = 64 << 20;

/// The default of [`EngineConfig::operator_memory`] (`--operator-memory
/// 1GiB`): at 1M referrals the hash aggregates over the item rows held 2.3
/// GiB without it; with it (and blocks written as they are read) the 1M
/// export peaked at 1.4-1.5 GiB instead of 3.3 (docs/performance.md,
/// issue 18).
pub const DEFAULT_OPERATOR_MEMORY: usize = 1 << 30;

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The data directory holding the contract's tables.
    pub data_dir: PathBuf,
    /// Memory limit in bytes for query execution (None: unlimited).
    pub memory_limit: Option<usize>,
    /// Where operators spill when the memory limit is reached (None: the
    /// OS temporary directory).
    pub spill_dir: Option<PathBuf>,
    /// Number of partitions (None: the number of CPU cores).
    pub target_partitions: Option<usize>,
    /// A shared block that holds more than this many bytes in memory is
    /// kept as Parquet in the spill directory instead (`--block-memory`;
    /// under a memory limit every block is).
    pub block_memory: usize,
    /// Without a memory limit: the memory that operators able to spill
    /// (sorts, aggregates) share before they spill (`--operator-memory`;
    /// 0: no pool, nothing spills). Soft: operators that cannot spill are
    /// never refused ([`pool`]).
    pub operator_memory: usize,
    /// The shape of the data directory (default: recognised by its
    /// table names, see [`mhsds::InputShape`]).
    pub input: mhsds::InputShape,
    /// Send every query to this Ballista scheduler (`--cluster`).
    #[cfg(feature = "cluster")]
    pub cluster: Option<crate::cluster::SchedulerAddr>,
}

impl EngineConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            memory_limit: None,
            spill_dir: None,
            target_partitions: None,
            block_memory: DEFAULT_BLOCK_MEMORY,
            operator_memory: DEFAULT_OPERATOR_MEMORY,
            input: mhsds::InputShape::Auto,
            #[cfg(feature = "cluster")]
            cluster: None,
        }
    }
}

/// Where an input table was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSource {
    ParquetFile(PathBuf),
    ParquetDir { path: PathBuf, files: usize },
    Csv(PathBuf),
}

impl TableSource {
    pub fn path(&self) -> &Path {
        match self {
            TableSource::ParquetFile(p) | TableSource::Csv(p) => p,
            TableSource::ParquetDir { path, .. } => path,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            TableSource::ParquetFile(_) => "parquet",
            TableSource::ParquetDir { .. } => "parquet folder",
            TableSource::Csv(_) => "csv",
        }
    }
}

/// One problem with the input data against the contract.
#[derive(Debug, Clone, PartialEq)]
pub enum ContractProblem {
    MissingTable {
        table: &'static str,
        dir: PathBuf,
    },
    AmbiguousTable {
        table: &'static str,
        found: Vec<PathBuf>,
    },
    Unreadable {
        table: &'static str,
        path: PathBuf,
        message: String,
    },
    MissingColumn {
        table: &'static str,
        column: &'static str,
        expected: &'static str,
        path: PathBuf,
    },
    WrongType {
        table: &'static str,
        column: &'static str,
        expected: &'static str,
        found: DataType,
        path: PathBuf,
    },
}

impl ContractProblem {
    /// The table the problem is about.
    pub fn table(&self) -> &'static str {
        match self {
            ContractProblem::MissingTable { table, .. }
            | ContractProblem::AmbiguousTable { table, .. }
            | ContractProblem::Unreadable { table, .. }
            | ContractProblem::MissingColumn { table, .. }
            | ContractProblem::WrongType { table, .. } => table,
        }
    }

    /// A short name of the problem class (used by `validate`).
    pub fn class(&self) -> &'static str {
        match self {
            ContractProblem::MissingTable { .. } => "missing table",
            ContractProblem::AmbiguousTable { .. } => "ambiguous table",
            ContractProblem::Unreadable { .. } => "unreadable file",
            ContractProblem::MissingColumn { .. } => "missing column",
            ContractProblem::WrongType { .. } => "wrong column type",
        }
    }
}

impl fmt::Display for ContractProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContractProblem::MissingTable { table, dir } => write!(
                f,
                "table `{table}` is missing: expected {table}.parquet, a folder {table}/ of Parquet files, or {table}.csv in {}",
                dir.display()
            ),
            ContractProblem::AmbiguousTable { table, found } => write!(
                f,
                "table `{table}` is given more than once: {}; keep one",
                found
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ContractProblem::Unreadable {
                table,
                path,
                message,
            } => write!(
                f,
                "table `{table}`: cannot read {}: {message}",
                path.display()
            ),
            ContractProblem::MissingColumn {
                table,
                column,
                expected,
                path,
            } => write!(
                f,
                "table `{table}` ({}): required column `{column}` ({expected}) is missing",
                path.display()
            ),
            ContractProblem::WrongType {
                table,
                column,
                expected,
                found,
                path,
            } => write!(
                f,
                "table `{table}` ({}): column `{column}` has type {found}, expected {expected}",
                path.display()
            ),
        }
    }
}

/// Errors building an engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("data directory {0} does not exist or is not a directory")]
    DataDirMissing(PathBuf),
    #[error("the data in {dir} does not meet the input contract ({} problem{}):\n{}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Contract {
        dir: PathBuf,
        problems: Vec<ContractProblem>,
    },
    #[error(transparent)]
    Reference(#[from] reference::ReferenceError),
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    #[error("cannot make the spill folder {path}: {source}")]
    SpillFolder {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An input table that was found and registered.
#[derive(Debug, Clone)]
pub struct InputTable {
    /// The table's name (a contract table, or an MHSDS table).
    pub name: &'static str,
    pub source: TableSource,
    /// The schema of the file(s) as found (before projection to the contract).
    pub file_schema: SchemaRef,
    /// The column the table is declared range-partitioned by, one range
    /// per file ([`layout::file_key_splits`]); None when it is not.
    pub ranged_by: Option<&'static str>,
}

/// A session over one data directory, with everything registered.
pub struct Engine {
    ctx: SessionContext,
    config: EngineConfig,
    inputs: Vec<InputTable>,
    references: Vec<reference::LoadedReference>,
    /// Contract or MHSDS (never `Auto` once open).
    shape: mhsds::InputShape,
    /// Where the operators spill. Last, so that it is removed after the
    /// session (and DataFusion's folder in it) is dropped.
    spill: SpillFolder,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("session_id", &self.ctx.session_id())
            .field("config", &self.config)
            .field("inputs", &self.inputs)
            .field("references", &self.references)
            .finish()
    }
}

impl Engine {
    /// Build the session: UDFs, reference tables and every contract table.
    /// Fails with [`EngineError::Contract`] listing every contract problem.
    pub async fn open(config: EngineConfig) -> Result<Self, EngineError> {
        if !config.data_dir.is_dir() {
            return Err(EngineError::DataDirMissing(config.data_dir.clone()));
        }
        let shape = config.input.resolve(&config.data_dir);
        let sources = Arc::new(scan::ScanSources::default());
        let spill =
            SpillFolder::create(&config.spill_dir.clone().unwrap_or_else(std::env::temp_dir))?;
        let ctx = new_context(&config, &sources, spill.path())?;
        cypdash_udfs::register_all(&ctx);
        let (inputs, problems) = match shape {
            mhsds::InputShape::Mhsds => {
                // The contract views read the SNOMED reference table.
                let references = reference::register_all(&ctx, &config.data_dir)?;
                let (inputs, problems) = mhsds::register(&ctx, &sources, &config.data_dir).await?;
                if problems.is_empty() {
                    return Ok(Self {
                        ctx,
                        config,
                        inputs,
                        references,
                        shape,
                        spill,
                    });
                }
                (inputs, problems)
            }
            _ => register_contract(&ctx, &sources, &config.data_dir).await?,
        };
        if !problems.is_empty() {
            return Err(EngineError::Contract {
                dir: config.data_dir.clone(),
                problems,
            });
        }
        let references = reference::register_all(&ctx, &config.data_dir)?;
        Ok(Self {
            ctx,
            config,
            inputs,
            references,
            shape,
            spill,
        })
    }

    /// Whether the data directory is in the contract's shape or MHSDS's.
    pub fn shape(&self) -> mhsds::InputShape {
        self.shape
    }

    /// The folder this session's operators spill to
    /// (`cypdash-spill-<pid>-<n>` in the spill directory).
    pub fn spill_folder(&self) -> &Path {
        self.spill.path()
    }

    pub fn ctx(&self) -> &SessionContext {
        &self.ctx
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// The input tables as found, in contract order (MHSDS tables for an
    /// MHSDS extract); an optional table left out is not listed.
    pub fn inputs(&self) -> &[InputTable] {
        &self.inputs
    }

    /// The reference tables, with where each came from.
    pub fn references(&self) -> &[reference::LoadedReference] {
        &self.references
    }

    /// Run one SQL statement and collect the result.
    pub async fn sql(
        &self,
        sql: &str,
    ) -> Result<Vec<datafusion::arrow::array::RecordBatch>, DataFusionError> {
        self.ctx.sql(sql).await?.collect().await
    }
}

/// The memory pool of a query execution limited to `limit` bytes: fair
/// shares among the operators that spill, with a floor ([`pool`]).
/// TrackConsumersPool names the largest consumers in an out-of-memory
/// error, so the user sees which operator ran out.
pub fn memory_pool(limit: usize) -> Arc<dyn MemoryPool> {
    tracked(pool::FlooredFairPool::new(limit))
}

fn tracked(pool: pool::FlooredFairPool) -> Arc<dyn MemoryPool> {
    Arc::new(TrackConsumersPool::new(
        pool,
        NonZeroUsize::new(5).expect("5 is not zero"),
    ))
}

/// The merge reserve of each sort under a memory limit: 1/256 of the
/// limit, at least 256 KiB and at most DataFusion's default.
fn sort_reserve(limit: usize, default: usize) -> usize {
    (limit / 256).clamp(256 << 10, default.max(256 << 10))
}

/// Prefix of an engine's spill folder in the spill directory.
const SPILL_PREFIX: &str = "cypdash-spill-";

/// The folder one engine's operators spill to, `cypdash-spill-<pid>-<n>`
/// in the spill directory (`--spill-dir`, or the OS temporary directory).
/// DataFusion makes its own folder in it and removes that when the session
/// ends; a run stopped by Ctrl-C or killed leaves it behind, with whatever
/// its sorts and aggregates had spilled (13 GiB at most in the 10M export,
/// docs/performance.md). Named by the process, such a leftover is removed
/// by the next engine opened on the same spill directory once its process
/// is gone, as the block cache's folders are.
#[derive(Debug)]
struct SpillFolder(PathBuf);

impl SpillFolder {
    fn create(spill_dir: &Path) -> Result<Self, EngineError> {
        crate::process::tagged_folder(spill_dir, SPILL_PREFIX)
            .map(Self)
            .map_err(|(path, source)| EngineError::SpillFolder { path, source })
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for SpillFolder {
    /// Removed only if empty: a session still alive elsewhere (a clone of
    /// the context) keeps DataFusion's folder in it, and its files, until
    /// it ends; the next run sweeps what is left.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn new_context(
    config: &EngineConfig,
    sources: &Arc<scan::ScanSources>,
    spill_folder: &Path,
) -> Result<SessionContext, DataFusionError> {
    let mut session = SessionConfig::new()
        .with_information_schema(true)
        .with_default_catalog_and_schema("cypdash", "public");
    // `CAST(x AS VARCHAR)` in the query files means Utf8, the type their
    // headers declare (strings read from Parquet still arrive as Utf8View).
    session
        .options_mut()
        .sql_parser
        .map_string_types_to_utf8view = false;
    if let Some(n) = config.target_partitions {
        session = session.with_target_partitions(n.max(1));
    }
    // An input hash-partitioned on some of a GROUP BY's columns (a join's
    // output on `referral_id` grouped by `referral_id, measure, informant`)
    // already puts each group in one partition. DataFusion 55 uses it as
    // it is only when it has at least `subset_repartition_threshold`
    // partitions (4 by default), and otherwise hashes every row again for
    // a partial and a final aggregate. With as many partitions as the
    // session's target nothing is gained by that, so the threshold is the
    // target (when below 4).
    let target = session.target_partitions();
    let optimizer = &mut session.options_mut().optimizer;
    optimizer.subset_repartition_threshold = optimizer.subset_repartition_threshold.min(target);
    // A repartition refused memory spills each batch to a pool of files
    // shared by its input tasks, and its output stream reads those files in
    // turn, waiting at the end of an open one for more. When two input tasks
    // spill at once, each opens a file, and a stream that has read the first
    // waits there for a batch that is in the second: the query hangs with
    // every thread idle (DataFusion 55; a 250k export under
    // `--operator-memory 16MiB` hung in 8 runs of 12). One file per spilled
    // batch closes each file as it is written, so a stream never waits on a
    // file no task will write again. Only repartitions read this setting.
    session.options_mut().execution.max_spill_file_size_bytes =
        ConfigNonZeroUsize::try_new(1).expect("1 is not zero");
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(limit) = config.memory_limit {
        runtime = runtime.with_memory_pool(memory_pool(limit));
        // DataFusion 55's hash join keeps its whole build side in memory
        // and cannot spill (apache/datafusion#24768); a sort-merge join
        // spills. Under a limit, equi-joins are planned as sort-merge joins
        // so that a run fits the limit, at some cost in time.
        session.options_mut().optimizer.prefer_hash_join = false;
        // Each sort holds back `sort_spill_reservation_bytes` (10 MiB by
        // default) that cannot spill, for merging its spilled runs; a plan
        // of sort-merge joins runs dozens of sorts at once, and under 256
        // MiB their reserves alone left the sorts no room (a chart of the
        // 20k demo failed). A reserve of 1/256 of the limit keeps them to
        // a few per cent of it.
        let execution = &mut session.options_mut().execution;
        execution.sort_spill_reservation_bytes =
            sort_reserve(limit, execution.sort_spill_reservation_bytes);
    } else if config.operator_memory > 0 {
        // No limit: sorts and aggregates spill beyond their share of a
        // soft pool, and hash joins stay (nothing is refused that would
        // run without the pool).
        let target = config.operator_memory;
        runtime = runtime.with_memory_pool(tracked(pool::FlooredFairPool::soft(target)));
        let execution = &mut session.options_mut().execution;
        execution.sort_spill_reservation_bytes =
            sort_reserve(target, execution.sort_spill_reservation_bytes);
    }
    runtime = runtime.with_disk_manager_builder(DiskManagerBuilder::default().with_mode(
        DiskManagerMode::Directories(vec![spill_folder.to_path_buf()]),
    ));
    // The scan wrapper goes last, so every other rule sees the bare scans.
    let state = SessionStateBuilder::new()
        .with_config(session)
        .with_runtime_env(runtime.build_arc()?)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(scan::NameScanErrors::new(Arc::clone(sources))))
        .build();
    // On a cluster the scheduler plans and the executors run; the caller
    // registers the functions after this (the upgrade resets them).
    #[cfg(feature = "cluster")]
    let state = match &config.cluster {
        Some(addr) => {
            crate::cluster::init_logging();
            crate::cluster::connect(state, addr)?
        }
        None => state,
    };
    Ok(SessionContext::new_with_state(state))
}

/// Register every contract table (the optional ones empty when absent).
async fn register_contract(
    ctx: &SessionContext,
    sources: &scan::ScanSources,
    dir: &Path,
) -> Result<(Vec<InputTable>, Vec<ContractProblem>), EngineError> {
    let mut inputs = Vec::new();
    let mut problems = Vec::new();
    for spec in contract::all_tables() {
        let optional = contract::OPTIONAL_TABLES
            .iter()
            .any(|t| t.name == spec.name);
        if optional && matches!(locate(dir, spec), Err(ContractProblem::MissingTable { .. })) {
            register_empty(ctx, spec)?;
            continue;
        }
        match register_input(ctx, sources, dir, spec).await {
            Ok(Ok(table)) => inputs.push(table),
            Ok(Err(mut found)) => problems.append(&mut found),
            Err(e) => return Err(e.into()),
        }
    }
    Ok((inputs, problems))
}

/// Register a table with the spec's columns and no rows.
fn register_empty(ctx: &SessionContext, spec: &TableSpec) -> Result<(), DataFusionError> {
    let table = datafusion::datasource::MemTable::try_new(spec.schema(), vec![vec![]])?;
    ctx.register_table(TableReference::bare(spec.name), Arc::new(table))?;
    Ok(())
}

/// Find where a table is stored in `dir`.
fn locate(dir: &Path, spec: &TableSpec) -> Result<TableSource, ContractProblem> {
    let file = dir.join(format!("{}.parquet", spec.name));
    let folder = dir.join(spec.name);
    let csv = dir.join(format!("{}.csv", spec.name));
    let mut found = Vec::new();
    if file.is_file() {
        found.push(TableSource::ParquetFile(file));
    }
    if folder.is_dir() {
        let files = std::fs::read_dir(&folder)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
                    .count()
            })
            .unwrap_or(0);
        found.push(TableSource::ParquetDir {
            path: folder,
            files,
        });
    }
    if csv.is_file() {
        found.push(TableSource::Csv(csv));
    }
    match found.len() {
        0 => Err(ContractProblem::MissingTable {
            table: spec.name,
            dir: dir.to_path_buf(),
        }),
        1 => Ok(found.pop().expect("one source")),
        _ => Err(ContractProblem::AmbiguousTable {
            table: spec.name,
            found: found.iter().map(|s| s.path().to_path_buf()).collect(),
        }),
    }
}

/// Register one contract table as a view projecting (and where needed
/// casting) its required columns. The outer `Result` carries engine
/// failures, the inner one the table's contract problems.
async fn register_input(
    ctx: &SessionContext,
    sources: &scan::ScanSources,
    dir: &Path,
    spec: &'static TableSpec,
) -> Result<Result<InputTable, Vec<ContractProblem>>, DataFusionError> {
    let source = match locate(dir, spec) {
        Ok(s) => s,
        Err(p) => return Ok(Err(vec![p])),
    };
    let path = source.path().to_path_buf();
    let unreadable = |message: String| {
        Ok(Err(vec![ContractProblem::Unreadable {
            table: spec.name,
            path: path.clone(),
            message,
        }]))
    };
    let (df, scan_source, ranged_by) = match &source {
        TableSource::ParquetFile(p) | TableSource::ParquetDir { path: p, .. } => {
            if let TableSource::ParquetDir { files: 0, .. } = source {
                return unreadable("the folder holds no .parquet files".to_string());
            }
            let files = parquet_files(&source);
            // DataFusion 55 reads a folder's own files and those of
            // Hive-style `key=value` subfolders, and no other: a file
            // anywhere else would be left out without a word.
            if let TableSource::ParquetDir { path: folder, .. } = &source {
                let unread: Vec<_> = files
                    .iter()
                    .filter(|f| !read_by_datafusion(folder, f))
                    .map(|f| ContractProblem::Unreadable {
                        table: spec.name,
                        path: f.clone(),
                        message: "in a subfolder, which is not read (only the table folder's \
                                  own files and `key=value` subfolders are): move it into the \
                                  table folder"
                            .to_string(),
                    })
                    .collect();
                if !unread.is_empty() {
                    return Ok(Err(unread));
                }
            }
            // The Parquet reader panics on some corrupt footers: check each
            // file's framing and metadata before it reads them.
            let corrupt: Vec<_> = files
                .iter()
                .filter_map(|f| {
                    parquet_check::check_file(f)
                        .err()
                        .map(|message| ContractProblem::Unreadable {
                            table: spec.name,
                            path: f.clone(),
                            message,
                        })
                })
                .collect();
            if !corrupt.is_empty() {
                return Ok(Err(corrupt));
            }
            // Files that all declare one sort order are registered with it,
            // so aggregates and joins on the key can run in order
            // (engine/layout.rs); anything else is read as unordered.
            let order = match layout::declared_order(&files) {
                Ok(layout::Declared::Sorted(order)) => order,
                _ => Vec::new(),
            };
            // Files that each hold one range of a column are declared
            // range-partitioned by file on it (engine/layout.rs), except
            // under `--memory-limit`. There the joins are sort-merge joins,
            // and with the scans declared their sorts took the Parquet
            // batches as read (most likely counted with every string
            // buffer they view): a sort asked for 60 MB for its first
            // batch, more than its share, and the 250k export under
            // `--memory-limit 1GiB` failed in every chart (it had passed
            // before the declaration, and passes without it).
            let config = ctx.copied_config();
            let (ranged_by, ranges) = if config.options().optimizer.prefer_hash_join {
                range_by_file(spec, p, &files, config.target_partitions()).unzip()
            } else {
                (None, None)
            };
            let read = |order: Vec<layout::SortColumn>| read_parquet(ctx, p, order, ranges.clone());
            let df = match read(order.clone()).await {
                // A dictionary column in the order: declare its prefix.
                Ok(df) => match layout::usable_order(&order, df.schema().as_arrow()) {
                    usable if usable.len() < order.len() => read(usable).await,
                    _ => Ok(df),
                },
                Err(e) => Err(e),
            };
            match df {
                Ok(df) => (
                    df,
                    scan::ScanSource::parquet(spec.name, p, files)?,
                    ranged_by,
                ),
                Err(e) => return unreadable(e.strip_backtrace()),
            }
        }
        TableSource::Csv(p) => match read_csv(ctx, spec, p).await {
            Ok((df, columns)) => (df, scan::ScanSource::csv(spec.name, p, columns)?, None),
            Err(message) => return unreadable(message),
        },
    };
    let file_schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let mut problems = Vec::new();
    let mut exprs = Vec::with_capacity(spec.columns.len());
    for column in spec.columns {
        match file_schema.field_with_name(column.name) {
            Err(_) if column.optional => exprs.push(
                cast(
                    datafusion::prelude::lit(datafusion::scalar::ScalarValue::Null),
                    column.data_type.arrow(),
                )
                .alias(column.name),
            ),
            Err(_) => problems.push(ContractProblem::MissingColumn {
                table: spec.name,
                column: column.name,
                expected: column.data_type.name(),
                path: path.clone(),
            }),
            Ok(field) if !column.data_type.accepts(field.data_type()) => {
                problems.push(ContractProblem::WrongType {
                    table: spec.name,
                    column: column.name,
                    expected: column.data_type.name(),
                    found: field.data_type().clone(),
                    path: path.clone(),
                })
            }
            Ok(field) => {
                let e = col(format!("\"{}\"", column.name));
                // Strings keep the type they arrive in (Utf8View from
                // Parquet): a cast would cost a copy per batch. So does a
                // dictionary of item codes (layout::DICTIONARY_COLUMNS);
                // any other dictionary-encoded string column (a pandas
                // categorical, say) is read as plain strings, so the
                // queries see one type for it whatever wrote the file.
                let target = match field.data_type() {
                    DataType::Dictionary(..)
                        if !layout::is_dictionary_column(spec.name, column.name) =>
                    {
                        Some(DataType::Utf8View)
                    }
                    found
                        if column.data_type != ContractType::Utf8
                            && found != &column.data_type.arrow() =>
                    {
                        Some(column.data_type.arrow())
                    }
                    _ => None,
                };
                exprs.push(match target {
                    Some(t) => cast(e, t).alias(column.name),
                    None => e,
                });
            }
        }
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let view = df.select(exprs)?.into_view();
    // `bare`: MHSDS table names keep their case (`"MHS101Referral"`).
    ctx.register_table(TableReference::bare(spec.name), view)?;
    sources.add(scan_source);
    Ok(Ok(InputTable {
        name: spec.name,
        source,
        file_schema,
        ranged_by,
    }))
}

/// The range partitioning by file of a contract table whose files each
/// hold one range of a column ([`layout::file_key_splits`]), with that
/// column: the first of [`contract::range_columns`] whose ranges qualify.
/// Only when there are at least as many files as target partitions: with
/// fewer, the declaration would leave cores idle (a declared partitioning
/// keeps each file whole), so the files are split into byte ranges as
/// before.
///
/// Only a folder's own files: DataFusion 55 lists no file in a subfolder
/// of a table's folder (`listing_table_ignore_subdirectory`), and a
/// declaration must name the files it reads, in its order.
fn range_by_file(
    spec: &TableSpec,
    folder: &Path,
    files: &[PathBuf],
    target_partitions: usize,
) -> Option<(&'static str, Partitioning)> {
    if files.len() < target_partitions.max(2) || files.iter().any(|f| f.parent() != Some(folder)) {
        return None;
    }
    contract::range_columns(spec.name)
        .iter()
        .find_map(|column| {
            // A footer that cannot be read was reported by the file checks.
            let splits = layout::file_key_splits(files, column).ok()??;
            let splits = splits
                .into_iter()
                .map(|v| SplitPoint::new(vec![v]))
                .collect();
            let range = RangePartitioning::try_new(vec![ident(*column).sort(true, false)], splits);
            Some((*column, Partitioning::Range(range.ok()?)))
        })
}

/// Register a Parquet table as `ctx.read_parquet` does, with the files'
/// declared `order` and, when given, their range partitioning (which
/// `ParquetReadOptions` cannot carry).
pub(crate) async fn read_parquet(
    ctx: &SessionContext,
    path: &Path,
    order: Vec<layout::SortColumn>,
    ranges: Option<Partitioning>,
) -> Result<DataFrame, DataFusionError> {
    let mut options = ParquetReadOptions::default();
    if !order.is_empty() {
        options = options.file_sort_order(vec![layout::sort_exprs(&order)]);
    }
    let listing = options
        .to_listing_options(&ctx.copied_config(), ctx.copied_table_options())
        .with_output_partitioning(ranges);
    let config = ListingTableConfig::new(ListingTableUrl::parse(path_str(path))?)
        .with_listing_options(listing)
        .infer_schema(&ctx.state())
        .await?;
    let table = ListingTable::try_new(config)?
        .with_cache(ctx.runtime_env().cache_manager.get_file_statistic_cache());
    ctx.read_table(Arc::new(table))
}

/// Whether DataFusion 55 lists `file` as one of `folder`'s: each folder
/// between them, if any, is a Hive-style `key=value` one
/// (`ListingTableUrl::contains` with `listing_table_ignore_subdirectory`).
fn read_by_datafusion(folder: &Path, file: &Path) -> bool {
    file.parent()
        .and_then(|parent| parent.strip_prefix(folder).ok())
        .is_some_and(|between| {
            between
                .components()
                .all(|c| c.as_os_str().to_string_lossy().contains('='))
        })
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The Parquet files of a table, in DataFusion's order: the file, or every
/// `.parquet` file under the folder (a file in a subfolder DataFusion does
/// not read is a contract problem: [`read_by_datafusion`]).
pub(crate) fn parquet_files(source: &TableSource) -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|x| x == "parquet") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    match source {
        TableSource::ParquetFile(p) => files.push(p.clone()),
        TableSource::ParquetDir { path, .. } => walk(path, &mut files),
        TableSource::Csv(_) => {}
    }
    // By the path's text, as DataFusion orders a table's files: the order
    // its scans read them in and assign them to partitions by.
    files.sort_by_key(|p| p.to_string_lossy().into_owned());
    files
}

/// Read a CSV table with the contract's types for the required columns and
/// Utf8 for any extra column (codes must stay strings: `'5'` not `5`).
/// Returns the header's columns with their contract types too.
///
/// The file is read whole by one reader (`newlines_in_values`), never split
/// into byte ranges: a quoted value may hold a line break, and only a reader
/// that starts at the header counts lines from the top of the file (the
/// line number in a read error).
pub(crate) async fn read_csv(
    ctx: &SessionContext,
    spec: &TableSpec,
    path: &Path,
) -> Result<(DataFrame, Vec<(String, Option<ContractType>)>), String> {
    use datafusion::arrow::datatypes::{Field, Schema};
    let header = read_csv_header(path)?;
    let columns: Vec<(String, Option<ContractType>)> = header
        .into_iter()
        .map(|name| {
            let t = spec.column(&name).map(|c| c.data_type);
            (name, t)
        })
        .collect();
    let fields = columns
        .iter()
        .map(|(name, t)| Field::new(name, t.map_or(DataType::Utf8, |t| t.arrow()), true))
        .collect::<Vec<_>>();
    let schema = Schema::new(fields);
    let df = ctx
        .read_csv(
            path_str(path),
            CsvReadOptions::new()
                .has_header(true)
                .newlines_in_values(true)
                .schema(&schema),
        )
        .await
        .map_err(|e| e.strip_backtrace())?;
    Ok((df, columns))
}

fn read_csv_header(path: &Path) -> Result<Vec<String>, String> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut line = String::new();
    std::io::BufReader::new(file)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let line = line.trim_start_matches('\u{feff}').trim_end();
    if line.is_empty() {
        return Err("the file is empty: a header row is required".to_string());
    }
    Ok(line
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .collect())
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
