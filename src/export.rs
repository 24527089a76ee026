//! BI-ready exports: one Parquet and/or CSV file per chart, a Power Query
//! snippet per chart and a `manifest.json` per export.
//!
//! - File names are stable: `<section>__<chart>.parquet`, `.csv`, `.pq`;
//!   a funnel chart also gets its limit curves as
//!   `<section>__<chart>__limits.parquet`, `.csv`, `.pq` ([`limits`]),
//!   listed in the manifest right after the chart's files.
//! - An export is all-or-nothing per directory: it is written whole into a
//!   staging directory beside the output and swapped in at the end, so a
//!   reader (Power BI refreshing, a sync client) never sees a half-written
//!   file or files of two runs, even after a kill; the next export removes
//!   what a killed one left, and a directory that is not an earlier export
//!   is never replaced (see [`directory`]).
//! - Columns are flattened to five types that every BI tool reads the same
//!   way: Int64, Float64, Boolean, Date32 and Utf8 (see [`export_type`]).
//!   Nested columns (lists, structs, maps) are rejected with an error that
//!   names the chart and the column.
//! - Parquet is snappy-compressed. CSV is UTF-8 with a byte-order mark (so
//!   Excel reads it as UTF-8), a header row, CRLF line ends and RFC 4180
//!   quoting (a field holding a comma, a quote or a line break is quoted and
//!   its quotes doubled), ISO dates (`2024-03-31`), `.` as the decimal
//!   separator and an empty field for NULL (an empty string is also written
//!   as an empty field: the two cannot be told apart in CSV).
//! - `manifest.json` records, per file: the chart, the parameter values used
//!   (defaults resolved), the row count, the columns and their types, the
//!   query file's fingerprint; and for the whole export: the tool version,
//!   the time (UTC, RFC 3339) and a fingerprint of the input data.
//!
//! The data fingerprint is FNV-1a 64 over, for each input file (the contract
//! tables and any reference-table override, in a fixed order), its path
//! relative to the data directory, its size in bytes and its modification
//! time in nanoseconds. It changes when a file is replaced, touched, added
//! or removed; it does not read file contents, so it costs nothing on large
//! data (copying a data directory with new modification times changes it).

use crate::catalog::params::ParamError;
use crate::catalog::{fnv1a_hex, format_date, QueryFile};
use crate::dashboard::{Dashboard, GivenParams, RunError};
use crate::engine::{Engine, TableSource};
use crate::reference::ReferenceOrigin;
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::scalar::ScalarValue;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Which files an export writes per chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Parquet,
    Csv,
    Both,
}

impl ExportFormat {
    pub fn parquet(self) -> bool {
        matches!(self, ExportFormat::Parquet | ExportFormat::Both)
    }

    pub fn csv(self) -> bool {
        matches!(self, ExportFormat::Csv | ExportFormat::Both)
    }
}

pub mod directory;
pub mod limits;

