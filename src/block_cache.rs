//! The block cache: shared blocks kept as Parquet files, outside process
//! memory.
//!
//! Without a cache, each shared block (`queries/_shared/*.sql` of kind
//! `step` or `bound_view`) is computed into an in-memory table on every run.
//! With `--cache DIR` each block's result is written once as Parquet under
//! `DIR` and registered as a listing table over those files, so that
//! - a later run over the same data, query files and parameter values reads
//!   the files instead of computing the block again;
//! - the block's rows are not held in process memory: only the operators
//!   that read them are, under the memory limit;
//! - every process that can read `DIR` (the executors of a cluster, on a
//!   shared path) reads the same files.
//!
//! An entry's key is a BLAKE3 hash of: the cache format, cypdash's
//! version, the input fingerprint (every file under the data directory by
//! relative path, size and modification time, and every reference table's
//! origin and shipped text), the text of every shared block (a block reads
//! others, which read the inputs), the block's id and text, and the
//! parameter values bound when it ran. Any change to one of them gives a
//! new key: a stale entry is never read, only left behind (`cypdash cache
//! clear` removes them).
//!
//! Layout: `DIR/v1/<block name>/<key>/part-<nnnn>.parquet` (one file per
//! output partition, in partition order; each file embeds the block's Arrow schema) and a `complete`
//! marker written last. An entry is written into `DIR/v1/.tmp-<pid>-<n>`
//! and renamed into place, so a reader sees a whole entry or none; two
//! processes filling the same key both write it, one rename wins, and the
//! contents are the same. A run stopped before its rename (Ctrl-C, killed)
//! leaves its `.tmp-<pid>-<n>` folder; the next run to open the cache
//! removes those whose process is gone.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::physical_plan::{execute_stream_partitioned, SendableRecordBatchStream};
use futures::StreamExt;

use crate::reference::{LoadedReference, ReferenceOrigin, REFERENCES};

/// The on-disk format; a change of layout bumps it.
const FORMAT: &str = "v1";
/// Written last into a complete entry.
const MARKER: &str = "complete";

/// A failure of the block cache, naming the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("block cache {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("block cache: writing block `{block}` to {path}: {source}")]
    Write {
        block: String,
        path: PathBuf,
        source: DataFusionError,
    },
    #[error("block cache {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// The block's own query failed (planning it, or while its rows were
    /// written): not a fault of the cache.
    #[error("block `{block}` failed: {source}")]
    Query {
        block: String,
        source: DataFusionError,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The key of one cache entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlockKey {
    /// The block's table name (the entry's folder).
    pub block: String,
    /// Hex BLAKE3 of everything the block's rows depend on.
    pub hash: String,
}

impl fmt::Display for BlockKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.block, &self.hash[..16])
    }
}

/// A block cache directory, with the fingerprint of one session's inputs.
#[derive(Debug)]
pub struct BlockCache {
    root: PathBuf,
    /// Everything every key of this session shares: format, version,
    /// inputs, shared blocks' text.
    base: blake3::Hasher,
    /// Entries found complete (read) and written, this session.
    hits: AtomicUsize,
    fills: AtomicUsize,
}

impl BlockCache {
    /// Open (create) the cache at `dir` for a session over `data_dir` with
    /// these references and shared blocks (`(id, sql)`).
    pub fn open(
        dir: &Path,
        data_dir: &Path,
        references: &[LoadedReference],
        shared: &[(&str, &str)],
    ) -> Result<Self, CacheError> {
        let root = dir.join(FORMAT);
        fs::create_dir_all(&root).map_err(io(&root))?;
        sweep_abandoned(&root, ".tmp-");
        let mut base = blake3::Hasher::new();
        field(&mut base, "format", FORMAT);
        field(&mut base, "version", env!("CARGO_PKG_VERSION"));
        fingerprint_inputs(&mut base, data_dir)?;
        fingerprint_references(&mut base, references);
        for (id, sql) in shared {
            field(&mut base, "shared", id);
            field(&mut base, "sql", sql);
        }
        Ok(Self {
            root,
            base,
            hits: AtomicUsize::new(0),
            fills: AtomicUsize::new(0),
        })
    }

    /// The cache directory as given.
    pub fn dir(&self) -> &Path {
        self.root.parent().unwrap_or(&self.root)
    }

    /// The key of block `name` (`id`, `sql`) run with `binding`, the
    /// parameter values in force (name, value as text).
    pub fn key(&self, name: &str, id: &str, sql: &str, binding: &[(String, String)]) -> BlockKey {
        let mut h = self.base.clone();
        field(&mut h, "block", id);
        field(&mut h, "sql", sql);
        for (name, value) in binding {
            field(&mut h, "param", name);
            field(&mut h, "value", value);
        }
        BlockKey {
            block: name.to_string(),
            hash: h.finalize().to_hex().to_string(),
        }
    }

