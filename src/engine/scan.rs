//! Read errors that name their table and file (issue 10).
//!
//! DataFusion reports a bad CSV value as `Error while parsing value 'x' as
//! type 'Int64' for column 2 at line 1234`, naming neither the file nor the
//! table and counting lines from 0 (the header being line 0), and a corrupt
//! Parquet page as `Parquet argument error: External: failed to fill whole
//! buffer`, naming nothing at all. The engine knows which file each input
//! table comes from, so it rewrites these errors where they arise:
//!
//! - [`NameScanErrors`], the last physical optimizer rule of every session,
//!   wraps each scan of an input table's files in a [`NamedScanExec`]. Being
//!   last, it changes no other rule's view of the plan (repartitioning,
//!   filter, projection and limit pushdown all saw the bare scan).
//! - Its stream passes batches through untouched. On the first error (or a
//!   panic of the reader, caught at each poll as a last resort) it explains
//!   the error off the async runtime ([`tokio::task::spawn_blocking`]):
//!   - CSV: the file, the table, the 1-based line of the file (quoted line
//!     breaks counted, found by scanning the file), the column and the
//!     value, in the contract's words (`'x' is not a valid INT64`);
//!   - Parquet: the file (in a folder, the one that fails), the row group
//!     and the column, found by re-reading the table's files one column
//!     chunk at a time with the plain Parquet reader.
//! - Errors that are not about reading the file (say, a query's own
//!   arithmetic in a pushed-down filter) pass through unchanged.

use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::object_store::path::Path as StorePath;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::{
    ChildStats, ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan,
    PlanProperties, RecordBatchStream, ReplaceChildrenOptions, SendableRecordBatchStream,
    Statistics, StatisticsArgs,
};
use futures::Stream;
use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Once, RwLock};
use std::task::{Context, Poll};

use crate::contract::ContractType;

/// The files of one input table, and how to explain an error reading them.
#[derive(Debug)]
pub(super) struct ScanSource {
    table: &'static str,
    /// The table's source as the user gave it: a file or a folder.
    path: PathBuf,
    /// Where DataFusion's object store sees it (files match by prefix).
    location: StorePath,
    format: SourceFormat,
}

#[derive(Debug)]
enum SourceFormat {
    /// The header's columns, each with its contract type (None: an extra
    /// column, read as text).
    Csv {
        columns: Vec<(String, Option<ContractType>)>,
    },
    /// The Parquet files, in the order they are tried when locating a fault.
    Parquet { files: Vec<PathBuf> },
}

impl ScanSource {
    pub(super) fn csv(
        table: &'static str,
        path: &Path,
        columns: Vec<(String, Option<ContractType>)>,
    ) -> Result<Self> {
        Self::new(table, path, SourceFormat::Csv { columns })
    }

    pub(super) fn parquet(table: &'static str, path: &Path, files: Vec<PathBuf>) -> Result<Self> {
        Self::new(table, path, SourceFormat::Parquet { files })
    }

    fn new(table: &'static str, path: &Path, format: SourceFormat) -> Result<Self> {
        let location = ListingTableUrl::parse(path.to_string_lossy())?
            .prefix()
            .clone();
        Ok(Self {
            table,
            path: path.to_path_buf(),
            location,
            format,
        })
    }

    fn holds(&self, config: &FileScanConfig) -> bool {
        let mut files = config.file_groups.iter().flat_map(|g| g.iter());
        files
            .next()
            .is_some_and(|f| f.object_meta.location.prefix_matches(&self.location))
    }

    /// Whether a failure is about reading this source (else it passes
    /// through unchanged).
    fn is_read_failure(failure: &Failure) -> bool {
        match failure {
            Failure::Panic(_) => true,
            Failure::Error(e) => matches!(
                e.find_root(),
                DataFusionError::ArrowError(..)
                    | DataFusionError::ParquetError(_)
                    | DataFusionError::IoError(_)
                    | DataFusionError::ObjectStore(_)
                    | DataFusionError::External(_)
            ),
        }
    }

    /// The error to report for a failure reading this source. Blocking: it
    /// may read the source's files again.
    fn explain(&self, failure: Failure) -> DataFusionError {
        let (file, detail) = match &self.format {
            SourceFormat::Csv { columns } => {
                (self.path.clone(), csv_detail(&self.path, columns, &failure))
            }
            SourceFormat::Parquet { files } => match locate_parquet_fault(files) {
                Some(fault) => (fault.file, fault.detail),
                None => (self.path.clone(), failure.text()),
            },
        };
        DataFusionError::Execution(format!(
            "table `{}`: cannot read {}: {detail}",
            self.table,
            file.display()
        ))
    }
}