pub use directory::{DirectoryError, Staging, MANIFEST, REPORT};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// On a cluster a failed chart is most likely a fault of the cluster (an
    /// executor lost, a scheduler gone), not of the chart: the export is all
    /// or nothing, and its staging folder is dropped uncommitted.
    #[error(
        "{failed} of {charts} charts failed on the cluster {cluster}, so nothing was written to {}; \
         the first, {first}: {error}",
        out.display()
    )]
    OnCluster {
        cluster: String,
        failed: usize,
        charts: usize,
        out: PathBuf,
        first: String,
        error: String,
    },
    #[error(
        "column `{column}` of chart `{chart}` has the nested type {ty}, which an export cannot \
         hold: flatten it in the query (one column per field, or a text column)"
    )]
    Nested {
        chart: String,
        column: String,
        ty: DataType,
    },
    #[error(
        "column `{column}` of chart `{chart}` has the type {ty}, which an export cannot hold: \
         cast it in the query to BIGINT, DOUBLE, BOOLEAN, DATE or VARCHAR"
    )]
    Unsupported {
        chart: String,
        column: String,
        ty: DataType,
    },
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("no charts selected")]
    NothingSelected,
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Arrow {
        path: PathBuf,
        source: datafusion::arrow::error::ArrowError,
    },
    #[error("cannot write {}: {source}", path.display())]
    Parquet {
        path: PathBuf,
        source: datafusion::parquet::errors::ParquetError,
    },
    #[error("cannot convert column `{column}` of chart `{chart}` to {to}: {source}")]
    Cast {
        chart: String,
        column: String,
        to: DataType,
        source: datafusion::arrow::error::ArrowError,
    },
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Limits(#[from] limits::LimitsError),
    #[error(transparent)]
    Run(#[from] RunError),
}

/// The export type of a result column type: one of Int64, Float64, Boolean,
/// Date32, Utf8. `declared` (the header's type) decides for a column that
/// is NULL throughout (type Null). `Err` holds the error to report, built
/// by the caller with the chart and column names.
pub fn export_type(dt: &DataType, declared: Option<&str>) -> Result<DataType, Rejected> {
    use DataType::*;
    Ok(match dt {
        Int64 | Float64 | Boolean | Date32 | Utf8 => dt.clone(),
        Int8 | Int16 | Int32 | UInt8 | UInt16 | UInt32 | UInt64 => Int64,
        Float16 | Float32 => Float64,
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => Float64,
        Utf8View | LargeUtf8 => Utf8,
        Timestamp(..) | Date64 => Date32,
        Dictionary(_, value) => export_type(value, declared)?,
        Null => match declared {
            Some("Int64") => Int64,
            Some("Float64") => Float64,
            Some("Boolean") => Boolean,
            Some("Date32") => Date32,
            _ => Utf8,
        },
        t if t.is_nested() => return Err(Rejected::Nested),
        _ => return Err(Rejected::Unsupported),
    })
}

/// Why [`export_type`] refused a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    Nested,
    Unsupported,
}

/// A result with its columns cast to the export types.
#[derive(Debug, Clone)]
pub struct Normalised {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

/// Cast every column of a chart's result to its export type.
pub fn normalise(
    chart: &QueryFile,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<Normalised, ExportError> {
    let mut fields = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let declared = chart
            .header
            .columns
            .iter()
            .find(|c| c.name == *field.name())
            .map(|c| c.ty.as_str());
        let to = export_type(field.data_type(), declared).map_err(|r| {
            let (chart, column, ty) = (
                chart.id.clone(),
                field.name().clone(),
                field.data_type().clone(),
            );
            match r {
                Rejected::Nested => ExportError::Nested { chart, column, ty },
                Rejected::Unsupported => ExportError::Unsupported { chart, column, ty },
            }
        })?;
        fields.push(Field::new(
            field.name(),
            to,
            field.is_nullable() || field.data_type() == &DataType::Null,
        ));
    }
    let out_schema = Arc::new(Schema::new(fields));
    // Unsafe casts (an out-of-range UInt64) must fail, not become NULL.
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let columns = batch
            .columns()
            .iter()
            .zip(out_schema.fields())
            .map(|(array, field)| {
                cast_with_options(array, field.data_type(), &options).map_err(|source| {
                    ExportError::Cast {
                        chart: chart.id.clone(),
                        column: field.name().clone(),
                        to: field.data_type().clone(),
                        source,
                    }
                })
            })
            .collect::<Result<Vec<ArrayRef>, _>>()?;
        let batch = RecordBatch::try_new(out_schema.clone(), columns).map_err(|source| {
            ExportError::Cast {
                chart: chart.id.clone(),
                column: "*".to_string(),
                to: DataType::Null,
                source,
            }
        })?;
        out.push(batch);
    }
    Ok(Normalised {
        schema: out_schema,
        batches: out,
    })
}

/// The stable base name of a chart's files: `<section>__<chart>`.
pub fn base_name(chart: &QueryFile) -> String {
    format!("{}__{}", chart.section, chart.name)
}

