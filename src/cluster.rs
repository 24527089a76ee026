//! The same queries on an Apache Ballista cluster (`--features cluster`).
//!
//! Three parts, all in this binary so that no separate Ballista build is
//! needed (docs/cluster.md):
//! - [`scheduler`]: a Ballista scheduler whose sessions know the cypdash
//!   functions (its session builder registers them), so it can plan the
//!   queries it is sent;
//! - [`executor`]: a Ballista executor with the same functions in its
//!   function registry, so it can run the plan fragments it is given;
//! - [`connect`]: the client side. A session state set up as usual (tables,
//!   references, functions) is upgraded so that every query it plans is
//!   sent to the scheduler (`--cluster df://HOST:PORT`).
//!
//! A query's logical plan travels as protobuf (datafusion-proto). Its
//! Parquet and CSV tables travel as paths, which every executor must be
//! able to read (a shared path); the small in-memory tables of a session
//! (the reference tables, empty optional tables, a table function's
//! result) travel inside the plan as Arrow IPC, by [`CypdashLogicalCodec`].
//! The shared blocks, which can be large, never travel in a plan: with a
//! cluster they live in the block cache (`--cache DIR`, on a shared path).

use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::BallistaLogicalExtensionCodec;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::datasource::MemTable;
use datafusion::execution::context::SessionState;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The port a scheduler listens on unless told otherwise (Ballista's).
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// The scheme of a scheduler address (`df://HOST:PORT`, as Ballista's
/// clients write it).
const SCHEME: &str = "df://";

/// A scheduler's address as given to `--cluster` or `--scheduler`:
/// `df://HOST:PORT`, `HOST:PORT` or `HOST` (port 50050).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerAddr {
    pub host: String,
    pub port: u16,
}

impl std::str::FromStr for SchedulerAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let rest = s.strip_prefix(SCHEME).unwrap_or(s).trim_end_matches('/');
        if rest.is_empty() || rest.contains("://") {
            return Err(format!(
                "`{s}` is not a scheduler address: give df://HOST:PORT (e.g. df://localhost:50050)"
            ));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>().map_err(|_| {
                    format!("`{s}`: the port `{port}` is not a number from 0 to 65535")
                })?,
            ),
            None => (rest, DEFAULT_SCHEDULER_PORT),
        };
        if host.is_empty() {
            return Err(format!("`{s}`: no host before the port"));
        }
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }
}

impl std::fmt::Display for SchedulerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{SCHEME}{}:{}", self.host, self.port)
    }
}

/// Upgrade a session state (tables registered or not; functions are
/// registered afterwards, see below) so that the queries it plans run on
/// the cluster at `addr`. The cypdash functions must be registered on the
/// context built from the result: Ballista's upgrade replaces the
/// session's function lists with its own.
pub fn connect(state: SessionState, addr: &SchedulerAddr) -> Result<SessionState> {
    let config = state
        .config()
        .clone()
        .with_ballista_logical_extension_codec(codec())
        // Ballista 55's adaptive planner loses task updates on some of the
        // dashboard's plans (the scheduler logs "task metrics array size 14
        // does not equal with the stage metrics array size 13" and the job
        // never ends); the static distributed planner runs them all.
        .with_ballista_adaptive_query_planner(false);
    let mut config = config;
    // The scheduler optimises each stage again, and DataFusion 55 refuses
    // to swap a hash join's inputs once its dynamic filter exists ("Cannot
    // swap HashJoinExec inputs after dynamic filters have been
    // constructed"), which leaves the job waiting: no dynamic filters on a
    // cluster.
    let optimizer = &mut config.options_mut().optimizer;
    optimizer.enable_dynamic_filter_pushdown = false;
    optimizer.enable_join_dynamic_filter_pushdown = false;
    optimizer.enable_topk_dynamic_filter_pushdown = false;
    optimizer.enable_aggregate_dynamic_filter_pushdown = false;
    let state = datafusion::execution::SessionStateBuilder::new_from_existing(state)
        .with_config(config)
        .build();
    state.upgrade_for_ballista(format!("http://{}:{}", addr.host, addr.port))
}

/// Print Ballista's log records (the `log` facade) to stderr, at the level
/// `CYPDASH_LOG` names (`error`, `warn`, `info`, `debug`, `trace`; default
/// `warn`). Called once by each cluster process and by a `--cluster` client.
pub fn init_logging() {
    let level = std::env::var("CYPDASH_LOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(log::LevelFilter::Warn);
    static LOGGER: StderrLog = StderrLog;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

#[derive(Debug)]
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("[{} {}] {}", record.level(), record.target(), record.args());
        }
    }

    fn flush(&self) {}
}

/// The codec every tier uses for logical plans.
fn codec() -> Arc<dyn LogicalExtensionCodec> {
    Arc::new(CypdashLogicalCodec::default())
}