/// What went wrong in a scan: an error, or a panic of the reader.
#[derive(Debug)]
enum Failure {
    Error(DataFusionError),
    Panic(String),
}

impl Failure {
    fn text(&self) -> String {
        match self {
            Failure::Error(e) => e.find_root().strip_backtrace(),
            Failure::Panic(m) => format!("the reader panicked: {m}"),
        }
    }
}

thread_local! {
    /// Set while [`guarded`] runs: a panic then becomes an error, so the
    /// panic hook stays quiet (the error carries the panic's message).
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Run `f`, turning a panic into an error holding its message. A reader
/// that panics on a corrupt file must not bring the process down, nor
/// print a panic report beside the error that explains it.
pub(super) fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    result.map_err(|panic| panic_text(panic.as_ref()))
}

/// The message of a caught panic.
fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

// ---------------------------------------------------------------------------
// CSV

/// The detail of a CSV read error: line, column and value where Arrow's
/// message gives them, else Arrow's message.
fn csv_detail(
    path: &Path,
    columns: &[(String, Option<ContractType>)],
    failure: &Failure,
) -> String {
    let text = failure.text();
    let Failure::Error(e) = failure else {
        return text;
    };
    let DataFusionError::ArrowError(arrow, _) = e.find_root() else {
        return text;
    };
    let column_name = |i: usize| {
        columns
            .get(i)
            .map_or_else(|| format!("{}", i + 1), |(n, _)| format!("`{n}`"))
    };
    let line = |record: usize| match physical_line(path, record) {
        Ok(Some(line)) => format!("line {line}"),
        _ => format!("record {record} after the header"),
    };
    match arrow.as_ref() {
        ArrowError::ParseError(m) => match parse_value_error(m) {
            Some(p) => {
                let expected = columns
                    .get(p.column)
                    .and_then(|(_, t)| *t)
                    .map_or_else(|| p.arrow_type.to_string(), |t| type_hint(t).to_string());
                format!(
                    "{}, column {}: '{}' is not a valid {expected}",
                    line(p.record),
                    column_name(p.column),
                    p.value
                )
            }
            None => text,
        },
        ArrowError::CsvError(m) => {
            if let Some((record, expected, got)) = parse_field_count_error(m) {
                format!(
                    "{} has {got} fields, the header has {expected}",
                    line(record)
                )
            } else if let Some((record, field)) = parse_utf8_error(m) {
                format!(
                    "{}, column {}: the text is not valid UTF-8",
                    line(record),
                    column_name(field)
                )
            } else {
                text
            }
        }
        _ => text,
    }
}

/// A contract type as a CSV value must spell it.
fn type_hint(t: ContractType) -> &'static str {
    match t {
        ContractType::Int64 => "INT64 (a whole number)",
        ContractType::Int32 => "INT32 (a whole number)",
        ContractType::Float64 => "FLOAT64 (a number)",
        ContractType::Timestamp => "TIMESTAMP (YYYY-MM-DD HH:MM:SS)",
        ContractType::Date => "DATE (YYYY-MM-DD)",
        ContractType::Boolean => "BOOLEAN (true or false)",
        ContractType::Utf8 => "UTF8",
    }
}

/// A value Arrow could not parse; `record` counts the header as record 0.
#[derive(Debug, PartialEq)]
struct ValueError<'a> {
    value: &'a str,
    arrow_type: &'a str,
    column: usize,
    record: usize,
}

/// `Error while parsing value '{value}' as type '{type}' for column {c} at
/// line {record}. Row data: '...'` (arrow-csv; `line` is the 0-based record,
/// the header being 0).
fn parse_value_error(m: &str) -> Option<ValueError<'_>> {
    let rest = m.strip_prefix("Error while parsing value '")?;
    let (value, rest) = rest.split_once("' as type '")?;
    let (arrow_type, rest) = rest.split_once("' for column ")?;
    let (column, rest) = rest.split_once(" at line ")?;
    let record = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    Some(ValueError {
        value,
        arrow_type,
        column: column.parse().ok()?,
        record: record.parse().ok()?,
    })
}

/// `incorrect number of fields for line {n}, expected {e} got {g}` (n is
/// 1-based, the header being 1; `g` may read `more than k`). Returns the
/// 0-based record.
fn parse_field_count_error(m: &str) -> Option<(usize, &str, &str)> {
    let rest = m.strip_prefix("incorrect number of fields for line ")?;
    let (line, rest) = rest.split_once(", expected ")?;
    let (expected, got) = rest.split_once(" got ")?;
    Some((line.parse::<usize>().ok()?.checked_sub(1)?, expected, got))
}