/// Write a file through a temporary name in the same directory, renamed
/// into place once complete (and removed if writing fails); temporary
/// files of the same name left by killed processes are removed first.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let io = |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".to_string());
    directory::remove_stale_temporaries(&dir, &name);
    let tmp = dir.join(directory::temporary_name(&name));
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut w = std::io::BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write batches as one snappy-compressed Parquet file.
pub fn write_parquet(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), ExportError> {
    let pq = |source| ExportError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    write_atomic(path, |w| {
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("cypdash {}", env!("CARGO_PKG_VERSION")))
            .build();
        let mut writer = ArrowWriter::try_new(w, schema.clone(), Some(props)).map_err(pq)?;
        for b in batches {
            writer.write(b).map_err(pq)?;
        }
        writer.close().map_err(pq)?;
        Ok(())
    })
}

/// Write batches as CSV: UTF-8 with a byte-order mark, a header row, CRLF
/// line ends, RFC 4180 quoting, ISO dates, empty fields for NULL.
pub fn write_csv(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), ExportError> {
    write_atomic(path, |w| {
        write_csv_to(w, schema, batches).map_err(|e| e.at(path))
    })
}

/// [`write_csv`] to any writer.
pub fn write_csv_to(
    w: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), CsvError> {
    use datafusion::arrow::csv::writer::Terminator;
    w.write_all("\u{feff}".as_bytes())?;
    let mut writer = datafusion::arrow::csv::WriterBuilder::new()
        .with_header(true)
        .with_line_terminator(Terminator::CRLF)
        .with_date_format("%Y-%m-%d".to_string())
        .with_null(String::new())
        .build(&mut *w);
    if batches.is_empty() {
        writer.write(&RecordBatch::new_empty(schema.clone()))?;
    }
    for b in batches {
        writer.write(b)?;
    }
    Ok(())
}

/// A failure of [`write_csv_to`].
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}

impl CsvError {
    fn at(self, path: &Path) -> ExportError {
        match self {
            CsvError::Io(source) => ExportError::Io {
                path: path.to_path_buf(),
                source,
            },
            CsvError::Arrow(source) => ExportError::Arrow {
                path: path.to_path_buf(),
                source,
            },
        }
    }
}

/// The Power Query (M) type of an export column type.
pub fn m_type(dt: &DataType) -> &'static str {
    match dt {
        DataType::Int64 => "Int64.Type",
        DataType::Float64 => "type number",
        DataType::Boolean => "type logical",
        DataType::Date32 => "type date",
        _ => "type text",
    }
}

fn m_string(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Which exported file a Power Query snippet loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PqSource {
    Csv,
    Parquet,
}

/// A Power Query (M) snippet loading a chart's exported file with explicit
/// column types. `folder` is where the files are (the user may edit it).
pub fn power_query(
    chart: &QueryFile,
    schema: &SchemaRef,
    source: PqSource,
    folder: &str,
) -> String {
    let label = format!("{}: {}", chart.id, chart.header.title);
    power_query_for(&base_name(chart), &label, schema, source, folder)
}

/// A Power Query (M) snippet loading the exported file `<base>.csv` (or
/// `.parquet`); `label` is its first comment line.
pub fn power_query_for(
    base: &str,
    label: &str,
    schema: &SchemaRef,
    source: PqSource,
    folder: &str,
) -> String {
    let mut m = String::new();
    m.push_str(&format!(
        "// {}\n// Written by cypdash {}. Paste into Power BI or Excel: Get Data > Blank query > Advanced editor.\n// Change Folder if the files have moved.\nlet\n    Folder = {},\n",
        label,
        env!("CARGO_PKG_VERSION"),
        m_string(folder),
    ));
    let mut last = match source {
        PqSource::Csv => {
            m.push_str(&format!(
                "    Source = Csv.Document(File.Contents(Folder & {}), [Delimiter = \",\", Encoding = 65001, QuoteStyle = QuoteStyle.Csv]),\n    Promoted = Table.PromoteHeaders(Source, [PromoteAllScalars = true]),\n",
                m_string(&format!("{base}.csv"))
            ));
            "Promoted"
        }
        PqSource::Parquet => {
            m.push_str(&format!(
                "    Source = Parquet.Document(File.Contents(Folder & {})),\n",
                m_string(&format!("{base}.parquet"))
            ));
            "Source"
        }
    };
    let types: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| {
            format!(
                "        {{{}, {}}}",
                m_string(f.name()),
                m_type(f.data_type())
            )
        })
        .collect();
    // Culture en-US: `.` is the decimal separator; ISO dates parse in any culture.
    m.push_str(&format!(
        "    Typed = Table.TransformColumnTypes({last}, {{\n{}\n    }}, \"en-US\")",
        types.join(",\n")
    ));
    last = "Typed";
    let text: Vec<String> = schema
        .fields()
        .iter()
        .filter(|f| f.data_type() == &DataType::Utf8)
        .map(|f| m_string(f.name()))
        .collect();
    if source == PqSource::Csv && !text.is_empty() {
        // CSV writes NULL as an empty field; give text columns their NULLs back.
        m.push_str(&format!(
            ",\n    Nulls = Table.ReplaceValue(Typed, \"\", null, Replacer.ReplaceValue, {{{}}})",
            text.join(", ")
        ));
        last = "Nulls";
    }
    m.push_str(&format!("\nin\n    {last}\n"));
    m
}