/// A session state as Ballista's scheduler builds one for a client's
/// session config, with the cypdash functions registered.
fn session_state(config: SessionConfig) -> Result<SessionState> {
    let state = ballista_core::utils::default_session_builder(config)?;
    let ctx = SessionContext::new_with_state(state);
    cypdash_udfs::register_all(&ctx);
    Ok(ctx.state())
}

/// A session config for a new session on this cluster's servers.
fn session_config() -> SessionConfig {
    SessionConfig::new_with_ballista()
        .with_ballista_logical_extension_codec(codec())
        .with_ballista_adaptive_query_planner(false)
}

/// How tasks reach executors: they ask the scheduler for work (pull), the
/// way Spark's executors do, rather than the scheduler pushing tasks to the
/// free slots it counts (Ballista's default). With push, Ballista 55 leaks
/// slots when an executor is lost mid-job: it rolls back the stages that
/// read the lost executor's shuffle output and cancels their tasks on the
/// surviving executors, but the cancelled tasks' status updates find their
/// stage unresolved and give back no slots, so once a survivor's slots are
/// gone the job waits forever (seen in CI: the killed-executor test hung).
/// With pull each executor counts its own free slots and the job reruns the
/// lost tasks. Pull costs up to 50 ms per stage (an idle executor's poll
/// interval): 52 s against 29 s for the 100k dashboard on a local debug
/// cluster, a fixed cost per stage that shrinks as data grows.
const POLICY: TaskSchedulingPolicy = TaskSchedulingPolicy::PullStaged;

/// How `cypdash cluster scheduler` runs.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Seconds without a heartbeat after which an executor is taken for
    /// dead and its tasks are run elsewhere.
    pub executor_timeout_seconds: u64,
}

/// Run a scheduler until the process is stopped.
pub async fn scheduler(options: SchedulerOptions) -> anyhow::Result<()> {
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::SchedulerConfig;
    let config = SchedulerConfig {
        bind_host: options.bind.ip().to_string(),
        external_host: options.bind.ip().to_string(),
        bind_port: options.bind.port(),
        executor_timeout_seconds: options.executor_timeout_seconds,
        expire_dead_executor_interval_seconds: options.executor_timeout_seconds.clamp(1, 15),
        // Pull, not Ballista's default push: see `POLICY`.
        scheduling_policy: POLICY,
        ..SchedulerConfig::default()
    }
    .with_override_config_producer(Arc::new(session_config))
    .with_override_session_builder(Arc::new(session_state));
    let config = SchedulerConfig {
        override_logical_codec: Some(codec()),
        ..config
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| anyhow::anyhow!("cannot set up the scheduler's cluster state: {e}"))?;
    eprintln!(
        "cypdash cluster scheduler listening on {} (executors: cypdash cluster executor --scheduler {}:{})",
        options.bind,
        options.bind.ip(),
        options.bind.port()
    );
    ballista_scheduler::scheduler_process::start_server(cluster, options.bind, Arc::new(config))
        .await
        .map_err(|e| anyhow::anyhow!("the scheduler on {} stopped: {e}", options.bind))
}

/// How `cypdash cluster executor` runs.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler to register with.
    pub scheduler: SchedulerAddr,
    /// Host to bind both services to, and to advertise to the scheduler.
    pub bind_host: String,
    /// Port of the Arrow Flight service (shuffle data).
    pub port: u16,
    /// Port of the gRPC service (tasks).
    pub grpc_port: u16,
    /// Where shuffle files go (default: a new temporary directory).
    pub work_dir: Option<PathBuf>,
    /// Tasks run at once (default: the number of CPU cores).
    pub concurrency: Option<usize>,
    /// Memory pool shared by this executor's tasks, in bytes.
    pub memory_limit: Option<usize>,
}

/// Run an executor until the process is stopped.
pub async fn executor(options: ExecutorOptions) -> anyhow::Result<()> {
    use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
    let registry = BallistaFunctionRegistry::from(&session_state(session_config())?);
    let config = ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: Some(options.bind_host.clone()),
        port: options.port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler.host.clone(),
        scheduler_port: options.scheduler.port,
        // Wait for a scheduler started at the same time.
        scheduler_connect_timeout_seconds: 30,
        vcores: options.concurrency.unwrap_or(0),
        work_dir: options
            .work_dir
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
        memory_pool_size: options.memory_limit.map(|m| m as u64),
        executor_heartbeat_interval_seconds: 5,
        task_scheduling_policy: POLICY,
        // (Ballista's pool of shuffle-fetch connections is private to its
        // crate: a fetch opens its own connection, as with `client_ttl` 0.)
        override_execution_engine: Some(Arc::new(WithoutOperatorMetrics(
            ballista_executor::execution_engine::DefaultExecutionEngine::new(),
        ))),
        override_function_registry: Some(Arc::new(registry)),
        override_config_producer: Some(Arc::new(session_config)),
        override_logical_codec: Some(codec()),
        ..ExecutorProcessConfig::default()
    };
    eprintln!(
        "cypdash cluster executor on {}:{} (flight) and :{} (grpc), scheduler {}",
        options.bind_host, options.port, options.grpc_port, options.scheduler
    );
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| anyhow::anyhow!("the executor stopped: {e}"))
}