    fn entry(&self, key: &BlockKey) -> PathBuf {
        self.root.join(&key.block).join(&key.hash)
    }

    /// Whether the entry is there, whole.
    pub fn contains(&self, key: &BlockKey) -> bool {
        self.entry(key).join(MARKER).is_file()
    }

    /// How many entries this session read and wrote.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.hits.load(Ordering::Relaxed),
            self.fills.load(Ordering::Relaxed),
        )
    }

    /// The table of `key`: the entry's files, written first by running
    /// the query `df` (awaited only then) when the cache does not hold it.
    pub async fn table(
        &self,
        key: &BlockKey,
        df: impl std::future::Future<Output = Result<datafusion::dataframe::DataFrame, DataFusionError>>,
    ) -> Result<Arc<dyn TableProvider>, CacheError> {
        if self.contains(key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return self.open_entry(key);
        }
        let qerr = |source| CacheError::Query {
            block: key.block.clone(),
            source,
        };
        let df = df.await.map_err(qerr)?;
        let partial = Partial::unread(df).await.map_err(qerr)?;
        self.keep(key, partial).await
    }

    /// Write a block that [`run_within`] found too large for memory (the
    /// batches it read, then the rest of each partition's stream) as the
    /// entry of `key`, and return its table.
    pub async fn keep(
        &self,
        key: &BlockKey,
        partial: Partial,
    ) -> Result<Arc<dyn TableProvider>, CacheError> {
        self.fill(key, partial).await?;
        self.fills.fetch_add(1, Ordering::Relaxed);
        self.open_entry(key)
    }

    /// Write `partial`'s partitions as the entry of `key`.
    async fn fill(&self, key: &BlockKey, partial: Partial) -> Result<(), CacheError> {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let tmp = self.root.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let result = write_entry(&tmp, key, partial).await;
        if result.is_err() {
            let _ = fs::remove_dir_all(&tmp);
            return result;
        }
        let dest = self.entry(key);
        let parent = dest.parent().unwrap_or(&self.root);
        fs::create_dir_all(parent).map_err(io(parent))?;
        match fs::rename(&tmp, &dest) {
            Ok(()) => Ok(()),
            // Another process put the same entry in place first: its
            // contents are the same, keep it.
            Err(_) if self.contains(key) => {
                let _ = fs::remove_dir_all(&tmp);
                Ok(())
            }
            // A stale incomplete entry (a killed writer before the marker
            // existed cannot happen: the marker is written before the
            // rename; an entry without it was left by hand): replace it.
            Err(_) if dest.exists() => {
                fs::remove_dir_all(&dest).map_err(io(&dest))?;
                fs::rename(&tmp, &dest).map_err(io(&dest))
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp);
                Err(io(&dest)(e))
            }
        }
    }

    /// A listing table over a complete entry, with the schema its files
    /// embed (string types and nullability as the block produced them).
    fn open_entry(&self, key: &BlockKey) -> Result<Arc<dyn TableProvider>, CacheError> {
        let dir = self.entry(key);
        let schema = entry_schema(&dir)?;
        let invalid = |e: DataFusionError| CacheError::Invalid {
            path: dir.clone(),
            message: e.to_string(),
        };
        let url = ListingTableUrl::parse(format!("{}/", dir.display())).map_err(invalid)?;
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(schema);
        let table = ListingTable::try_new(config).map_err(invalid)?;
        Ok(Arc::new(table))
    }
}

/// Write each partition of `partial` (its batches read so far, then the
/// rest of its stream) as `part-<nnnn>.parquet` in `tmp`, then the marker.
async fn write_entry(tmp: &Path, key: &BlockKey, partial: Partial) -> Result<(), CacheError> {
    let werr = |block: String, path: PathBuf| {
        move |source| CacheError::Write {
            block,
            path,
            source,
        }
    };
    fs::create_dir_all(tmp).map_err(io(tmp))?;
    let Partial { schema, partitions } = partial;
    let writes = partitions.into_iter().enumerate().map(|(i, (read, rest))| {
        let path = tmp.join(format!("part-{i:04}.parquet"));
        let schema = schema.clone();
        let werr = werr(key.block.clone(), tmp.to_path_buf());
        let block = key.block.clone();
        async move {
            let file = fs::File::create(&path).map_err(io(&path))?;
            match ArrowWriter::try_new(BufWriter::new(file), schema, None) {
                Ok(writer) => match write_partition(writer, read, rest).await {
                    Ok(()) => Ok(()),
                    Err(Failed::Query(source)) => Err(CacheError::Query { block, source }),
                    Err(Failed::Write(e)) => Err(werr(e)),
                },
                Err(e) => Err(werr(e.into())),
            }
        }
    });
    each_in_task(writes, werr(key.block.clone(), tmp.to_path_buf())).await?;
    let marker = tmp.join(MARKER);
    fs::write(&marker, key.hash.as_bytes()).map_err(io(&marker))
}