/// One input file in the data fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    /// Path relative to the data directory.
    pub path: String,
    pub bytes: u64,
    /// Modification time, UTC, RFC 3339.
    pub modified: String,
}

/// What the export was computed from.
#[derive(Debug, Clone, Serialize)]
pub struct DataFingerprint {
    pub dir: String,
    /// FNV-1a 64 (hex) over each file's relative path, size and mtime.
    pub fingerprint: String,
    pub method: &'static str,
    pub files: Vec<InputFile>,
}

/// The input files of an engine's session: the contract tables (a Parquet
/// folder contributes each of its `.parquet` files) and any reference
/// overrides.
pub fn input_files(engine: &Engine) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for t in engine.inputs() {
        match &t.source {
            TableSource::ParquetFile(p) | TableSource::Csv(p) => files.push(p.clone()),
            TableSource::ParquetDir { path, .. } => {
                let mut inner: Vec<PathBuf> = std::fs::read_dir(path)
                    .map(|rd| {
                        rd.filter_map(|e| e.ok())
                            .map(|e| e.path())
                            .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
                            .collect()
                    })
                    .unwrap_or_default();
                inner.sort();
                files.extend(inner);
            }
        }
    }
    for r in engine.references() {
        if let ReferenceOrigin::Override(p) = &r.origin {
            files.push(p.clone());
        }
    }
    files
}

/// Fingerprint the input data by file metadata (see the module docs).
pub fn data_fingerprint(engine: &Engine) -> Result<DataFingerprint, ExportError> {
    let dir = engine.data_dir();
    let mut text = String::new();
    let mut files = Vec::new();
    for path in input_files(engine) {
        let meta = std::fs::metadata(&path).map_err(|source| ExportError::Io {
            path: path.clone(),
            source,
        })?;
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        let nanos = mtime.map_or(0, |d| d.as_nanos());
        text.push_str(&format!("{rel}\0{}\0{nanos}\n", meta.len()));
        files.push(InputFile {
            path: rel,
            bytes: meta.len(),
            modified: mtime.map(rfc3339).unwrap_or_default(),
        });
    }
    Ok(DataFingerprint {
        dir: dir.display().to_string(),
        fingerprint: fnv1a_hex(text.as_bytes()),
        method: "fnv1a-64 over each input file's relative path, size and modification time",
        files,
    })
}

/// A time since the Unix epoch as UTC RFC 3339 (`2025-01-31T12:00:00Z`).
pub fn rfc3339(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let days = (secs / 86_400) as i32;
    let rest = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(days),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The current time as UTC RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default(),
    )
}