/// Ballista's execution engine, except that a task reports no operator
/// metrics. Ballista 55's scheduler adds each task's metrics to its stage's
/// operator by operator and, when two tasks of one stage report different
/// numbers of operators (some operators of the dashboard's plans report
/// metrics only once they have run), rejects the task's status update
/// ("task metrics array size 26 does not equal with the stage metrics array
/// size 27"), so the job never ends. Without metrics (which cypdash does not
/// read) every task's status gets through.
struct WithoutOperatorMetrics(ballista_executor::execution_engine::DefaultExecutionEngine);

impl ballista_executor::execution_engine::ExecutionEngine for WithoutOperatorMetrics {
    fn create_query_stage_exec(
        &self,
        job_id: ballista_core::JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn ballista_executor::execution_engine::QueryStageExecutor>> {
        let stage = self.0.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        Ok(Arc::new(StageWithoutMetrics(stage)))
    }
}

#[derive(Debug)]
struct StageWithoutMetrics(Arc<dyn ballista_executor::execution_engine::QueryStageExecutor>);

impl std::fmt::Display for StageWithoutMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

#[async_trait::async_trait]
impl ballista_executor::execution_engine::QueryStageExecutor for StageWithoutMetrics {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> Result<Vec<ballista_core::serde::protobuf::ShuffleWritePartition>> {
        self.0.execute_query_stage(task_id, context).await
    }

    fn collect_plan_metrics(&self) -> Vec<datafusion::physical_plan::metrics::MetricsSet> {
        Vec::new()
    }

    fn collect_runtime_stats_reports(
        &self,
    ) -> Vec<ballista_core::serde::protobuf::RuntimeStatsReport> {
        self.0.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(
        &self,
    ) -> Result<Vec<ballista_core::serde::protobuf::WindowStateReport>> {
        self.0.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<ballista_core::serde::protobuf::TaskColumnStats> {
        self.0.collect_column_stats()
    }
}

/// The logical codec of every tier: Ballista's, plus in-memory tables
/// carried in the plan as Arrow IPC streams (one per partition).
#[derive(Debug, Default)]
pub struct CypdashLogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

/// What an encoded in-memory table starts with (so that anything else is
/// left to Ballista's codec).
const MEMTABLE_MAGIC: &[u8] = b"cypdash.memtable.v1\n";

/// An in-memory table larger than this in a plan is refused with a clear
/// error rather than failing in gRPC (whose messages default to 16 MiB).
const MEMTABLE_MAX_BYTES: usize = 8 * 1024 * 1024;

impl LogicalExtensionCodec for CypdashLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match buf.strip_prefix(MEMTABLE_MAGIC) {
            Some(body) => Ok(Arc::new(decode_memtable(body, schema)?)),
            None => self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        match node.downcast_ref::<MemTable>() {
            Some(table) => encode_memtable(table_ref, table, buf),
            None => self.inner.try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }
}

/// `MAGIC`, the partition count (u32 LE), then per partition its length
/// (u64 LE) and an Arrow IPC stream of its batches.
fn encode_memtable(table_ref: &TableReference, table: &MemTable, buf: &mut Vec<u8>) -> Result<()> {
    let schema = table.schema();
    buf.extend_from_slice(MEMTABLE_MAGIC);
    buf.extend_from_slice(&(table.batches.len() as u32).to_le_bytes());
    for partition in &table.batches {
        let batches = partition.try_read().map_err(|_| {
            DataFusionError::Execution(format!(
                "the in-memory table {table_ref} is being written to and cannot be sent to the cluster"
            ))
        })?;
        let mut stream = Vec::new();
        let mut writer = StreamWriter::try_new(&mut stream, &schema)?;
        for batch in batches.iter() {
            writer.write(batch)?;
        }
        writer.finish()?;
        drop(writer);
        buf.extend_from_slice(&(stream.len() as u64).to_le_bytes());
        buf.extend_from_slice(&stream);
    }
    if buf.len() > MEMTABLE_MAX_BYTES {
        return Err(DataFusionError::Execution(format!(
            "the in-memory table {table_ref} is {} bytes as Arrow IPC, too large to send in a query plan \
             (at most {MEMTABLE_MAX_BYTES}); with --cluster, shared blocks must be in the block cache (--cache DIR)",
            buf.len()
        )));
    }
    Ok(())
}

fn decode_memtable(body: &[u8], schema: SchemaRef) -> Result<MemTable> {
    let bad = |what: &str| {
        DataFusionError::Internal(format!("a malformed in-memory table in a plan: {what}"))
    };
    let (count, mut rest) = split_le::<4>(body).ok_or_else(|| bad("no partition count"))?;
    let count = u32::from_le_bytes(count) as usize;
    let mut partitions = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, after) = split_le::<8>(rest).ok_or_else(|| bad("no partition length"))?;
        let len = usize::try_from(u64::from_le_bytes(len)).map_err(|_| bad("length"))?;
        if after.len() < len {
            return Err(bad("a partition shorter than its length"));
        }
        let (stream, after) = after.split_at(len);
        let reader = StreamReader::try_new(stream, None)?;
        let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>()?;
        partitions.push(batches);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(bad("bytes after the last partition"));
    }
    if partitions.is_empty() {
        partitions.push(Vec::new());
    }
    MemTable::try_new(schema, partitions)
}

fn split_le<const N: usize>(buf: &[u8]) -> Option<([u8; N], &[u8])> {
    let (head, rest) = buf.split_at_checked(N)?;
    Some((head.try_into().ok()?, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn scheduler_addresses_parse_with_or_without_scheme_and_port() {
        let a: SchedulerAddr = "df://node1:50051".parse().unwrap();
        assert_eq!((a.host.as_str(), a.port), ("node1", 50051));
        let b: SchedulerAddr = "localhost".parse().unwrap();
        assert_eq!(
            (b.host.as_str(), b.port),
            ("localhost", DEFAULT_SCHEDULER_PORT)
        );
        assert_eq!(b.to_string(), "df://localhost:50050");
        assert!("http://x:1".parse::<SchedulerAddr>().is_err());
        assert!("df://x:port"
            .parse::<SchedulerAddr>()
            .unwrap_err()
            .contains("port"));
        assert!("df://:1".parse::<SchedulerAddr>().is_err());
    }

    fn table() -> MemTable {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let batch = |ids: Vec<i64>, names: Vec<Option<&str>>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(StringArray::from(names)),
                ],
            )
            .unwrap()
        };
        MemTable::try_new(
            schema.clone(),
            vec![
                vec![batch(vec![1, 2], vec![Some("a"), None])],
                vec![],
                vec![batch(vec![3], vec![Some("c")]), batch(vec![4], vec![None])],
            ],
        )
        .unwrap()
    }

