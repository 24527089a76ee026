//! Parquet output: the out-dir safety check, one or more files per table
//! written under a temporary directory, and the final move into place.
//! Each table's rows are written in its key's order
//! ([`contract::sort_key`]), and each file declares that order in its
//! row groups' metadata (`sorting_columns`, see `engine/layout.rs`).

use super::GenerateError;
use crate::contract::{self, TableSpec};
use crate::engine::layout::{self, SortColumn};
use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::compute::{
    take_record_batch, LexicographicalComparator, SortColumn as ArrowSortColumn, SortOptions,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, Encoding};
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// The hidden directory inside the out dir that a run writes into before
/// moving its tables into place.
pub(crate) const TMP_DIR: &str = ".cypdash-generate.tmp";

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> GenerateError + '_ {
    move |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The name of part file `k` of a table written as a folder.
pub(crate) fn part_name(k: u32) -> String {
    format!("part-{k:05}.parquet")
}

fn is_part_name(name: &str) -> bool {
    name.strip_prefix("part-")
        .and_then(|r| r.strip_suffix(".parquet"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Check that `out` is absent, empty, or holds only what a previous run
/// wrote (the seven `<table>.parquet` files / `<table>/part-*.parquet`
/// folders and a leftover temporary directory); create it if absent and
/// return a fresh temporary directory inside it.
pub(crate) fn prepare_out_dir(out: &Path) -> Result<PathBuf, GenerateError> {
    let refuse = |reason: String| GenerateError::OutDir {
        dir: out.to_path_buf(),
        reason,
    };
    match fs::metadata(out) {
        Ok(m) if !m.is_dir() => return Err(refuse("it is not a directory".into())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(out).map_err(io_err(out))?;
        }
        Err(e) => return Err(io_err(out)(e)),
    }
    for entry in fs::read_dir(out).map_err(io_err(out))? {
        let entry = entry.map_err(io_err(out))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().map_err(io_err(&path))?.is_dir();
        if name == TMP_DIR {
            continue;
        }
        let table = name.strip_suffix(".parquet").unwrap_or(&name);
        if contract::table(table).is_none() {
            return Err(refuse(format!(
                "it holds `{name}`, which a previous `generate` run would not have written \
                 (use an empty or new directory)"
            )));
        }
        if is_dir {
            if name.ends_with(".parquet") {
                return Err(refuse(format!("`{name}` is a directory")));
            }
            for part in fs::read_dir(&path).map_err(io_err(&path))? {
                let part = part.map_err(io_err(&path))?;
                let pname = part.file_name().to_string_lossy().into_owned();
                if !is_part_name(&pname) {
                    return Err(refuse(format!(
                        "`{name}/{pname}` is not a part file a previous run would have written"
                    )));
                }
            }
        } else if !name.ends_with(".parquet") {
            return Err(refuse(format!("`{name}` is not a Parquet table")));
        }
    }
    let tmp = out.join(TMP_DIR);
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io_err(&tmp))?;
    Ok(tmp)
}

/// The table's key as a sort order: ascending, NULLs last.
pub(crate) fn key_order(spec: &TableSpec) -> Vec<SortColumn> {
    contract::sort_key(spec.name)
        .iter()
        .copied()
        .map(SortColumn::ascending)
        .collect()
}

/// `batch` with its rows in the order of `spec`'s key. The per-referral
/// tables arrive ordered by the key's first column already (ids grow with
/// the referral index), so only each run of rows with one first-key value
/// (a questionnaire's items, a referral's contacts) is sorted by the rest;
/// a batch that is not ordered so is sorted whole.
pub(crate) fn sort_by_key(
    spec: &TableSpec,
    batch: &RecordBatch,
) -> Result<RecordBatch, ArrowError> {
    let options = Some(SortOptions {
        descending: false,
        nulls_first: false,
    });
    let columns = contract::sort_key(spec.name)
        .iter()
        .map(|name| {
            let values = batch.column_by_name(name).cloned().ok_or_else(|| {
                ArrowError::SchemaError(format!("no key column `{name}` in {}", spec.name))
            })?;
            Ok(ArrowSortColumn { values, options })
        })
        .collect::<Result<Vec<_>, ArrowError>>()?;
    if columns.is_empty() || batch.num_rows() < 2 {
        return Ok(batch.clone());
    }
    let whole = LexicographicalComparator::try_new(&columns)?;
    let first = LexicographicalComparator::try_new(&columns[..1])?;
    let n = batch.num_rows();
    let mut idx: Vec<u32> = (0..n as u32).collect();
    let mut start = 0;
    for i in 1..=n {
        if i == n || !first.compare(i - 1, i).is_eq() {
            idx[start..i].sort_by(|a, b| whole.compare(*a as usize, *b as usize));
            start = i;
        }
    }
    let sorted = idx
        .windows(2)
        .all(|w| !whole.compare(w[0] as usize, w[1] as usize).is_gt());
    if !sorted {
        idx.sort_by(|a, b| whole.compare(*a as usize, *b as usize));
    }
    if idx.iter().enumerate().all(|(i, j)| i == *j as usize) {
        return Ok(batch.clone());
    }
    take_record_batch(batch, &UInt32Array::from(idx))
}

fn properties(spec: &TableSpec) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_sorting_columns(layout::sorting_columns(&spec.schema(), &key_order(spec)));
    // The sorted id columns compress far better delta-encoded than through
    // a dictionary that overflows anyway.
    for c in spec.columns.iter().filter(|c| c.name.ends_with("_id")) {
        let path = ColumnPath::from(c.name);
        b = b
            .set_column_dictionary_enabled(path.clone(), false)
            .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED);
    }
    b.build()
}