/// A parameter value as JSON (dates as ISO text).
pub fn param_json(v: &ScalarValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        ScalarValue::Date32(Some(d)) => Value::String(format_date(*d)),
        ScalarValue::Int64(Some(i)) => Value::from(*i),
        ScalarValue::Float64(Some(f)) => Value::from(*f),
        ScalarValue::Boolean(Some(b)) => Value::Bool(*b),
        ScalarValue::Utf8(Some(s)) => Value::String(s.clone()),
        v if v.is_null() => Value::Null,
        v => Value::String(v.to_string()),
    }
}

/// One output column in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub nullable: bool,
}

impl ManifestColumn {
    /// The manifest's description of every column of `schema`.
    fn of(schema: &datafusion::arrow::datatypes::Schema) -> Vec<Self> {
        schema
            .fields()
            .iter()
            .map(|f| Self {
                name: f.name().clone(),
                ty: f.data_type().to_string(),
                nullable: f.is_nullable(),
            })
            .collect()
    }
}

/// One exported file in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestFile {
    pub file: String,
    pub format: &'static str,
    pub chart: String,
    pub title: String,
    /// The values the chart ran with, defaults resolved.
    pub params: BTreeMap<String, serde_json::Value>,
    pub rows: usize,
    pub columns: Vec<ManifestColumn>,
    /// FNV-1a 64 of the query file's text.
    pub query_fingerprint: String,
    /// The Power Query snippet loading this chart.
    pub power_query: String,
    /// A funnel chart's limits file (`<section>__<chart>__limits`): which
    /// chart file's units they belong to and how they were made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funnel_limits: Option<limits::LimitsInfo>,
    /// Why the chart has no rows when the data cannot answer it (a chart
    /// that needs items, over scale scores only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A chart that could not be exported.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestFailure {
    pub chart: String,
    pub error: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub tool: &'static str,
    pub version: &'static str,
    /// When the export was written (UTC, RFC 3339).
    pub created: String,
    /// `embedded` or the `--queries` directory.
    pub queries: String,
    pub data: DataFingerprint,
    /// The disclosure control every exported value obeys.
    pub disclosure: ManifestDisclosure,
    pub files: Vec<ManifestFile>,
    pub failed: Vec<ManifestFailure>,
}

/// The disclosure-control policy of an export (its parameter `min_n` is
/// among each file's parameters).
#[derive(Debug, Clone, Serialize)]
pub struct ManifestDisclosure {
    /// `corc`, `mhsds` or `none`.
    pub policy: String,
    /// The policy in words.
    pub description: &'static str,
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// Chart ids, in order.
    pub charts: Vec<String>,
    /// The parameters given for each chart (same order as `charts`): only
    /// those it declares (see [`crate::catalog::params::Binder`]).
    pub params: Vec<GivenParams>,
    pub format: ExportFormat,
    pub out: PathBuf,
}

/// How one chart went.
#[derive(Debug, Clone)]
pub struct ChartOutcome {
    pub chart: String,
    /// Rows exported; `None` when the chart failed.
    pub rows: Option<usize>,
    pub elapsed: Duration,
    /// Files written (names in the output directory).
    pub files: Vec<String>,
    /// Why the chart failed.
    pub error: Option<String>,
}

/// What an export did.
#[derive(Debug, Clone)]
pub struct ExportReport {
    pub out: PathBuf,
    pub charts: Vec<ChartOutcome>,
    pub manifest: Manifest,
    pub elapsed: Duration,
}

impl ExportReport {
    pub fn failed(&self) -> impl Iterator<Item = &ChartOutcome> {
        self.charts.iter().filter(|c| c.error.is_some())
    }

    pub fn files_written(&self) -> usize {
        self.charts.iter().map(|c| c.files.len()).sum()
    }
}

/// Progress of an export: called before each chart with its index and id,
/// and once more with the total when done. `Send`, so that an export can
/// run as a task of its own (the REPL cancels it on Ctrl-C; the staging
/// directory then goes with it).
pub type Progress<'a> = &'a mut (dyn FnMut(usize, &str) + Send);