    /// Table `t` of `ctx`, ordered, as printed.
    async fn rows_of_t(ctx: &SessionContext) -> String {
        let batches = ctx
            .sql("select * from t order by id")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn an_in_memory_table_crosses_the_codec_unchanged() {
        let codec = CypdashLogicalCodec::default();
        let original = table();
        let schema = original.schema();
        let mut buf = Vec::new();
        let name = TableReference::bare("t");
        codec
            .try_encode_table_provider(&name, Arc::new(original), &mut buf)
            .unwrap();
        let ctx = SessionContext::new();
        let decoded = codec
            .try_decode_table_provider(&buf, &name, schema, &ctx.task_ctx())
            .unwrap();
        let decoded = decoded.downcast_ref::<MemTable>().expect("a MemTable");
        // Same partitions, same batches: partition 1 stays empty.
        let rows: Vec<usize> = decoded
            .batches
            .iter()
            .map(|p| p.try_read().unwrap().iter().map(|b| b.num_rows()).sum())
            .collect();
        assert_eq!(rows, vec![2, 0, 2]);
        ctx.register_table("t", Arc::new(table())).unwrap();
        let want = rows_of_t(&ctx).await;
        let ctx2 = SessionContext::new();
        let decoded = codec
            .try_decode_table_provider(&buf, &name, table().schema(), &ctx2.task_ctx())
            .unwrap();
        ctx2.register_table("t", decoded).unwrap();
        let got = rows_of_t(&ctx2).await;
        assert_eq!(want, got);
    }

    #[test]
    fn a_truncated_table_is_an_error_not_a_panic() {
        let codec = CypdashLogicalCodec::default();
        let mut buf = Vec::new();
        let name = TableReference::bare("t");
        codec
            .try_encode_table_provider(&name, Arc::new(table()), &mut buf)
            .unwrap();
        let ctx = SessionContext::new();
        for cut in [
            MEMTABLE_MAGIC.len() + 2,
            MEMTABLE_MAGIC.len() + 9,
            buf.len() - 3,
        ] {
            let err = codec
                .try_decode_table_provider(&buf[..cut], &name, table().schema(), &ctx.task_ctx())
                .expect_err("an error");
            assert!(
                err.to_string().contains("in-memory table") || err.to_string().contains("Ipc"),
                "{err}"
            );
        }
    }
}