/// The open file(s) of one table.
pub(crate) struct TableWriter {
    spec: TableSpec,
    files: Vec<(PathBuf, ArrowWriter<BufWriter<File>>)>,
    rows: u64,
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("table", &self.spec.name)
            .field("files", &self.files.len())
            .field("rows", &self.rows)
            .finish()
    }
}

impl TableWriter {
    /// Open `files` file(s) for `spec` under `tmp`: `<table>.parquet` when
    /// one, `<table>/part-NNNNN.parquet` otherwise.
    pub(crate) fn create(tmp: &Path, spec: TableSpec, files: u32) -> Result<Self, GenerateError> {
        let schema: SchemaRef = layout::storage_schema(spec.name, &spec.schema());
        let paths: Vec<PathBuf> = if files == 1 {
            vec![tmp.join(format!("{}.parquet", spec.name))]
        } else {
            let dir = tmp.join(spec.name);
            fs::create_dir(&dir).map_err(io_err(&dir))?;
            (0..files).map(|k| dir.join(part_name(k))).collect()
        };
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            let file = File::create(&path).map_err(io_err(&path))?;
            let w = ArrowWriter::try_new(
                BufWriter::with_capacity(1 << 20, file),
                schema.clone(),
                Some(properties(&spec)),
            )
            .map_err(|source| GenerateError::Parquet {
                path: path.clone(),
                source,
            })?;
            out.push((path, w));
        }
        Ok(TableWriter {
            spec,
            files: out,
            rows: 0,
        })
    }

    /// The table written.
    pub(crate) fn table(&self) -> &'static str {
        self.spec.name
    }

    /// Write `batch` to file number `k` (modulo the number of files).
    pub(crate) fn write(&mut self, k: usize, batch: &RecordBatch) -> Result<(), GenerateError> {
        let n = self.files.len();
        let (path, w) = &mut self.files[k % n];
        let stored =
            layout::for_storage(self.spec.name, batch).map_err(|source| GenerateError::Arrow {
                table: self.spec.name,
                source,
            })?;
        w.write(&stored).map_err(|source| GenerateError::Parquet {
            path: path.clone(),
            source,
        })?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Finish every file; returns (table name, rows, files).
    pub(crate) fn finish(self) -> Result<(String, u64, u64), GenerateError> {
        let n = self.files.len() as u64;
        for (path, w) in self.files {
            let buf = w.into_inner().map_err(|source| GenerateError::Parquet {
                path: path.clone(),
                source,
            })?;
            let file = buf
                .into_inner()
                .map_err(|e| io_err(&path)(e.into_error()))?;
            file.sync_all().map_err(io_err(&path))?;
        }
        Ok((self.spec.name.to_string(), self.rows, n))
    }
}

/// Move the finished tables from `tmp` into `out`, replacing a previous
/// run's copy of each table (file or folder), then remove `tmp`.
pub(crate) fn publish(tmp: &Path, out: &Path) -> Result<(), GenerateError> {
    for spec in contract::TABLES {
        let file = format!("{}.parquet", spec.name);
        let (from, to) = if tmp.join(&file).exists() {
            (tmp.join(&file), out.join(&file))
        } else {
            (tmp.join(spec.name), out.join(spec.name))
        };
        for old in [out.join(&file), out.join(spec.name)] {
            match fs::symlink_metadata(&old) {
                Ok(m) if m.is_dir() => fs::remove_dir_all(&old).map_err(io_err(&old))?,
                Ok(_) => fs::remove_file(&old).map_err(io_err(&old))?,
                Err(_) => {}
            }
        }
        fs::rename(&from, &to).map_err(io_err(&to))?;
    }
    fs::remove_dir(tmp).map_err(io_err(tmp))?;
    if let Ok(dir) = File::open(out) {
        // Best effort: persist the renames.
        let _ = dir.sync_all();
    }
    Ok(())
}