/// Run the charts and write their files, the Power Query snippets and the
/// manifest into `request.out`, replacing it whole (see [`directory`]). A
/// chart that fails is recorded (in the report and the manifest), the
/// others go on and the export is put in place; any other error (failing to
/// write a file, a directory that is not an earlier export) leaves
/// `request.out` as it was.
pub async fn export(
    dash: &Dashboard,
    request: &ExportRequest,
    progress: Progress<'_>,
) -> Result<ExportReport, ExportError> {
    let started = Instant::now();
    let staging = Staging::begin(&request.out)?;
    let mut report = write_export(dash, request, &staging, progress).await?;
    staging.commit()?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// [`export`] up to the commit: the files are written into `staging`, for
/// a caller that adds its own (the rendered dashboard) before
/// [`Staging::commit`] puts them all in place at once.
pub async fn write_export(
    dash: &Dashboard,
    request: &ExportRequest,
    staging: &Staging,
    progress: Progress<'_>,
) -> Result<ExportReport, ExportError> {
    let started = Instant::now();
    let out = staging.path();
    // The Power Query snippets name where the files will be, not the staging.
    let mut folder = staging.out().display().to_string();
    if !folder.ends_with(std::path::MAIN_SEPARATOR) {
        folder.push(std::path::MAIN_SEPARATOR);
    }
    let data = data_fingerprint(dash.engine())?;
    let mut outcomes = Vec::new();
    let mut files = Vec::new();
    let mut failed = Vec::new();
    for (i, id) in request.charts.iter().enumerate() {
        progress(i, id);
        let chart_started = Instant::now();
        let no_params = GivenParams::new();
        let given = request.params.get(i).unwrap_or(&no_params);
        match export_chart(dash, id, given, request.format, out, &folder).await {
            Ok((rows, entries)) => {
                outcomes.push(ChartOutcome {
                    chart: id.clone(),
                    rows: Some(rows),
                    elapsed: chart_started.elapsed(),
                    files: entries.iter().map(|e| e.file.clone()).collect(),
                    error: None,
                });
                files.extend(entries);
            }
            Err(
                e @ (ExportError::Io { .. }
                | ExportError::Parquet { .. }
                | ExportError::Arrow { .. }),
            ) => return Err(e),
            Err(e) => {
                let error = e.to_string();
                failed.push(ManifestFailure {
                    chart: id.clone(),
                    error: error.clone(),
                });
                outcomes.push(ChartOutcome {
                    chart: id.clone(),
                    rows: None,
                    elapsed: chart_started.elapsed(),
                    files: Vec::new(),
                    error: Some(error),
                });
            }
        }
    }
    progress(request.charts.len(), "");
    let manifest = Manifest {
        tool: "cypdash",
        version: env!("CARGO_PKG_VERSION"),
        created: now_rfc3339(),
        queries: dash
            .catalog()
            .charts()
            .find_map(|c| c.path.as_ref())
            .and_then(|p| p.parent()?.parent())
            .map_or_else(|| "embedded".to_string(), |d| d.display().to_string()),
        data,
        disclosure: ManifestDisclosure {
            policy: dash.policy().to_string(),
            description: dash.policy().summary(),
        },
        files,
        failed,
    };
    let path = out.join(MANIFEST);
    write_atomic(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &manifest).map_err(|e| ExportError::Io {
            path: path.clone(),
            source: e.into(),
        })?;
        w.write_all(b"\n").map_err(|source| ExportError::Io {
            path: path.clone(),
            source,
        })
    })?;
    #[cfg(feature = "cluster")]
    if let (Some(cluster), Some(first)) = (
        &dash.engine().config().cluster,
        outcomes.iter().find(|c| c.error.is_some()),
    ) {
        return Err(ExportError::OnCluster {
            cluster: cluster.to_string(),
            failed: outcomes.iter().filter(|c| c.error.is_some()).count(),
            charts: outcomes.len(),
            out: request.out.clone(),
            first: first.chart.clone(),
            error: first.error.clone().unwrap_or_default(),
        });
    }
    Ok(ExportReport {
        out: request.out.clone(),
        charts: outcomes,
        manifest,
        elapsed: started.elapsed(),
    })
}