/// `Encountered invalid UTF-8 data for line {n} and field {f}` (both
/// 1-based). Returns the 0-based record and field.
fn parse_utf8_error(m: &str) -> Option<(usize, usize)> {
    let rest = m.strip_prefix("Encountered invalid UTF-8 data for line ")?;
    let (line, field) = rest.split_once(" and field ")?;
    Some((
        line.parse::<usize>().ok()?.checked_sub(1)?,
        field.trim().parse::<usize>().ok()?.checked_sub(1)?,
    ))
}

/// The 1-based line of the file on which CSV record `record` (0-based, the
/// header being 0) starts. A quoted field may hold line breaks, so records
/// and lines differ; blank lines are skipped as the CSV reader skips them.
fn physical_line(path: &Path, record: usize) -> std::io::Result<Option<usize>> {
    use std::io::Read;
    let mut bytes = std::io::BufReader::new(std::fs::File::open(path)?).bytes();
    let mut line = 1;
    let mut seen = 0;
    let mut at_record_start = true;
    let mut in_quotes = false;
    let mut previous = 0u8;
    while let Some(b) = bytes.next().transpose()? {
        let line_break = b == b'\n' || b == b'\r';
        if at_record_start && !line_break {
            if seen == record {
                return Ok(Some(line));
            }
            seen += 1;
            at_record_start = false;
        }
        if b == b'"' {
            in_quotes = !in_quotes;
        }
        if line_break && !(b == b'\n' && previous == b'\r') {
            line += 1;
        }
        if line_break && !in_quotes {
            at_record_start = true;
        }
        previous = b;
    }
    Ok(None)
}

// ---------------------------------------------------------------------------
// Parquet

/// Where a Parquet table's files fail to read.
struct ParquetFault {
    file: PathBuf,
    /// `row group 2, column `birth_date`: ...`
    detail: String,
}

/// Read each file, one column chunk at a time, until one fails.
fn locate_parquet_fault(files: &[PathBuf]) -> Option<ParquetFault> {
    files.iter().find_map(|file| {
        let detail = match guarded(|| parquet_file_fault(file)) {
            Ok(detail) => detail?,
            Err(panic) => format!("the reader panicked: {panic}"),
        };
        Some(ParquetFault {
            file: file.clone(),
            detail,
        })
    })
}

fn parquet_file_fault(path: &Path) -> Option<String> {
    use datafusion::parquet::arrow::arrow_reader::{
        ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    };
    use datafusion::parquet::arrow::ProjectionMask;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Some(e.to_string()),
    };
    let metadata = match ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()) {
        Ok(m) => m,
        Err(e) => return Some(e.to_string()),
    };
    let parquet = metadata.metadata().clone();
    for g in 0..parquet.num_row_groups() {
        for c in 0..parquet.file_metadata().schema_descr().num_columns() {
            let at = || {
                format!(
                    "row group {g}, column `{}`",
                    parquet
                        .file_metadata()
                        .schema_descr()
                        .column(c)
                        .path()
                        .string()
                )
            };
            let reader = file.try_clone().map_err(|e| e.to_string()).and_then(|f| {
                ParquetRecordBatchReaderBuilder::new_with_metadata(f, metadata.clone())
                    .with_row_groups(vec![g])
                    .with_projection(ProjectionMask::leaves(
                        parquet.file_metadata().schema_descr(),
                        [c],
                    ))
                    .build()
                    .map_err(|e| e.to_string())
            });
            let reader = match reader {
                Ok(r) => r,
                Err(e) => return Some(format!("{}: {e}", at())),
            };
            for batch in reader {
                if let Err(e) = batch {
                    return Some(format!("{}: {e}", at()));
                }
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// The plan rule, the plan node and the stream

/// The input tables' sources, filled in as the engine registers them.
#[derive(Debug, Default)]
pub(super) struct ScanSources(RwLock<Vec<Arc<ScanSource>>>);

impl ScanSources {
    pub(super) fn add(&self, source: ScanSource) {
        self.0
            .write()
            .expect("scan sources lock")
            .push(Arc::new(source));
    }

    fn find(&self, config: &FileScanConfig) -> Option<Arc<ScanSource>> {
        self.0
            .read()
            .expect("scan sources lock")
            .iter()
            .find(|s| s.holds(config))
            .cloned()
    }
}

/// The physical optimizer rule that wraps each scan of an input table.
#[derive(Debug)]
pub(super) struct NameScanErrors {
    sources: Arc<ScanSources>,
}

impl NameScanErrors {
    pub(super) fn new(sources: Arc<ScanSources>) -> Self {
        Self { sources }
    }
}

impl PhysicalOptimizerRule for NameScanErrors {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let source = node
                .downcast_ref::<DataSourceExec>()
                .and_then(|exec| exec.data_source().downcast_ref::<FileScanConfig>())
                .and_then(|config| self.sources.find(config));
            Ok(match source {
                Some(source) => Transformed::yes(Arc::new(NamedScanExec::new(node, source)) as _),
                None => Transformed::no(node),
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "cypdash_name_scan_errors"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A scan of an input table whose errors name the table and file.
#[derive(Debug, Clone)]
struct NamedScanExec {
    input: Arc<dyn ExecutionPlan>,
    source: Arc<ScanSource>,
}

impl NamedScanExec {
    fn new(input: Arc<dyn ExecutionPlan>, source: Arc<ScanSource>) -> Self {
        Self { input, source }
    }
}

impl DisplayAs for NamedScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NamedScanExec: table={}", self.source.table)
    }
}

impl ExecutionPlan for NamedScanExec {
    fn name(&self) -> &str {
        "NamedScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return Err(DataFusionError::Internal(format!(
                "NamedScanExec takes one child, got {}",
                children.len()
            )));
        }
        Ok(Arc::new(Self::new(
            children.swap_remove(0),
            Arc::clone(&self.source),
        )))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        Ok(Arc::clone(&input_stats[0]))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let inner = self.input.execute(partition, context)?;
        Ok(Box::pin(NamedStream {
            schema: inner.schema(),
            inner: Some(inner),
            source: Arc::clone(&self.source),
            explaining: None,
        }))
    }
}