/// Why writing a partition stopped.
enum Failed {
    /// The block's query failed while its rows were read.
    Query(DataFusionError),
    /// Encoding or writing the file failed.
    Write(DataFusionError),
}

/// Write one partition: the batches already read, then the rest of its
/// stream.
async fn write_partition<W: std::io::Write + Send>(
    mut writer: ArrowWriter<W>,
    read: Vec<RecordBatch>,
    rest: Option<SendableRecordBatchStream>,
) -> Result<(), Failed> {
    let write = |e: datafusion::parquet::errors::ParquetError| Failed::Write(e.into());
    for batch in read {
        writer.write(&batch).map_err(write)?;
    }
    if let Some(mut stream) = rest {
        while let Some(batch) = stream.next().await {
            writer
                .write(&batch.map_err(Failed::Query)?)
                .map_err(write)?;
        }
    }
    writer.close().map_err(write)?;
    Ok(())
}

/// Await each of `work` in a task of its own and give their results in
/// order. A block's partitions are read and written this way, as
/// DataFusion's `collect_partitioned` reads them: polled together in one
/// task, the operators above a plan's last exchange (a partitioned join's
/// probe, a projection) and the Parquet encoding of every partition ran on
/// one core (issue 18). The first error is returned and the other tasks are
/// stopped (a `JoinSet` aborts its tasks when dropped); a panic in a task
/// is resumed here; `cancelled` maps a task cancelled from outside.
pub(crate) async fn each_in_task<R, E>(
    work: impl IntoIterator<Item = impl std::future::Future<Output = Result<R, E>> + Send + 'static>,
    cancelled: impl FnOnce(DataFusionError) -> E,
) -> Result<Vec<R>, E>
where
    R: Send + 'static,
    E: Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    let mut results = Vec::new();
    for (i, future) in work.into_iter().enumerate() {
        tasks.spawn(async move { (i, future.await) });
        results.push(None);
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, result)) => results[i] = Some(result?),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(cancelled(DataFusionError::ExecutionJoin(Box::new(e)))),
        }
    }
    Ok(results.into_iter().flatten().collect())
}

/// Rows and bytes of a block held in memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    pub rows: usize,
    /// Bytes allocated for its Arrow buffers, each allocation counted once
    /// (batches of one table often slice the same buffers, which
    /// `get_array_memory_size` would count once per batch).
    pub bytes: usize,
}

impl Held {
    pub fn of(partitions: &[Vec<RecordBatch>]) -> Self {
        let mut tally = Tally::default();
        partitions.iter().flatten().for_each(|b| tally.add(b));
        tally.held
    }
}

/// [`Held`] counted batch by batch.
#[derive(Debug, Default)]
struct Tally {
    seen: HashSet<usize>,
    held: Held,
}

impl Tally {
    fn add(&mut self, batch: &RecordBatch) {
        use datafusion::arrow::array::{Array, ArrayData};
        fn add(data: &ArrayData, seen: &mut HashSet<usize>, bytes: &mut usize) {
            let nulls = data.nulls().map(|n| n.buffer());
            for buffer in data.buffers().iter().chain(nulls) {
                if seen.insert(buffer.data_ptr().as_ptr() as usize) {
                    *bytes += buffer.capacity();
                }
            }
            for child in data.child_data() {
                add(child, seen, bytes);
            }
        }
        self.held.rows += batch.num_rows();
        for column in batch.columns() {
            add(&column.to_data(), &mut self.seen, &mut self.held.bytes);
        }
    }
}

/// A block's result part read: per output partition, the batches read so
/// far and the unread rest of its stream (None once it ended).
pub struct Partial {
    schema: SchemaRef,
    partitions: Vec<(Vec<RecordBatch>, Option<SendableRecordBatchStream>)>,
}

impl fmt::Debug for Partial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partial")
            .field("schema", &self.schema)
            .field("partitions", &self.partitions.len())
            .finish()
    }
}

impl Partial {
    /// `df` started and nothing read: its physical plan's schema (the
    /// batches' own; the logical schema can differ in nullability and
    /// string types) and one stream per output partition.
    async fn unread(df: DataFrame) -> Result<Self, DataFusionError> {
        let task = Arc::new(df.task_ctx());
        let plan = df.create_physical_plan().await?;
        let schema = plan.schema();
        let partitions = execute_stream_partitioned(plan, task)?
            .into_iter()
            .map(|stream| (Vec::new(), Some(stream)))
            .collect();
        Ok(Self { schema, partitions })
    }
}

/// What [`run_within`] gave.
#[derive(Debug)]
pub enum Within {
    /// Every row, in memory, per partition.
    Memory {
        schema: SchemaRef,
        partitions: Vec<Vec<RecordBatch>>,
        held: Held,
    },
    /// More than the budget: reading stopped there (to be written with
    /// [`BlockCache::keep`], the memory freed as it is written).
    Over(Partial),
}