async fn export_chart(
    dash: &Dashboard,
    id: &str,
    given: &GivenParams,
    format: ExportFormat,
    out: &Path,
    folder: &str,
) -> Result<(usize, Vec<ManifestFile>), ExportError> {
    let chart = dash.catalog().chart(id).map_err(RunError::from)?.clone();
    let result = dash.run(&chart.id, given).await?;
    let data = normalise(&chart, &result.schema, &result.batches)?;
    let rows: usize = data.batches.iter().map(|b| b.num_rows()).sum();
    let base = base_name(&chart);
    let params: BTreeMap<String, serde_json::Value> = result
        .params
        .values
        .iter()
        .map(|(k, v)| (k.clone(), param_json(v)))
        .collect();
    let columns = ManifestColumn::of(&data.schema);
    let pq_name = format!("{base}.pq");
    let source = if format.csv() {
        PqSource::Csv
    } else {
        PqSource::Parquet
    };
    let snippet = power_query(&chart, &data.schema, source, folder);
    let mut entries = Vec::new();
    let entry = |file: String, format: &'static str| ManifestFile {
        file,
        format,
        chart: chart.id.clone(),
        title: chart.header.title.clone(),
        params: params.clone(),
        rows,
        columns: columns.clone(),
        query_fingerprint: chart.fingerprint(),
        power_query: pq_name.clone(),
        funnel_limits: None,
        note: result.note.clone(),
    };
    if format.parquet() {
        let name = format!("{base}.parquet");
        write_parquet(&out.join(&name), &data.schema, &data.batches)?;
        entries.push(entry(name, "parquet"));
    }
    if format.csv() {
        let name = format!("{base}.csv");
        write_csv(&out.join(&name), &data.schema, &data.batches)?;
        entries.push(entry(name, "csv"));
    }
    write_text(&out.join(&pq_name), &snippet)?;

    // A funnel chart's limit curves, listed right after the chart's files.
    if let Some(mut lim) =
        limits::limits_table(&chart, &result.params, &data.schema, &data.batches)?
    {
        let lim_base = format!("{base}{}", limits::SUFFIX);
        let lim_pq = format!("{lim_base}.pq");
        let label = format!("{}: {}, funnel limits", chart.id, chart.header.title);
        let lim_rows = lim.batch.num_rows();
        let lim_columns = ManifestColumn::of(&lim.schema);
        let chart_file = |ext: &str| format!("{base}.{ext}");
        let lim_entry =
            |file: String, format: &'static str, info: &limits::LimitsInfo| ManifestFile {
                file,
                format,
                chart: chart.id.clone(),
                title: format!("{}: funnel limits", chart.header.title),
                params: params.clone(),
                rows: lim_rows,
                columns: lim_columns.clone(),
                query_fingerprint: chart.fingerprint(),
                power_query: lim_pq.clone(),
                funnel_limits: Some(info.clone()),
                note: None,
            };
        let batches = std::slice::from_ref(&lim.batch);
        if format.parquet() {
            lim.info.limits_of = chart_file("parquet");
            let name = format!("{lim_base}.parquet");
            write_parquet(&out.join(&name), &lim.schema, batches)?;
            entries.push(lim_entry(name, "parquet", &lim.info));
        }
        if format.csv() {
            lim.info.limits_of = chart_file("csv");
            let name = format!("{lim_base}.csv");
            write_csv(&out.join(&name), &lim.schema, batches)?;
            entries.push(lim_entry(name, "csv", &lim.info));
        }
        let snippet = power_query_for(&lim_base, &label, &lim.schema, source, folder);
        write_text(&out.join(&lim_pq), &snippet)?;
    }
    Ok((rows, entries))
}

