//! `cypdash sort`: a copy of a data directory with every table sorted by
//! its key and the order declared (issue 18).
//!
//! - Each contract table of the input (a Parquet file, a folder of them, or
//!   a CSV file) is read through the engine (so a bad value is reported as
//!   everywhere else: table, file, line or row group, column), sorted by
//!   its key ([`contract::sort_key`], ascending, NULLs last) and written as
//!   Parquet whose row groups declare that order (`sorting_columns`), which
//!   the engine then registers as the table's sort order
//!   (`engine/layout.rs`).
//! - A file (or CSV) becomes `<table>.parquet`; a folder of K files
//!   becomes a folder of K files `<table>/part-NNNNN.parquet`, each a
//!   consecutive range of the key, cut only where the key's first column
//!   changes, so no two files overlap and a questionnaire's items stay in
//!   one file. The items are cut where the questionnaire files begin
//!   instead (`CUT_LIKE`), when the questionnaire files each hold a range
//!   of questionnaire ids and the two folders have as many files: both
//!   tables then share their split points and join file by file
//!   (`engine::range_by_file`). Every column is kept, extra ones too (a
//!   CSV's as text).
//! - Memory is bounded: the sort runs under the memory limit (`--memory-limit`,
//!   1 GiB when not given) and spills to the spill directory beyond it; the
//!   output is written a row group at a time.
//! - Every other file of the input (a reference table override, a README)
//!   is copied as it is.
//! - All or nothing, like an export: the output directory must be absent or
//!   empty; the copy is written into a temporary directory beside it and
//!   renamed into place only when every table is complete. A failure
//!   removes the temporary directory and leaves the output as it was.

use crate::contract;
use crate::engine::layout::{self, SortColumn};
use crate::engine::{self, mhsds, Engine, EngineConfig, EngineError, TableSource};
use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, Scalar};
use datafusion::arrow::compute::kernels::cmp::gt_eq;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::row::{OwnedRow, RowConverter, SortField};
use datafusion::common::ScalarValue;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use futures::StreamExt;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// The memory limit of a sort when none is given.
pub const DEFAULT_MEMORY_LIMIT: usize = 1 << 30;