/// Run `df`, reading its partitions together until they hold more than
/// `budget` bytes: a block that fits is returned in memory; one that does
/// not is never held whole (issue 18: at 1M referrals `outcome_pair`
/// held 1.3 GiB for the moment between being computed and written).
pub async fn run_within(df: DataFrame, budget: usize) -> Result<Within, DataFusionError> {
    read_within(Partial::unread(df).await?, budget).await
}

/// [`run_within`] over streams already started.
///
/// Once the budget is passed, every partition stops at once, including one
/// waiting for its next batch: that wait is abandoned (the stream keeps its
/// state and is read on by [`BlockCache::keep`]). Waiting it out could
/// hang. The partitions of a plan can depend on one another: each
/// partition of a partitioned hash join waits, before its first row, until
/// every partition has built its side of the join (DataFusion 55's dynamic
/// join filters, `SharedBuildAccumulator::report_build_data`). A partition
/// that stopped before it was first polled never builds, so one already
/// waiting would wait for ever, with every thread idle: at 1M referrals the
/// REPL hung so computing `outcome_pair` (session 17).
async fn read_within(partial: Partial, budget: usize) -> Result<Within, DataFusionError> {
    let Partial { schema, partitions } = partial;
    let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
    let (over_tx, over_rx) = tokio::sync::watch::channel(false);
    let over_tx = Arc::new(over_tx);
    let reads = partitions.into_iter().map(|(mut read, rest)| {
        let (tally, over_tx, mut over_rx) =
            (Arc::clone(&tally), Arc::clone(&over_tx), over_rx.clone());
        async move {
            let Some(mut stream) = rest else {
                return Ok((read, None));
            };
            loop {
                let next = tokio::select! {
                    biased;
                    // The sender lives as long as this task: no error.
                    _ = over_rx.wait_for(|over| *over) => break,
                    next = stream.next() => next,
                };
                let Some(batch) = next.transpose()? else {
                    return Ok((read, None));
                };
                let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
                tally.add(&batch);
                if tally.held.bytes > budget {
                    over_tx.send_replace(true);
                }
                read.push(batch);
            }
            Ok::<_, DataFusionError>((read, Some(stream)))
        }
    });
    let partitions = each_in_task(reads, |e| e).await?;
    if *over_rx.borrow() {
        return Ok(Within::Over(Partial { schema, partitions }));
    }
    let held = tally.lock().unwrap_or_else(|e| e.into_inner()).held;
    let partitions = partitions.into_iter().map(|(read, _)| read).collect();
    Ok(Within::Memory {
        schema,
        partitions,
        held,
    })
}

/// A block cache private to one session: a fresh folder in the spill
/// directory, removed when the session ends (issue 18). Under a memory
/// limit the dashboard keeps its shared blocks here instead of in memory,
/// so that they are read from disk by operators under the limit rather
/// than held outside it; nothing is shared with another run.
#[derive(Debug)]
pub struct SessionBlocks {
    cache: BlockCache,
    dir: PathBuf,
}

impl SessionBlocks {
    /// A new folder `cypdash-blocks-<pid>-<n>` under `spill_dir`.
    pub fn create(
        spill_dir: &Path,
        data_dir: &Path,
        references: &[LoadedReference],
        shared: &[(&str, &str)],
    ) -> Result<Self, CacheError> {
        let dir = crate::process::tagged_folder(spill_dir, SESSION_PREFIX)
            .map_err(|(dir, e)| io(&dir)(e))?;
        let cache = BlockCache::open(&dir, data_dir, references, shared);
        if cache.is_err() {
            let _ = fs::remove_dir_all(&dir);
        }
        Ok(Self { cache: cache?, dir })
    }

    pub fn cache(&self) -> &BlockCache {
        &self.cache
    }

    /// The session's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for SessionBlocks {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Prefix of a session's block folder in the spill directory.
const SESSION_PREFIX: &str = "cypdash-blocks-";

/// Remove the folders in `dir` named `<prefix><pid>-<n>` whose process is
/// gone (see [`crate::process::sweep_abandoned`]).
fn sweep_abandoned(dir: &Path, prefix: &str) {
    crate::process::sweep_abandoned(dir, |n| crate::process::tagged_pid(n, prefix));
}

/// The Arrow schema embedded in an entry's first file.
fn entry_schema(dir: &Path) -> Result<SchemaRef, CacheError> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let first = dir.join("part-0000.parquet");
    let file = fs::File::open(&first).map_err(io(&first))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| CacheError::Invalid {
            path: first.clone(),
            message: e.to_string(),
        })?;
    Ok(builder.schema().clone())
}

/// One length-prefixed field, so that no two sequences of fields hash the
/// same bytes.
fn field(h: &mut blake3::Hasher, name: &str, value: &str) {
    for part in [name, value] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
}