/// Write a text file through a temporary name (see [`write_atomic`]).
fn write_text(path: &Path, text: &str) -> Result<(), ExportError> {
    write_atomic(path, |w| {
        w.write_all(text.as_bytes())
            .map_err(|source| ExportError::Io {
                path: path.to_path_buf(),
                source,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, Int32Array, ListArray, StringArray, StringViewArray};
    use datafusion::arrow::datatypes::{Int32Type, TimeUnit};

    fn chart() -> QueryFile {
        let text = "-- title = \"T\"\n-- description = \"D\"\n--\n-- [[columns]]\n-- name = \"empty\"\n-- type = \"Float64\"\n-- description = \"x\"\nselect 1";
        QueryFile {
            id: "who/t".to_string(),
            section: "who".to_string(),
            name: "t".to_string(),
            header: crate::catalog::parse_header("who/t.sql", text).unwrap(),
            sql: text.to_string(),
            path: None,
        }
    }

    #[test]
    fn types_flatten_to_the_five_export_types() {
        use DataType::*;
        assert_eq!(export_type(&Int32, None), Ok(Int64));
        assert_eq!(export_type(&UInt64, None), Ok(Int64));
        assert_eq!(export_type(&Float32, None), Ok(Float64));
        assert_eq!(export_type(&Utf8View, None), Ok(Utf8));
        assert_eq!(export_type(&LargeUtf8, None), Ok(Utf8));
        assert_eq!(
            export_type(&Timestamp(TimeUnit::Nanosecond, None), None),
            Ok(Date32)
        );
        assert_eq!(export_type(&Decimal128(10, 2), None), Ok(Float64));
        assert_eq!(
            export_type(&Dictionary(Box::new(Int32), Box::new(Utf8)), None),
            Ok(Utf8)
        );
        assert_eq!(export_type(&Null, Some("Float64")), Ok(Float64));
        assert_eq!(export_type(&Null, None), Ok(Utf8));
        assert_eq!(
            export_type(&List(Arc::new(Field::new("item", Int64, true))), None),
            Err(Rejected::Nested)
        );
        assert_eq!(export_type(&Binary, None), Err(Rejected::Unsupported));
    }

    #[test]
    fn normalise_casts_and_rejects_nested_columns_by_name() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int32, false),
            Field::new("s", DataType::Utf8View, true),
            Field::new("empty", DataType::Null, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(StringViewArray::from(vec![Some("a"), None])),
                Arc::new(datafusion::arrow::array::NullArray::new(2)),
            ],
        )
        .unwrap();
        let n = normalise(&chart(), &schema, &[batch]).unwrap();
        let types: Vec<String> = n
            .schema
            .fields()
            .iter()
            .map(|f| f.data_type().to_string())
            .collect();
        assert_eq!(types, ["Int64", "Utf8", "Float64"]);

        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
        let schema = Arc::new(Schema::new(vec![Field::new(
            "l",
            list.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(list)]).unwrap();
        let err = normalise(&chart(), &schema, &[batch])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("column `l` of chart `who/t` has the nested type"),
            "{err}"
        );
    }

    #[test]
    fn csv_has_a_bom_crlf_and_rfc4180_quoting() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    Some("a,b"),
                    Some("say \"hi\""),
                    Some("two\nlines"),
                    None,
                ])),
                Arc::new(datafusion::arrow::array::Int64Array::from(vec![
                    Some(1),
                    Some(2),
                    None,
                    Some(4),
                ])),
            ],
        )
        .unwrap();
        let mut buf = Vec::new();
        write_csv_to(&mut buf, &schema, &[batch]).unwrap();
        let text = String::from_utf8(buf).unwrap();
        // NULL is an empty field in both a text and a number column.
        assert_eq!(
            text,
            "\u{feff}s,n\r\n\"a,b\",1\r\n\"say \"\"hi\"\"\",2\r\n\"two\nlines\",\r\n,4\r\n"
        );
    }

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(Duration::from_secs(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(Duration::from_secs(1_700_000_000)),
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn power_query_types_every_column() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("day", DataType::Date32, true),
        ]));
        let m = power_query(&chart(), &schema, PqSource::Csv, "C:\\out\\");
        assert!(m.contains("{\"id\", Int64.Type}"), "{m}");
        assert!(m.contains("{\"day\", type date}"), "{m}");
        assert!(m.contains("File.Contents(Folder & \"who__t.csv\")"), "{m}");
        assert!(m.trim_end().ends_with("Nulls"), "{m}");
    }
}