/// The scan's stream: batches pass through; the first error is explained.
struct NamedStream {
    schema: datafusion::arrow::datatypes::SchemaRef,
    /// None once the scan failed (the error is the stream's last item).
    inner: Option<SendableRecordBatchStream>,
    source: Arc<ScanSource>,
    explaining: Option<tokio::task::JoinHandle<DataFusionError>>,
}

impl Stream for NamedStream {
    type Item = Result<RecordBatch>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(handle) = &mut this.explaining {
            let explained = match Pin::new(handle).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => r,
            };
            this.explaining = None;
            let table = this.source.table;
            return Poll::Ready(Some(Err(explained.unwrap_or_else(|e| {
                DataFusionError::Execution(format!(
                    "table `{table}`: reading failed, and explaining the failure failed: {e}"
                ))
            }))));
        }
        let Some(inner) = &mut this.inner else {
            return Poll::Ready(None);
        };
        // A reader that panics on a corrupt file must not bring the process
        // down: the panic becomes this scan's error.
        let failure = match guarded(|| inner.as_mut().poll_next(cx)) {
            Ok(Poll::Ready(Some(Err(e)))) => Failure::Error(e),
            Ok(polled) => return polled,
            Err(panic) => Failure::Panic(panic),
        };
        this.inner = None;
        if !ScanSource::is_read_failure(&failure) {
            let Failure::Error(e) = failure else {
                unreachable!("a panic is a read failure")
            };
            return Poll::Ready(Some(Err(e)));
        }
        let source = Arc::clone(&this.source);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                this.explaining = Some(runtime.spawn_blocking(move || source.explain(failure)));
                // Poll the explanation at once (it registers the waker).
                Pin::new(this).poll_next(cx)
            }
            Err(_) => Poll::Ready(Some(Err(source.explain(failure)))),
        }
    }
}

impl RecordBatchStream for NamedStream {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.schema.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_csv_messages_are_parsed() {
        let m = "Error while parsing value 'abc' as type 'Int64' for column 2 at line 5. Row data: '[1,2,abc]'";
        assert_eq!(
            parse_value_error(m),
            Some(ValueError {
                value: "abc",
                arrow_type: "Int64",
                column: 2,
                record: 5
            })
        );
        assert_eq!(
            parse_field_count_error("incorrect number of fields for line 3, expected 7 got 6"),
            Some((2, "7", "6"))
        );
        assert_eq!(
            parse_utf8_error("Encountered invalid UTF-8 data for line 4 and field 2"),
            Some((3, 1))
        );
    }

    #[test]
    fn records_map_to_lines_across_quoted_line_breaks_and_blank_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(
            &path,
            "a,b\r\n1,\"two\nlines\"\r\n\r\n2,\"say \"\"hi\"\"\"\n3,x\n",
        )
        .unwrap();
        let lines: Vec<_> = (0..5).map(|r| physical_line(&path, r).unwrap()).collect();
        assert_eq!(lines, [Some(1), Some(2), Some(5), Some(6), None]);
    }
}