/// Every file under the data directory: relative path, size, modification
/// time (nanoseconds since the epoch), in path order.
fn fingerprint_inputs(h: &mut blake3::Hasher, data_dir: &Path) -> Result<(), CacheError> {
    let mut files = Vec::new();
    walk(data_dir, data_dir, &mut files)?;
    files.sort();
    for (rel, size, mtime) in files {
        field(h, "file", &rel);
        field(h, "size", &size.to_string());
        field(h, "mtime", &mtime.to_string());
    }
    Ok(())
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u64, u128)>) -> Result<(), CacheError> {
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let meta = fs::metadata(&path).map_err(io(&path))?;
        if meta.is_dir() {
            walk(root, &path, out)?;
        } else {
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            out.push((rel, meta.len(), mtime));
        }
    }
    Ok(())
}

fn fingerprint_references(h: &mut blake3::Hasher, references: &[LoadedReference]) {
    for spec in REFERENCES {
        field(h, "reference", spec.name);
        field(h, "shipped", spec.shipped);
    }
    for loaded in references {
        let origin = match &loaded.origin {
            ReferenceOrigin::Shipped => "shipped".to_string(),
            ReferenceOrigin::Override(p) => p.display().to_string(),
        };
        field(h, loaded.name, &origin);
    }
}

/// One entry of a cache directory, as `cypdash cache list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub block: String,
    pub hash: String,
    pub files: usize,
    pub bytes: u64,
    pub complete: bool,
}

/// The entries of the cache at `dir` (none when it does not exist).
pub fn entries(dir: &Path) -> Result<Vec<Entry>, CacheError> {
    let root = dir.join(FORMAT);
    let mut out = Vec::new();
    if !root.is_dir() {
        return Ok(out);
    }
    for block in fs::read_dir(&root).map_err(io(&root))? {
        let block = block.map_err(io(&root))?;
        let name = block.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") || !block.path().is_dir() {
            continue;
        }
        for entry in fs::read_dir(block.path()).map_err(io(&block.path()))? {
            let entry = entry.map_err(io(&block.path()))?;
            let path = entry.path();
            let (mut files, mut bytes) = (0, 0);
            for f in fs::read_dir(&path).map_err(io(&path))? {
                let f = f.map_err(io(&path))?;
                if f.path().extension().is_some_and(|e| e == "parquet") {
                    files += 1;
                    bytes += f.metadata().map_err(io(&f.path()))?.len();
                }
            }
            out.push(Entry {
                block: name.clone(),
                hash: entry.file_name().to_string_lossy().into_owned(),
                files,
                bytes,
                complete: path.join(MARKER).is_file(),
            });
        }
    }
    out.sort_by(|a, b| (&a.block, &a.hash).cmp(&(&b.block, &b.hash)));
    Ok(out)
}