/// Why a sort failed.
#[derive(Debug, thiserror::Error)]
pub enum SortError {
    #[error("refusing to write {}: {reason}", dir.display())]
    OutDir { dir: PathBuf, reason: String },
    #[error("I/O error on {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("sorting table `{table}`")]
    Table {
        table: String,
        #[source]
        source: DataFusionError,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SortError + '_ {
    move |source| SortError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One table written: its name, rows, files and the order declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortedTable {
    pub table: String,
    pub rows: u64,
    pub files: usize,
    pub order: String,
}

/// Sort the tables of the data directory of `config` into `out`.
pub async fn sort_data_dir(
    mut config: EngineConfig,
    out: &Path,
) -> Result<Vec<SortedTable>, SortError> {
    let refuse = |reason: &str| SortError::OutDir {
        dir: out.to_path_buf(),
        reason: reason.to_string(),
    };
    match fs::read_dir(out).map(|mut entries| entries.next().is_none()) {
        Ok(false) => return Err(refuse("it is not empty (sort writes a new directory)")),
        Ok(true) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(_) => return Err(refuse("it is not a directory")),
    }
    let data = fs::canonicalize(&config.data_dir).map_err(io_err(&config.data_dir))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent_abs = fs::canonicalize(&parent).map_err(io_err(&parent))?;
    if parent_abs.starts_with(&data) {
        return Err(refuse("it is inside the data directory"));
    }
    config.memory_limit = config.memory_limit.or(Some(DEFAULT_MEMORY_LIMIT));
    let engine = Engine::open(config).await?;
    if engine.shape() == mhsds::InputShape::Mhsds {
        return Err(refuse(
            "the data is an MHSDS extract; sort works on the contract's tables",
        ));
    }
    let name = out
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let prefix = format!(".{name}.cypdash-sort-");
    // What a sort stopped by Ctrl-C or killed left beside the output.
    crate::process::sweep_abandoned(&parent, |n| {
        n.strip_prefix(prefix.as_str())?
            .strip_suffix(".tmp")?
            .parse()
            .ok()
    });
    let tmp = parent.join(format!("{prefix}{}.tmp", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io_err(&tmp))?;
    let result = write_all(&engine, &tmp).await;
    let result = result.and_then(|tables| {
        if out.exists() {
            fs::remove_dir(out).map_err(io_err(out))?;
        }
        fs::rename(&tmp, out).map_err(io_err(out))?;
        Ok(tables)
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

/// Tables whose files are cut where another table's files begin: (table,
/// the table it is cut like, the column). The questionnaires' items are cut
/// at the least `questionnaire_id` of each questionnaire file, so that both
/// tables are declared range-partitioned at the same split points
/// (`engine::range_by_file`) and join file by file. Only where the other
/// table's files each hold a range of the column (questionnaire ids rising
/// with referral ids, by which the questionnaires are sorted) and both
/// folders have as many files; otherwise the table is cut by its own row
/// count.
const CUT_LIKE: &[(&str, &str, &str)] =
    &[("questionnaire_item", "questionnaire", "questionnaire_id")];

async fn write_all(engine: &Engine, tmp: &Path) -> Result<Vec<SortedTable>, SortError> {
    let mut tables = Vec::new();
    let mut sources = Vec::new();
    // The split points of the tables written so far that others are cut like.
    let mut splits: Vec<(&str, &str, Vec<ScalarValue>)> = Vec::new();
    for input in engine.inputs() {
        let Some(spec) = contract::table(input.name) else {
            continue;
        };
        sources.push(input.source.path().to_path_buf());
        let table_err = |source| SortError::Table {
            table: spec.name.to_string(),
            source,
        };
        let ctx = engine.ctx();
        let (df, files) = match &input.source {
            TableSource::Csv(p) => {
                let (df, _) = engine::read_csv(ctx, spec, p)
                    .await
                    .map_err(|m| table_err(DataFusionError::Execution(m)))?;
                (df, 1)
            }
            TableSource::ParquetFile(p) => (
                engine::read_parquet(ctx, p, Vec::new(), None)
                    .await
                    .map_err(table_err)?,
                1,
            ),
            TableSource::ParquetDir { path, files } => (
                engine::read_parquet(ctx, path, Vec::new(), None)
                    .await
                    .map_err(table_err)?,
                (*files).max(1),
            ),
        };
        let order: Vec<SortColumn> = contract::sort_key(spec.name)
            .iter()
            .copied()
            .map(SortColumn::ascending)
            .collect();
        let rows = df.clone().count().await.map_err(table_err)? as u64;
        let sorted = df.sort(layout::sort_exprs(&order)).map_err(table_err)?;
        let target = if matches!(input.source, TableSource::ParquetDir { .. }) {
            let dir = tmp.join(spec.name);
            fs::create_dir(&dir).map_err(io_err(&dir))?;
            Target::Folder(dir)
        } else {
            Target::File(tmp.join(format!("{}.parquet", spec.name)))
        };
        // Cut like the table it joins, where that table's files each hold a
        // range of the join column and there are as many files.
        let cuts = CUT_LIKE
            .iter()
            .find(|(table, ..)| *table == spec.name)
            .and_then(|(_, like, column)| splits.iter().find(|s| s.0 == *like && s.1 == *column))
            .map(|s| s.2.clone())
            .filter(|cuts| cuts.len() + 1 == files);
        let folder = match &target {
            Target::Folder(dir) => Some(dir.clone()),
            Target::File(_) => None,
        };
        let written = write_sorted(spec.name, sorted, &order, target, files, rows, cuts)
            .await
            .map_err(|e| match e {
                WriteError::Io(path, source) => SortError::Io { path, source },
                WriteError::Query(source) => table_err(source),
            })?;
        if let Some(dir) = folder {
            for (_, like, column) in CUT_LIKE {
                if *like == spec.name {
                    let files = engine::parquet_files(&TableSource::ParquetDir {
                        path: dir.clone(),
                        files: written,
                    });
                    if let Ok(Some(cuts)) = layout::file_key_splits(&files, column) {
                        splits.push((spec.name, *column, cuts));
                    }
                }
            }
        }
        tables.push(SortedTable {
            table: spec.name.to_string(),
            rows,
            files: written,
            order: layout::order_text(&order),
        });
    }
    copy_others(engine.data_dir(), &sources, tmp)?;
    Ok(tables)
}

enum Target {
    File(PathBuf),
    Folder(PathBuf),
}

enum WriteError {
    Io(PathBuf, std::io::Error),
    Query(DataFusionError),
}

impl From<DataFusionError> for WriteError {
    fn from(e: DataFusionError) -> Self {
        WriteError::Query(e)
    }
}

impl From<datafusion::parquet::errors::ParquetError> for WriteError {
    fn from(e: datafusion::parquet::errors::ParquetError) -> Self {
        WriteError::Query(e.into())
    }
}

impl From<datafusion::arrow::error::ArrowError> for WriteError {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        WriteError::Query(e.into())
    }
}

/// The open output file of a table.
struct Part {
    path: PathBuf,
    writer: ArrowWriter<BufWriter<File>>,
    rows: u64,
}

fn open_part(path: PathBuf, schema: &SchemaRef, order: &[SortColumn]) -> Result<Part, WriteError> {
    let file = File::create(&path).map_err(|e| WriteError::Io(path.clone(), e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_sorting_columns(layout::sorting_columns(schema, order))
        .build();
    let writer = ArrowWriter::try_new(
        BufWriter::with_capacity(1 << 20, file),
        schema.clone(),
        Some(props),
    )?;
    Ok(Part {
        path,
        writer,
        rows: 0,
    })
}

fn close_part(part: Part) -> Result<(), WriteError> {
    let buf = part.writer.into_inner()?;
    let file = buf
        .into_inner()
        .map_err(|e| WriteError::Io(part.path.clone(), e.into_error()))?;
    file.sync_all().map_err(|e| WriteError::Io(part.path, e))
}

/// Stream the sorted rows of `table` into `files` files of about `rows / files` rows
/// each, cutting only where the first key column changes; or, given `cuts`
/// (`files - 1` values of the first key column, rising), before the first
/// row at or above each.
async fn write_sorted(
    table: &str,
    df: DataFrame,
    order: &[SortColumn],
    target: Target,
    files: usize,
    rows: u64,
    cuts: Option<Vec<ScalarValue>>,
) -> Result<usize, WriteError> {
    let mut stream = df.execute_stream().await?;
    // Item codes are stored dictionary-encoded (layout::DICTIONARY_COLUMNS).
    let schema = layout::storage_schema(table, &stream.schema());
    // The cuts as scalars of the key column's type; none if one does not
    // convert.
    let key_type = schema.field_with_name(&order[0].name)?.data_type().clone();
    let cuts: Option<Vec<Scalar<ArrayRef>>> = cuts.and_then(|cuts| {
        cuts.iter()
            .map(|c| c.cast_to(&key_type).and_then(|c| c.to_scalar()).ok())
            .collect()
    });
    let path_of = |k: usize| match &target {
        Target::File(p) => p.clone(),
        Target::Folder(dir) => dir.join(format!("part-{k:05}.parquet")),
    };
    let per_file = rows.div_ceil(files.max(1) as u64).max(1);
    let first = schema.index_of(&order[0].name)?;
    let converter = RowConverter::new(vec![SortField::new(
        schema.field(first).data_type().clone(),
    )])?;
    let mut part = open_part(path_of(0), &schema, order)?;
    let mut written = 1;
    let mut last: Option<OwnedRow> = None;
    while let Some(batch) = stream.next().await {
        let mut batch: RecordBatch = layout::for_storage(table, &batch?)?;
        while batch.num_rows() > 0 {
            let full = matches!(target, Target::Folder(_))
                && written < files
                && part.rows + batch.num_rows() as u64 > per_file;
            let cut = if let Some(cuts) = &cuts {
                // The first row at or above the next file's least key.
                match cuts.get(written - 1) {
                    Some(next) if matches!(target, Target::Folder(_)) && written < files => {
                        let above = gt_eq(batch.column(first), next)?;
                        (0..batch.num_rows()).find(|&i| above.is_null(i) || above.value(i))
                    }
                    _ => None,
                }
            } else if full {
                // The first row at or after the file's quota whose first
                // key value differs from the row before it.
                let keys = converter.convert_columns(&[batch.column(first).clone()])?;
                let from = per_file.saturating_sub(part.rows) as usize;
                (from..batch.num_rows()).find(|&i| {
                    let before = if i == 0 {
                        last.as_ref().map(|r| r.row())
                    } else {
                        Some(keys.row(i - 1))
                    };
                    before.is_some_and(|b| b != keys.row(i))
                })
            } else {
                None
            };
            let (now, rest) = match cut {
                Some(i) => (batch.slice(0, i), batch.slice(i, batch.num_rows() - i)),
                None => (batch.clone(), batch.slice(batch.num_rows(), 0)),
            };
            if now.num_rows() > 0 {
                part.writer.write(&now)?;
                part.rows += now.num_rows() as u64;
                let keys =
                    converter.convert_columns(&[now.column(first).slice(now.num_rows() - 1, 1)])?;
                last = Some(keys.row(0).owned());
            }
            if cut.is_some() {
                close_part(std::mem::replace(
                    &mut part,
                    open_part(path_of(written), &schema, order)?,
                ))?;
                written += 1;
            }
            batch = rest;
        }
    }
    close_part(part)?;
    Ok(written)
}

/// Copy every file of `data` that is not one of the tables' `sources`
/// into `out`, keeping its relative path.
fn copy_others(data: &Path, sources: &[PathBuf], out: &Path) -> Result<(), SortError> {
    fn walk(dir: &Path, rel: &Path, sources: &[PathBuf], out: &Path) -> Result<(), SortError> {
        for entry in fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            let path = entry.path();
            if sources.iter().any(|s| s == &path) {
                continue;
            }
            let to = out.join(rel).join(entry.file_name());
            if path.is_dir() {
                fs::create_dir_all(&to).map_err(io_err(&to))?;
                walk(&path, &rel.join(entry.file_name()), sources, out)?;
            } else {
                fs::copy(&path, &to).map_err(io_err(&to))?;
            }
        }
        Ok(())
    }
    walk(data, Path::new(""), sources, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::layout::Declared;
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    /// Every row of each contract table of `dir`, as text, sorted.
    async fn rows(dir: &Path) -> Vec<(String, Vec<String>)> {
        let engine = Engine::open(EngineConfig::new(dir)).await.unwrap();
        let mut out = Vec::new();
        for spec in contract::TABLES {
            let batches = engine
                .sql(&format!("SELECT * FROM {}", spec.name))
                .await
                .unwrap();
            let fmt = FormatOptions::default().with_null("NULL");
            let mut rows = Vec::new();
            for b in &batches {
                let cols: Vec<ArrayFormatter> = b
                    .columns()
                    .iter()
                    .map(|c| ArrayFormatter::try_new(c.as_ref(), &fmt).unwrap())
                    .collect();
                for i in 0..b.num_rows() {
                    let row: Vec<String> = cols.iter().map(|c| c.value(i).to_string()).collect();
                    rows.push(row.join("|"));
                }
            }
            rows.sort();
            out.push((spec.name.to_string(), rows));
        }
        out
    }

    /// The copy's tables, each checked: declared sorted by its key, rows
    /// in that order.
    async fn assert_sorted(out: &Path) {
        let engine = Engine::open(EngineConfig::new(out)).await.unwrap();
        for input in engine.inputs() {
            let files = engine::parquet_files(&input.source);
            let order: Vec<SortColumn> = contract::sort_key(input.name)
                .iter()
                .copied()
                .map(SortColumn::ascending)
                .collect();
            assert_eq!(
                layout::declared_order(&files).unwrap(),
                Declared::Sorted(order.clone()),
                "{}",
                input.name
            );
            assert_eq!(
                layout::verify(&files, &order).unwrap(),
                None,
                "{}",
                input.name
            );
        }
    }

    /// Issue 18: a CSV data directory (rows in no particular order) sorted
    /// into Parquet: the same rows, sorted and declared; other files copied.
    #[tokio::test]
    async fn sort_writes_a_sorted_declared_copy_with_the_same_rows() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        fs::create_dir(&input).unwrap();
        for entry in fs::read_dir(fixture("dashboard")).unwrap() {
            let path = entry.unwrap().path();
            fs::copy(&path, input.join(path.file_name().unwrap())).unwrap();
        }
        let out = tmp.path().join("out");
        let tables = sort_data_dir(EngineConfig::new(&input), &out)
            .await
            .unwrap();
        assert_eq!(tables.len(), contract::TABLES.len());
        let item = tables
            .iter()
            .find(|t| t.table == "questionnaire_item")
            .unwrap();
        assert_eq!(
            (item.files, item.order.as_str()),
            (1, "questionnaire_id, item")
        );
        assert!(out.join("questionnaire_item.parquet").is_file());
        // The item codes are written dictionary-encoded (the CSV's are not).
        let written =
            datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                fs::File::open(out.join("questionnaire_item.parquet")).unwrap(),
            )
            .unwrap();
        assert!(matches!(
            written
                .schema()
                .field_with_name("item")
                .unwrap()
                .data_type(),
            datafusion::arrow::datatypes::DataType::Dictionary(..)
        ));
        assert!(out.join("README.md").is_file(), "other files are copied");
        assert!(!out.join("questionnaire_item.csv").exists());
        assert_sorted(&out).await;
        assert_eq!(rows(&input).await, rows(&out).await);
        // Nothing left beside the output.
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // A second run refuses to write over the copy.
        let err = sort_data_dir(EngineConfig::new(&input), &out)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not empty"), "{err}");
    }

    /// A sort stopped by Ctrl-C or killed leaves its temporary folder
    /// beside the output; the next sort to the same place removes it, and
    /// leaves a running sort's alone.
    #[tokio::test]
    async fn the_next_sort_removes_what_a_killed_one_left() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let abandoned = tmp.path().join(format!(".out.cypdash-sort-{gone}.tmp"));
        // pid 1 (init) is always running.
        let running = tmp.path().join(".out.cypdash-sort-1.tmp");
        for dir in [&abandoned, &running] {
            fs::create_dir_all(dir.join("questionnaire_item")).unwrap();
        }
        sort_data_dir(EngineConfig::new(fixture("tiny")), &out)
            .await
            .unwrap();
        assert!(!abandoned.exists(), "the killed sort's folder is removed");
        assert!(running.exists(), "a running sort's folder is left");
        assert!(out.join("questionnaire_item.parquet").is_file());
    }

    /// A folder of K files is written as K files of consecutive key
    /// ranges, cut between referrals / questionnaires (so the declared
    /// order also holds across the files, read in part order).
    #[tokio::test]
    async fn folders_keep_their_number_of_files_in_key_ranges() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        let options = crate::generate::GenerateOptions {
            out: input.clone(),
            referrals: 300,
            partnerships: 3,
            seed: 4,
            files_per_table: 3,
        };
        crate::generate::generate(&options, &mut |_| {}).unwrap();
        let out = tmp.path().join("out");
        // A small memory limit: the sort runs under it.
        let mut config = EngineConfig::new(&input);
        config.memory_limit = Some(64 << 20);
        let tables = sort_data_dir(config, &out).await.unwrap();
        for t in &tables {
            assert_eq!(t.files, 3, "{t:?}");
        }
        assert_sorted(&out).await;
        // The items are cut where the questionnaire files begin, so both
        // tables have the same split points by questionnaire_id (cut by
        // their own row counts, they differ).
        let splits = |table: &str| {
            let files = engine::parquet_files(&TableSource::ParquetDir {
                path: out.join(table),
                files: 3,
            });
            layout::file_key_splits(&files, "questionnaire_id").unwrap()
        };
        let questionnaire = splits("questionnaire");
        assert_eq!(questionnaire.as_ref().map(Vec::len), Some(2));
        assert_eq!(splits("questionnaire_item"), questionnaire);
        assert_eq!(rows(&input).await, rows(&out).await);
    }

    /// A read error in a later table fails the whole sort: no output
    /// directory, no temporary directory, and the error names the table.
    #[tokio::test]
    async fn a_failed_sort_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        fs::create_dir(&input).unwrap();
        for entry in fs::read_dir(fixture("tiny")).unwrap() {
            let path = entry.unwrap().path();
            fs::copy(&path, input.join(path.file_name().unwrap())).unwrap();
        }
        let items = input.join("questionnaire_item.csv");
        let mut text = fs::read_to_string(&items).unwrap();
        text.push_str("not-a-number,sdq_1,1,\n");
        fs::write(&items, text).unwrap();
        let out = tmp.path().join("out");
        let err = sort_data_dir(EngineConfig::new(&input), &out)
            .await
            .unwrap_err();
        let chain = format!("{:#}", anyhow::Error::new(err));
        assert!(chain.contains("questionnaire_item"), "{chain}");
        assert!(!out.exists());
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("in")]);
    }
}