/// Remove every entry (and any partial write) of the cache at `dir`;
/// returns how many entries and bytes went. Only the cache's own folder
/// (`DIR/v1`) is removed: other files in `DIR` are left alone.
pub fn clear(dir: &Path) -> Result<(usize, u64), CacheError> {
    let found = entries(dir)?;
    let root = dir.join(FORMAT);
    if root.exists() {
        fs::remove_dir_all(&root).map_err(io(&root))?;
    }
    Ok((found.len(), found.iter().map(|e| e.bytes).sum()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::execution::context::SessionContext;

    fn cache(dir: &Path, data: &Path) -> BlockCache {
        BlockCache::open(dir, data, &[], &[("a", "SELECT 1")]).unwrap()
    }

    /// A cache in `tmp/cache` over an empty data folder `tmp/data`.
    fn empty_cache(tmp: &Path) -> BlockCache {
        let data = tmp.join("data");
        fs::create_dir_all(&data).unwrap();
        cache(&tmp.join("cache"), &data)
    }

    /// Every batch of one Parquet file.
    fn read_parquet(file: &Path) -> Vec<RecordBatch> {
        use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        reader.collect::<Result<_, _>>().unwrap()
    }

    /// The first row of `sql`'s result, every column cast to Int64.
    async fn first_row(ctx: &SessionContext, sql: &str) -> Vec<i64> {
        let got = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        got[0]
            .columns()
            .iter()
            .map(|col| {
                datafusion::arrow::compute::cast(col, &DataType::Int64)
                    .unwrap()
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .value(0)
            })
            .collect()
    }

    #[test]
    fn keys_change_with_every_input() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        fs::create_dir_all(&data).unwrap();
        fs::write(data.join("referral.csv"), "a\n1\n").unwrap();
        let c = cache(&tmp.path().join("c"), &data);
        let binding = vec![("min_n".to_string(), "5".to_string())];
        let k = c.key("b", "_shared/b", "SELECT 2", &binding);
        // Same everything: same key.
        assert_eq!(
            k,
            cache(&tmp.path().join("c"), &data).key("b", "_shared/b", "SELECT 2", &binding)
        );
        // Another parameter value, another block text.
        let other = vec![("min_n".to_string(), "10".to_string())];
        assert_ne!(k, c.key("b", "_shared/b", "SELECT 2", &other));
        assert_ne!(k, c.key("b", "_shared/b", "SELECT 3", &binding));
        // Field boundaries count: ("ab", "") is not ("a", "b").
        let split = vec![("a".to_string(), "b".to_string())];
        let joined = vec![("ab".to_string(), String::new())];
        assert_ne!(c.key("b", "x", "y", &split), c.key("b", "x", "y", &joined));
        // Another shared block text.
        let c2 = BlockCache::open(&tmp.path().join("c"), &data, &[], &[("a", "SELECT 9")]).unwrap();
        assert_ne!(k, c2.key("b", "_shared/b", "SELECT 2", &binding));
        // The data changed (size differs).
        fs::write(data.join("referral.csv"), "a\n1\n2\n").unwrap();
        assert_ne!(
            k,
            cache(&tmp.path().join("c"), &data).key("b", "_shared/b", "SELECT 2", &binding)
        );
        // A new file in the data directory.
        fs::write(data.join("partnership.csv"), "x\n").unwrap();
        let k3 = cache(&tmp.path().join("c"), &data).key("b", "_shared/b", "SELECT 2", &binding);
        fs::remove_file(data.join("partnership.csv")).unwrap();
        assert_ne!(
            k3,
            cache(&tmp.path().join("c"), &data).key("b", "_shared/b", "SELECT 2", &binding)
        );
    }

    #[tokio::test]
    async fn a_filled_entry_reads_back_exactly_and_is_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        let c = empty_cache(tmp.path());
        let ctx = SessionContext::new();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("x"), None, Some("z")])),
            ],
        )
        .unwrap();
        ctx.register_batch("src", batch.clone()).unwrap();
        let key = c.key("blk", "_shared/blk", "SELECT * FROM src", &[]);
        assert!(!c.contains(&key));
        let t = c.table(&key, ctx.sql("SELECT * FROM src")).await.unwrap();
        assert!(c.contains(&key));
        // The schema as the block produced it: Utf8 stays Utf8, id stays
        // non-null.
        assert_eq!(t.schema().as_ref(), schema.as_ref());
        ctx.register_table("blk", t).unwrap();
        let got = ctx
            .sql("SELECT * FROM blk ORDER BY id")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let got = datafusion::arrow::compute::concat_batches(&schema, &got).unwrap();
        assert_eq!(got, batch);
        assert_eq!(c.counts(), (0, 1));
        // Reused: the query passed is not run (it would fail: no table).
        let again = c
            .table(&key, ctx.sql("SELECT * FROM no_such_table"))
            .await
            .unwrap();
        assert_eq!(again.schema().as_ref(), schema.as_ref());
        assert_eq!(c.counts(), (1, 1));
        let listed = entries(&dir).unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].complete && listed[0].block == "blk" && listed[0].bytes > 0);
        assert_eq!(clear(&dir).unwrap().0, 1);
        assert!(entries(&dir).unwrap().is_empty());
        assert!(!c.contains(&key));
    }

    /// Each partition of a block is written in a task of its own (issue 18:
    /// polled together in the caller's task they used one core): three
    /// streams record the task polling them, and each file holds its
    /// partition's rows.
    #[tokio::test]
    async fn each_partition_is_written_in_a_task_of_its_own() {
        use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
        let tmp = tempfile::tempdir().unwrap();
        let c = empty_cache(tmp.path());
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let polled = Arc::new(std::sync::Mutex::new(HashSet::new()));
        let partitions = (0..3)
            .map(|i: i64| {
                let (schema, polled) = (schema.clone(), Arc::clone(&polled));
                let batch = RecordBatch::try_new(
                    schema.clone(),
                    vec![Arc::new(Int64Array::from(vec![i * 10, i * 10 + 1]))],
                )
                .unwrap();
                let stream = futures::stream::once(async move {
                    polled.lock().unwrap().insert(tokio::task::try_id());
                    Ok(batch)
                });
                let stream: SendableRecordBatchStream =
                    Box::pin(RecordBatchStreamAdapter::new(schema, stream));
                (Vec::new(), Some(stream))
            })
            .collect();
        let key = c.key("blk", "_shared/blk", "three streams", &[]);
        let partial = Partial {
            schema: schema.clone(),
            partitions,
        };
        c.keep(&key, partial).await.unwrap();
        let polled = polled.lock().unwrap();
        assert_eq!(polled.len(), 3, "tasks: {polled:?}");
        assert!(!polled.contains(&None) && !polled.contains(&tokio::task::try_id()));
        for i in 0..3 {
            let file = c.entry(&key).join(format!("part-{i:04}.parquet"));
            let batches = read_parquet(&file);
            let ids = datafusion::arrow::compute::concat_batches(&schema, &batches).unwrap();
            let want = Int64Array::from(vec![i * 10, i * 10 + 1]);
            assert_eq!(
                ids.column(0).as_ref(),
                &want as &dyn datafusion::arrow::array::Array
            );
        }
    }

    /// `each_in_task` gives results in the order of its work whatever
    /// order they finish in, and returns the first error without waiting
    /// for work that never ends (which it stops).
    #[tokio::test]
    async fn each_in_task_keeps_order_and_stops_at_the_first_error() {
        use std::time::Duration;
        let slow_first = (0..4u64).map(|i| async move {
            tokio::time::sleep(Duration::from_millis(40 - 10 * i)).await;
            Ok::<_, String>(i)
        });
        assert_eq!(
            each_in_task(slow_first, |e| e.to_string()).await.unwrap(),
            [0, 1, 2, 3]
        );
        let never = Box::pin(async { std::future::pending::<Result<u64, String>>().await });
        let fails = Box::pin(async { Err::<u64, _>("partition 1 failed".to_string()) });
        let work: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>> =
            vec![never, fails];
        let got = tokio::time::timeout(
            Duration::from_secs(10),
            each_in_task(work, |e| e.to_string()),
        )
        .await
        .expect("the first error returns at once");
        assert_eq!(got, Err("partition 1 failed".to_string()));
    }

    /// A block over its budget is returned unfinished and written from
    /// where reading stopped: 4 partitions of 3 batches of 1,000 ids (8 kB
    /// each), a budget of 20 kB stops after about three batches, and the
    /// entry holds every id once, one file per partition. Under a budget
    /// it holds, the same query comes back in memory with its size.
    #[tokio::test]
    async fn a_block_over_its_budget_is_written_from_where_reading_stopped() {
        let tmp = tempfile::tempdir().unwrap();
        let c = empty_cache(tmp.path());
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let partitions: Vec<Vec<RecordBatch>> = (0..4)
            .map(|p| {
                (0..3)
                    .map(|b| {
                        let start = (p * 3 + b) * 1000;
                        let ids = Int64Array::from_iter_values(start..start + 1000);
                        RecordBatch::try_new(schema.clone(), vec![Arc::new(ids)]).unwrap()
                    })
                    .collect()
            })
            .collect();
        let ctx = SessionContext::new_with_config(
            datafusion::prelude::SessionConfig::new().with_target_partitions(4),
        );
        let src = datafusion::datasource::MemTable::try_new(schema.clone(), partitions.clone());
        ctx.register_table("src", Arc::new(src.unwrap())).unwrap();
        let df = || async { ctx.sql("SELECT id FROM src").await.unwrap() };

        let Within::Over(partial) = run_within(df().await, 20_000).await.unwrap() else {
            panic!("12 batches of 8 kB fit 20 kB");
        };
        let read: usize = partial.partitions.iter().map(|(b, _)| b.len()).sum();
        assert!((3..12).contains(&read), "{read} batches read");
        let key = c.key("blk", "_shared/blk", "SELECT id FROM src", &[]);
        let t = c.keep(&key, partial).await.unwrap();
        let files = fs::read_dir(c.entry(&key)).unwrap().count();
        assert_eq!(files, 5, "four partitions and the marker");
        ctx.register_table("blk", t).unwrap();
        let row = first_row(
            &ctx,
            "SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi FROM blk",
        )
        .await;
        assert_eq!(row, vec![12_000, 12_000, 0, 11_999]);

        let Within::Memory {
            partitions: kept,
            held,
            ..
        } = run_within(df().await, 10 << 20).await.unwrap()
        else {
            panic!("96 kB fit 10 MiB");
        };
        assert_eq!(held, Held::of(&kept));
        assert_eq!(held.rows, 12_000);
        assert!(held.bytes >= 96_000, "{}", held.bytes);
    }

    /// The hang of session 17, by hand (a current-thread runtime polls the
    /// tasks in the order they were spawned). Partition 0 waits, before
    /// its first batch, until partition 2 has been polled, as each
    /// partition of a partitioned hash join waits for every other to build
    /// its side. Partition 1 passes the budget with its first batch, so
    /// partition 2 stops before it is ever polled. Partition 0 must stop
    /// waiting then; the writer polls every partition together, and every
    /// row arrives.
    #[tokio::test]
    async fn a_partition_waiting_for_one_never_polled_stops_at_the_budget() {
        use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
        use std::time::Duration;
        use tokio::sync::Notify;
        let tmp = tempfile::tempdir().unwrap();
        let c = empty_cache(tmp.path());
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let batch = |ids: std::ops::Range<i64>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int64Array::from_iter_values(ids))],
            )
            .unwrap()
        };
        let stream = |work: futures::future::BoxFuture<'static, RecordBatch>| {
            let s = futures::stream::once(async move { Ok(work.await) });
            Box::pin(RecordBatchStreamAdapter::new(schema.clone(), s)) as SendableRecordBatchStream
        };
        let built = Arc::new(Notify::new());
        let (waits, builds) = (Arc::clone(&built), Arc::clone(&built));
        let (small, big, other) = (batch(0..10), batch(10..10_010), batch(10_010..10_020));
        let partial = Partial {
            schema: schema.clone(),
            partitions: vec![
                (
                    Vec::new(),
                    Some(stream(Box::pin(async move {
                        waits.notified().await;
                        small
                    }))),
                ),
                (Vec::new(), Some(stream(Box::pin(async move { big })))),
                (
                    Vec::new(),
                    Some(stream(Box::pin(async move {
                        builds.notify_one();
                        other
                    }))),
                ),
            ],
        };
        let within = tokio::time::timeout(Duration::from_secs(10), read_within(partial, 1_000))
            .await
            .expect("reading stops at the budget instead of waiting for ever")
            .unwrap();
        let Within::Over(partial) = within else {
            panic!("10,000 ids are over 1,000 bytes");
        };
        let read: Vec<usize> = partial.partitions.iter().map(|(b, _)| b.len()).collect();
        assert_eq!(read, [0, 1, 0], "only the big batch was read");
        let key = c.key("blk", "_shared/blk", "q", &[]);
        let table = tokio::time::timeout(Duration::from_secs(10), c.keep(&key, partial))
            .await
            .expect("the writer polls every partition together")
            .unwrap();
        let ctx = SessionContext::new();
        ctx.register_table("blk", table).unwrap();
        let [n, sum] = first_row(&ctx, "SELECT count(*) AS n, sum(id) AS s FROM blk").await[..]
        else {
            panic!("two columns");
        };
        // Ids 0 to 10,019, each once: 10,020 rows summing to 10,019 x 10,020 / 2.
        assert_eq!((n, sum), (10_020, 10_019 * 10_020 / 2));
    }

    #[tokio::test]
    async fn a_failed_block_leaves_no_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        let c = empty_cache(tmp.path());
        let ctx = SessionContext::new();
        let key = c.key("blk", "_shared/blk", "q", &[]);
        // Fails while running, after the entry's temporary folder was
        // made: a division by zero over a registered table's rows.
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)])),
            vec![Arc::new(Int64Array::from(vec![1, 2]))],
        )
        .unwrap();
        ctx.register_batch("src", batch).unwrap();
        let err = c
            .table(&key, ctx.sql("SELECT 1 / (x - x) AS y FROM src"))
            .await;
        // The query's own error, named as the block's, not as a failure
        // to write the cache.
        match err {
            Err(e @ CacheError::Query { .. }) => {
                let text = e.to_string();
                assert!(text.starts_with("block `blk` failed: "), "{text}");
                assert!(text.to_lowercase().contains("divide by zero"), "{text}");
            }
            other => panic!("a query error, got {other:?}"),
        }
        assert!(!c.contains(&key));
        let leftovers: Vec<_> = fs::read_dir(dir.join(FORMAT)).unwrap().collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    /// A run stopped between making its temporary folder and renaming it
    /// (Ctrl-C, SIGKILL) leaves `.tmp-<pid>-<n>`; the next open removes it
    /// once that process is gone, and leaves a running process's alone.
    /// Likewise a session's block folder in the spill directory.
    #[test]
    fn leftovers_of_a_stopped_run_are_swept_and_a_running_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        fs::create_dir_all(&data).unwrap();
        let dir = tmp.path().join("cache");
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let dead = gone.id();
        gone.wait().unwrap();
        let root = dir.join(FORMAT);
        let stale = root.join(format!(".tmp-{dead}-0"));
        let live = root.join(format!(".tmp-{}-0", std::process::id()));
        for d in [&stale, &live] {
            fs::create_dir_all(d).unwrap();
            fs::write(d.join("part-0000.parquet"), b"half").unwrap();
        }
        cache(&dir, &data);
        assert!(!stale.exists(), "the stopped run's folder is swept");
        assert!(live.exists(), "a running process's folder is kept");

        let spill = tmp.path().join("spill");
        let stale = spill.join(format!("{SESSION_PREFIX}{dead}-3"));
        fs::create_dir_all(&stale).unwrap();
        let session = SessionBlocks::create(&spill, &data, &[], &[]).unwrap();
        assert!(!stale.exists());
        assert!(session.dir().is_dir());
    }

    #[tokio::test]
    async fn an_empty_block_is_an_entry_with_its_schema() {
        let tmp = tempfile::tempdir().unwrap();
        let c = empty_cache(tmp.path());
        let ctx = SessionContext::new();
        let key = c.key("empty", "_shared/empty", "q", &[]);
        let t = c
            .table(&key, ctx.sql("SELECT 1::bigint AS n WHERE false"))
            .await
            .unwrap();
        assert_eq!(t.schema().field(0).name(), "n");
        ctx.register_table("empty", t).unwrap();
        assert_eq!(first_row(&ctx, "SELECT count(*) FROM empty").await, [0]);
    }
}
