//! The interactive shell (`cypdash repl`) and ad hoc SQL.
//!
//! [`Repl::handle_line`] is the loop body: it takes one line and writes
//! what it prints to the `out` it is given. The real loop
//! ([`run_interactive`]) feeds it from rustyline (history, tab completion);
//! tests feed it scripted lines.
//!
//! SQL may span lines and runs when a line ends with `;`. A line starting
//! with `\` is a meta-command (`\?` lists them), also in the middle of a
//! statement, which is kept and goes on at the next line.
//!
//! Ctrl-C while a query runs cancels it (issue #10). Query work runs as a
//! task on a runtime of its own (`Repl::run_task`), so the session's
//! task, and the runtime threads that receive the signal, stay free
//! however busy the query keeps its threads. On Ctrl-C the task is
//! aborted, which drops the DataFusion streams it holds, and with them the
//! tasks they spawned; an aborted task stops at its next yield.
//! DataFusion's cooperative scheduling makes scans and exchanges yield; ad
//! hoc SQL also yields after every batch a join or an unnest produces
//! ([`YieldAfterRowMultipliers`]), since such an operator can turn a few
//! input batches into millions of output batches without polling a scan.
//! An operator can still loop long inside one poll (a nested loop join
//! whose filter rejects nearly every pair): if the task has not stopped
//! within `STOP_WAIT`, its runtime is abandoned to finish in the
//! background and the session goes on with a new one, so neither the next
//! query nor `\q` waits for it.
//!
//! Startup does no query work, so the first prompt comes quickly: the
//! shared building blocks (`sdq_score`, `outcome_pair`, `in_scope_referral`,
//! ...) are computed by [`Dashboard::prepare`] on first use: before the
//! first chart run, and before the first SQL statement (or `\d name`) that
//! names one of them. The bound views among them (those taking the period
//! and other chart parameters) hold the values of the last chart run, or
//! their defaults before any.

mod command;

use crate::catalog::params::{self, Binder};
use crate::catalog::QueryFile;
use crate::dashboard::{ChartResult, Dashboard, GivenParams};
use crate::docs::{self, DocFormat};
use crate::exec::{execute_statement, parse_sql};
use crate::export::{self, ExportFormat, ExportRequest};
use crate::output::{self, error_chain, format_elapsed, is_broken_pipe, params_line, Format};
use anyhow::{anyhow, bail, Context as _, Result};
use command::MetaCommand;
use std::collections::BTreeSet;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How the REPL starts.
#[derive(Debug, Clone, Copy)]
pub struct ReplOptions {
    pub format: Format,
    /// Rows printed at most in table and markdown formats (None: all).
    pub maxrows: Option<usize>,
    /// No banner.
    pub quiet: bool,
}

impl Default for ReplOptions {
    fn default() -> Self {
        Self {
            format: Format::Table,
            maxrows: Some(40),
            quiet: false,
        }
    }
}

/// What the loop does after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    Quit,
}

const SQL_KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "ORDER BY",
    "HAVING",
    "LIMIT",
    "JOIN",
    "LEFT JOIN",
    "INNER JOIN",
    "ON",
    "USING",
    "AS",
    "AND",
    "OR",
    "NOT",
    "NULL",
    "IS",
    "IN",
    "BETWEEN",
    "LIKE",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "DISTINCT",
    "COUNT",
    "WITH",
    "UNION ALL",
    "DESC",
    "ASC",
    "EXPLAIN",
    "DESCRIBE",
    "SHOW",
    "CREATE VIEW",
    "CREATE TABLE",
    "DROP",
];

/// A query stopped by Ctrl-C.
#[derive(Debug, thiserror::Error)]
#[error("cancelled{}", if *.stopped { "" } else {
    " (its current step goes on in the background until it ends; the session does not wait)"
})]
pub struct Cancelled {
    /// The query's tasks had all stopped within `STOP_WAIT` (1 s).
    pub stopped: bool,
}

/// How long a cancelled query is waited for before the prompt comes back
/// anyway (it stops at its next yield, normally within milliseconds).
const STOP_WAIT: Duration = Duration::from_secs(1);

/// The runtime that runs the REPL's queries. Dropping it does not wait
/// for tasks still running (a dropped runtime would block until they
/// yield, and may not be dropped inside another runtime at all).
#[derive(Debug)]
struct QueryRuntime(Option<tokio::runtime::Runtime>);

impl QueryRuntime {
    fn start() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("cypdash-query")
            .enable_all()
            .build()
            .context("cannot start the query runtime")?;
        Ok(Self(Some(runtime)))
    }

    fn spawn<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        match &self.0 {
            Some(runtime) => runtime.spawn(work),
            None => unreachable!("the query runtime is only taken when dropped"),
        }
    }

    /// Wait until no task runs on the runtime, at most `within`; false if
    /// some still do. (After a cancel: the query's own task, and the tasks
    /// DataFusion spawned for it, which were aborted with its streams.)
    async fn settle(&self, within: Duration) -> bool {
        let Some(runtime) = &self.0 else {
            return true;
        };
        let deadline = Instant::now() + within;
        while runtime.metrics().num_alive_tasks() > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

impl Drop for QueryRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// A spawned task that is aborted when this handle is dropped: the query
/// of a line dropped half-way (an error, Ctrl-C) does not run on.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The result of a joined query task; a panic in it goes on here.
fn joined_result<T>(joined: Result<Result<T>, tokio::task::JoinError>) -> Result<T> {
    match joined {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(Cancelled { stopped: true }.into()),
    }
}

/// The interactive session: the dashboard plus what the user has set.
#[derive(Debug)]
pub struct Repl {
    /// Shared with the task that runs a query ([`Repl::run_task`]).
    dash: Arc<Dashboard>,
    format: Format,
    maxrows: Option<usize>,
    timing: bool,
    quiet: bool,
    /// Session values for chart parameters (`\set`).
    defaults: GivenParams,
    /// A statement being typed over several lines.
    buffer: String,
    /// Nesting of `\i` files.
    depth: usize,
    /// Ctrl-C cancels a running query (the interactive loop); otherwise
    /// it keeps its default effect.
    interrupts: bool,
    /// Where queries run ([`Repl::run_task`]), started on first use.
    queries: Option<QueryRuntime>,
}

impl Repl {
    pub fn new(dash: Dashboard, options: ReplOptions) -> Self {
        Self {
            dash: Arc::new(dash),
            format: options.format,
            maxrows: options.maxrows,
            timing: false,
            quiet: options.quiet,
            defaults: GivenParams::new(),
            buffer: String::new(),
            depth: 0,
            interrupts: false,
            queries: None,
        }
    }

    /// From now on, Ctrl-C cancels a running query with [`Cancelled`]
    /// instead of ending the process.
    pub fn catch_interrupts(&mut self) {
        // The handler, once installed, stays for the life of the process;
        // installed here, a Ctrl-C between two queries is ignored rather
        // than fatal.
        #[cfg(unix)]
        let _ = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
        self.interrupts = true;
    }

    /// Await `work`, or Ctrl-C when interrupts are caught (None).
    async fn until_ctrl_c<F: Future>(&self, work: F) -> Option<F::Output> {
        if !self.interrupts {
            return Some(work.await);
        }
        // A fresh listener: a Ctrl-C from before this query is not seen.
        tokio::select! {
            biased;
            _ = tokio::signal::ctrl_c() => None,
            out = work => Some(out),
        }
    }

    /// Run a query's work as a task on the query runtime, waiting for it
    /// and, when interrupts are caught, for Ctrl-C. On Ctrl-C the task is
    /// aborted and it and the tasks it spawned are given [`STOP_WAIT`] to
    /// stop; the result is [`Cancelled`]. Tasks that have not stopped keep
    /// their runtime, which is abandoned for a new one.
    async fn run_task<T: Send + 'static>(
        &mut self,
        work: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        let queries = match &mut self.queries {
            Some(queries) => queries,
            none => none.insert(QueryRuntime::start()?),
        };
        let mut task = AbortOnDrop(queries.spawn(work));
        match self.until_ctrl_c(&mut task.0).await {
            Some(joined) => joined_result(joined),
            None => {
                task.0.abort();
                let stopped = match &self.queries {
                    Some(queries) => queries.settle(STOP_WAIT).await,
                    None => true,
                };
                if !stopped {
                    // Abandoned; the next query starts a new one.
                    self.queries = None;
                }
                Err(Cancelled { stopped }.into())
            }
        }
    }

    pub fn dashboard(&self) -> &Dashboard {
        &self.dash
    }

    /// The prompt: a continuation prompt while a statement is open.
    pub fn prompt(&self) -> &'static str {
        if self.buffer.is_empty() {
            "cypdash> "
        } else {
            "      -> "
        }
    }

    /// True while a statement spans lines.
    pub fn in_statement(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Forget a half-typed statement (Ctrl-C).
    pub fn reset(&mut self) {
        self.buffer.clear();
    }

    /// Handle one line of input.
    pub async fn handle_line(&mut self, line: &str, out: &mut dyn Write) -> Result<Control> {
        let trimmed = line.trim();
        // A meta-command also in the middle of a statement, which is kept.
        if trimmed.starts_with('\\') {
            return self.meta(trimmed, out).await;
        }
        if self.buffer.is_empty() {
            if trimmed.is_empty() || trimmed.starts_with("--") {
                return Ok(Control::Continue);
            }
            if matches!(
                trimmed.to_ascii_lowercase().as_str(),
                "quit" | "exit" | "quit;" | "exit;"
            ) {
                return Ok(Control::Quit);
            }
        }
        self.buffer.push_str(line);
        self.buffer.push('\n');
        if trimmed.ends_with(';') {
            let sql = std::mem::take(&mut self.buffer);
            self.run_sql(&sql, out).await?;
        }
        Ok(Control::Continue)
    }

    /// Handle a line and print its error, if any, to `out` (as the
    /// interactive loop does on stderr): the session goes on.
    pub async fn feed(&mut self, line: &str, out: &mut dyn Write) -> std::io::Result<Control> {
        match self.handle_line(line, out).await {
            Ok(c) => Ok(c),
            Err(e) => {
                writeln!(out, "error: {}", error_chain(&e))?;
                Ok(Control::Continue)
            }
        }
    }

    /// Run any statement still open (end of a script).
    pub async fn finish(&mut self, out: &mut dyn Write) -> Result<()> {
        if self.buffer.trim().is_empty() {
            self.buffer.clear();
            return Ok(());
        }
        let sql = std::mem::take(&mut self.buffer);
        self.run_sql(&sql, out).await
    }

    async fn run_sql(&mut self, sql: &str, out: &mut dyn Write) -> Result<()> {
        for statement in parse_sql(&self.dash, sql)? {
            let started = Instant::now();
            let dash = Arc::clone(&self.dash);
            let result = self
                .run_task(async move { execute_statement(&dash, statement).await })
                .await?;
            if !result.schema.fields().is_empty() {
                output::write_batches(
                    out,
                    &result.schema,
                    &result.batches,
                    self.format,
                    self.maxrows,
                )?;
            }
            self.print_timing(started, out)?;
        }
        Ok(())
    }

    fn print_timing(&self, started: Instant, out: &mut dyn Write) -> Result<()> {
        if self.timing {
            writeln!(out, "time: {}", format_elapsed(started.elapsed()))?;
        }
        Ok(())
    }

    async fn meta(&mut self, line: &str, out: &mut dyn Write) -> Result<Control> {
        let (command, rest) = MetaCommand::parse(line)?;
        let args: Vec<&str> = rest.split_whitespace().collect();
        match command {
            MetaCommand::Quit => return Ok(Control::Quit),
            MetaCommand::Help => writeln!(out, "{}", command::help_text())?,
            MetaCommand::Tables => match args.as_slice() {
                [] => self.list_tables(out)?,
                [name] => self.describe_table(name, out).await?,
                _ => return Err(command.usage()),
            },
            MetaCommand::Charts => docs::list(self.dash.catalog(), Format::Table, out)?,
            MetaCommand::Describe => match args.as_slice() {
                [chart] => {
                    docs::describe(self.dash.catalog().chart(chart)?, DocFormat::Table, out)?
                }
                _ => return Err(command.usage()),
            },
            MetaCommand::Functions => match args.as_slice() {
                [] => docs::functions(self.dash.engine(), None, self.format, out)?,
                [name] => docs::functions(self.dash.engine(), Some(name), self.format, out)?,
                _ => return Err(command.usage()),
            },
            MetaCommand::Run => match args.split_first() {
                Some((chart, params)) => self.run_chart(chart, params, out).await?,
                None => return Err(command.usage()),
            },
            MetaCommand::Export => match args.as_slice() {
                [chart, path] => self.export_chart(chart, Path::new(path), out).await?,
                _ => return Err(command.usage()),
            },
            MetaCommand::Set => match args.as_slice() {
                [] => {
                    writeln!(out, "sdc = {} (disclosure control)", self.dash.policy())?;
                    if self.defaults.is_empty() {
                        writeln!(out, "no session parameters (\\set NAME VALUE sets one)")?;
                    }
                    for (k, v) in &self.defaults {
                        writeln!(out, "{k} = {v}")?;
                    }
                }
                [name, ..] => {
                    let value = rest[name.len()..].trim().trim_start_matches('=').trim();
                    if value.is_empty() {
                        return Err(command.usage());
                    }
                    // `sdc` is the session's disclosure-control policy (the
                    // command line's --sdc), not a chart parameter.
                    if *name == "sdc" {
                        let policy: crate::disclosure::Policy =
                            value.parse().map_err(|e: String| anyhow!(e))?;
                        self.dash.set_policy(policy);
                        writeln!(out, "sdc = {policy}: {}", policy.summary())?;
                        return Ok(Control::Continue);
                    }
                    self.check_session_param(name, value)?;
                    self.defaults.insert(name.to_string(), value.to_string());
                }
            },
            MetaCommand::Unset => match args.as_slice() {
                [name] => {
                    if self.defaults.remove(*name).is_none() {
                        bail!("`{name}` is not set");
                    }
                }
                _ => return Err(command.usage()),
            },
            MetaCommand::Format => match args.as_slice() {
                [] => writeln!(out, "format: {}", format_name(self.format))?,
                [f] => {
                    use clap::ValueEnum;
                    self.format = Format::from_str(f, true).map_err(|_| {
                        anyhow!("unknown format `{f}`: use table, csv, json or markdown")
                    })?;
                }
                _ => return Err(command.usage()),
            },
            MetaCommand::MaxRows => match args.as_slice() {
                [] => writeln!(
                    out,
                    "maxrows: {}",
                    self.maxrows
                        .map_or_else(|| "all".to_string(), |n| n.to_string())
                )?,
                [n] => {
                    let n: usize = n
                        .parse()
                        .map_err(|_| anyhow!("`{n}` is not a number of rows"))?;
                    self.maxrows = (n > 0).then_some(n);
                }
                _ => return Err(command.usage()),
            },
            MetaCommand::Timing => {
                self.timing = match args.as_slice() {
                    [] => !self.timing,
                    ["on"] => true,
                    ["off"] => false,
                    _ => return Err(command.usage()),
                };
                writeln!(out, "timing {}", if self.timing { "on" } else { "off" })?;
            }
            MetaCommand::Include => {
                if rest.is_empty() {
                    return Err(command.usage());
                }
                return Box::pin(self.include(Path::new(rest), out)).await;
            }
        }
        Ok(Control::Continue)
    }

    async fn include(&mut self, path: &Path, out: &mut dyn Write) -> Result<Control> {
        if self.depth >= 8 {
            bail!("\\i nested too deeply (a file including itself?)");
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let saved = std::mem::take(&mut self.buffer);
        self.depth += 1;
        let result = self.include_lines(&text, out).await;
        self.depth -= 1;
        self.buffer = saved;
        result
    }

    /// The lines of an included file: an error is printed and the file goes
    /// on, except Ctrl-C, which stops the whole file.
    async fn include_lines(&mut self, text: &str, out: &mut dyn Write) -> Result<Control> {
        for line in text.lines() {
            match self.handle_line(line, out).await {
                Ok(Control::Quit) => return Ok(Control::Quit),
                Ok(Control::Continue) => {}
                Err(e) if e.is::<Cancelled>() => return Err(e),
                Err(e) => writeln!(out, "error: {}", error_chain(&e))?,
            }
        }
        match self.finish(out).await {
            Err(e) if e.is::<Cancelled>() => return Err(e),
            Err(e) => writeln!(out, "error: {}", error_chain(&e))?,
            Ok(()) => {}
        }
        Ok(Control::Continue)
    }

    /// A session parameter must be declared by some chart, and parse as
    /// the type each declares it with.
    fn check_session_param(&self, name: &str, value: &str) -> Result<()> {
        let given = GivenParams::from([(name.to_string(), value.to_string())]);
        Binder::catalogue(self.dash.catalog().charts()).bind(&given)?;
        Ok(())
    }

    /// The parameters for a chart: the session values it declares, then
    /// the ones given on the line (which it must all declare).
    fn chart_params(&self, chart: &QueryFile, args: &[&str]) -> Result<GivenParams> {
        let explicit = params::parse_args(args)?;
        params::bind_chart(chart, &explicit)?;
        let mut given = params::taken_by(chart, &self.defaults);
        given.extend(explicit);
        Ok(given)
    }

    async fn run_chart(&mut self, name: &str, args: &[&str], out: &mut dyn Write) -> Result<()> {
        let chart = self.dash.catalog().chart(name)?.clone();
        let given = self.chart_params(&chart, args)?;
        let started = Instant::now();
        let result = self.run_chart_task(&chart.id, given).await?;
        if self.format == Format::Table {
            writeln!(out, "{}: {}", chart.id, chart.header.title)?;
            writeln!(out, "{}", params_line(&result.params))?;
        }
        output::write_batches(
            out,
            &result.schema,
            &result.batches,
            self.format,
            self.maxrows,
        )?;
        self.print_timing(started, out)
    }

    /// Run a chart as a task of its own ([`Repl::run_task`]).
    async fn run_chart_task(&mut self, chart: &str, given: GivenParams) -> Result<ChartResult> {
        let dash = Arc::clone(&self.dash);
        let chart = chart.to_string();
        self.run_task(async move { Ok(dash.run(&chart, &given).await?) })
            .await
    }

    async fn export_chart(&mut self, name: &str, path: &Path, out: &mut dyn Write) -> Result<()> {
        let chart = self.dash.catalog().chart(name)?.clone();
        let given = self.chart_params(&chart, &[])?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") | Some("parquet") => {
                let result = self.run_chart_task(&chart.id, given).await?;
                let data = export::normalise(&chart, &result.schema, &result.batches)?;
                if ext.as_deref() == Some("csv") {
                    export::write_csv(path, &data.schema, &data.batches)?;
                } else {
                    export::write_parquet(path, &data.schema, &data.batches)?;
                }
                let rows: usize = data.batches.iter().map(|b| b.num_rows()).sum();
                writeln!(out, "wrote {rows} rows to {}", path.display())?;
            }
            _ => {
                let request = ExportRequest {
                    charts: vec![chart.id.clone()],
                    params: vec![given],
                    format: ExportFormat::Both,
                    out: path.to_path_buf(),
                };
                // Not a task of its own (the progress callback is not
                // `Send`): on Ctrl-C the export stops at its next yield.
                let report = self
                    .until_ctrl_c(export::export(&self.dash, &request, &mut |_, _| {}))
                    .await
                    .ok_or(Cancelled { stopped: true })??;
                if let Some(e) = report.failed().find_map(|c| c.error.clone()) {
                    bail!(e);
                }
                writeln!(
                    out,
                    "wrote {} files and {} to {}",
                    report.files_written(),
                    export::MANIFEST,
                    path.display()
                )?;
            }
        }
        Ok(())
    }

    fn list_tables(&self, out: &mut dyn Write) -> Result<()> {
        let ctx = self.dash.engine().ctx();
        let registered: BTreeSet<String> = registered_tables(ctx).into_iter().collect();
        let shared: Vec<&QueryFile> = self.dash.catalog().shared().collect();
        let mut rows = Vec::new();
        for name in &registered {
            let kind = if crate::contract::table(name).is_some() {
                "input".to_string()
            } else if name.starts_with("ref_") {
                "reference".to_string()
            } else if let Some(b) = shared.iter().find(|b| b.name == *name) {
                format!("shared {}", shared_kind(b))
            } else {
                "session".to_string()
            };
            rows.push(vec![name.clone(), kind]);
        }
        for b in &shared {
            if !registered.contains(&b.name) {
                let when = if b.header.kind == Some(crate::catalog::SharedKind::Step) {
                    "read by later tables only, then dropped"
                } else {
                    "computed on first use"
                };
                rows.push(vec![
                    b.name.clone(),
                    format!("shared {} ({when})", shared_kind(b)),
                ]);
            }
        }
        rows.sort_by(|a, b| {
            kind_rank(&a[1])
                .cmp(&kind_rank(&b[1]))
                .then_with(|| a[0].cmp(&b[0]))
        });
        let batch = output::text_batch(&["table", "kind"], &rows)?;
        output::write_batches(out, &batch.schema(), &[batch], self.format, None)?;
        Ok(())
    }

    async fn describe_table(&mut self, name: &str, out: &mut dyn Write) -> Result<()> {
        let dash = Arc::clone(&self.dash);
        let ctx = dash.engine().ctx();
        let shared = dash.catalog().shared().find(|b| b.name == name);
        if shared.is_some() && !ctx.table_exist(name)? {
            let dash = Arc::clone(&dash);
            self.run_task(async move { Ok(dash.prepare().await?) })
                .await?;
        }
        let provider = ctx
            .table_provider(name)
            .await
            .map_err(|_| anyhow!("no table `{name}`: \\d lists the tables"))?;
        let schema = provider.schema();
        let rows: Vec<Vec<String>> = schema
            .fields()
            .iter()
            .map(|f| {
                let description = shared
                    .and_then(|b| b.header.columns.iter().find(|c| c.name == *f.name()))
                    .map(|c| c.description.clone())
                    .unwrap_or_default();
                vec![
                    f.name().clone(),
                    f.data_type().to_string(),
                    if f.is_nullable() { "YES" } else { "NO" }.to_string(),
                    description,
                ]
            })
            .collect();
        let batch = output::text_batch(&["column", "type", "nullable", "description"], &rows)?;
        output::write_batches(out, &batch.schema(), &[batch], self.format, None)?;
        Ok(())
    }
}

fn shared_kind(b: &QueryFile) -> &'static str {
    match b.header.kind {
        Some(crate::catalog::SharedKind::Table) => "table",
        Some(crate::catalog::SharedKind::BoundView) => "bound view",
        Some(crate::catalog::SharedKind::Step) => "step",
        _ => "view",
    }
}

fn kind_rank(kind: &str) -> u8 {
    match kind.split_whitespace().next() {
        Some("input") => 0,
        Some("reference") => 1,
        Some("shared") => 2,
        _ => 3,
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Table => "table",
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Markdown => "markdown",
    }
}

/// The tables registered in the session's default schema.
fn registered_tables(ctx: &datafusion::prelude::SessionContext) -> Vec<String> {
    let state = ctx.state();
    let defaults = &state.config().options().catalog;
    ctx.catalog(&defaults.default_catalog)
        .and_then(|c| c.schema(&defaults.default_schema))
        .map(|s| s.table_names())
        .unwrap_or_default()
}

/// Words offered by tab completion: meta-commands, tables and their
/// columns (input, reference, shared and session tables), chart ids,
/// parameter names, function names and common SQL keywords.
pub fn completion_words(dash: &Dashboard) -> Vec<String> {
    let mut words: BTreeSet<String> = BTreeSet::new();
    words.extend(MetaCommand::ALL.iter().map(|c| c.name().to_string()));
    words.extend(SQL_KEYWORDS.iter().map(|s| s.to_string()));
    for t in crate::contract::TABLES {
        words.insert(t.name.to_string());
        words.extend(t.columns.iter().map(|c| c.name.to_string()));
    }
    for r in crate::reference::REFERENCES {
        words.insert(r.name.to_string());
        words.extend(r.columns.iter().map(|(c, _)| c.to_string()));
    }
    for b in dash.catalog().shared() {
        words.insert(b.name.clone());
        words.extend(b.header.columns.iter().map(|c| c.name.clone()));
    }
    for c in dash.catalog().charts() {
        words.insert(c.id.clone());
        words.extend(c.header.params.iter().map(|p| p.name.clone()));
    }
    words.extend(registered_tables(dash.engine().ctx()));
    let state = dash.engine().ctx().state();
    words.extend(state.scalar_functions().keys().cloned());
    words.extend(state.aggregate_functions().keys().cloned());
    words.extend(state.window_functions().keys().cloned());
    words.extend(state.table_functions().keys().cloned());
    words.into_iter().collect()
}

/// Completion candidates for the word ending at `pos`: its start and the
/// matching words (case-insensitive prefix match; SQL keywords follow the
/// case the user typed).
pub fn complete(words: &[String], line: &str, pos: usize) -> (usize, Vec<String>) {
    let head = &line[..pos];
    let start = head
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '/' | '\\' | '.')))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let prefix = &head[start..];
    if prefix.is_empty() {
        return (pos, Vec::new());
    }
    let lower = prefix.to_ascii_lowercase();
    let typed_lower = prefix.chars().any(|c| c.is_ascii_lowercase());
    let mut found: Vec<String> = words
        .iter()
        .filter(|w| w.to_ascii_lowercase().starts_with(&lower) && w.len() > prefix.len())
        // Meta-commands only at the start of a line.
        .filter(|w| !w.starts_with('\\') || start == 0)
        .map(|w| {
            if typed_lower && SQL_KEYWORDS.contains(&w.as_str()) {
                w.to_ascii_lowercase()
            } else {
                w.clone()
            }
        })
        .collect();
    found.dedup();
    (start, found)
}

/// The rustyline helper: tab completion from a shared word list.
#[derive(Debug, Clone, Default)]
pub struct ReplHelper {
    words: Arc<RwLock<Vec<String>>>,
}

impl ReplHelper {
    pub fn set_words(&self, words: Vec<String>) {
        if let Ok(mut w) = self.words.write() {
            *w = words;
        }
    }
}

impl rustyline::completion::Completer for ReplHelper {
    type Candidate = rustyline::completion::Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Self::Candidate>)> {
        let words = self.words.read().map(|w| w.clone()).unwrap_or_default();
        let (start, found) = complete(&words, line, pos);
        Ok((
            start,
            found
                .into_iter()
                .map(|w| rustyline::completion::Pair {
                    display: w.clone(),
                    replacement: w,
                })
                .collect(),
        ))
    }
}

impl rustyline::hint::Hinter for ReplHelper {
    type Hint = String;
}

impl rustyline::highlight::Highlighter for ReplHelper {}

impl rustyline::validate::Validator for ReplHelper {}

impl rustyline::Helper for ReplHelper {}

/// Where the history is kept: `$CYPDASH_HISTORY`, else `~/.cypdash_history`.
pub fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CYPDASH_HISTORY").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(|home| PathBuf::from(home).join(".cypdash_history"))
}

/// The REPL's main loop: rustyline when stdin is a terminal, plain lines
/// otherwise (a script piped in; any failed line makes the run fail).
pub async fn run_interactive(mut repl: Repl, out: &mut dyn Write) -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return run_script(&mut repl, std::io::stdin().lock(), out).await;
    }
    use rustyline::error::ReadlineError;
    let config = rustyline::Config::builder()
        .auto_add_history(false)
        .completion_type(rustyline::CompletionType::List)
        .build();
    let mut editor: rustyline::Editor<ReplHelper, rustyline::history::DefaultHistory> =
        rustyline::Editor::with_config(config)?;
    let helper = ReplHelper::default();
    helper.set_words(completion_words(repl.dashboard()));
    editor.set_helper(Some(helper.clone()));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    repl.catch_interrupts();
    if !repl.quiet {
        writeln!(
            out,
            "cypdash {} on {}: SQL ending in `;`, \\? for help, \\q to quit",
            env!("CARGO_PKG_VERSION"),
            repl.dashboard().engine().data_dir().display()
        )?;
        out.flush()?;
    }
    loop {
        let prompt = repl.prompt();
        let line = tokio::task::block_in_place(|| editor.readline(prompt));
        match line {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                // Ctrl-C during a query ends it with `Cancelled` (see
                // `Repl::run_task`); at the prompt, rustyline reads it.
                match repl.handle_line(&line, out).await {
                    Ok(Control::Quit) => break,
                    Ok(Control::Continue) => {}
                    Err(e) if is_broken_pipe(&e) => break,
                    Err(e) => match e.downcast_ref::<Cancelled>() {
                        Some(cancelled) => eprintln!("{cancelled}"),
                        None => eprintln!("error: {}", error_chain(&e)),
                    },
                }
                out.flush()?;
                helper.set_words(completion_words(repl.dashboard()));
            }
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C at the prompt: drop the half-typed statement.
                repl.reset();
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                save_history(&mut editor, history.as_deref());
                return Err(e.into());
            }
        }
    }
    save_history(&mut editor, history.as_deref());
    Ok(())
}

fn save_history(
    editor: &mut rustyline::Editor<ReplHelper, rustyline::history::DefaultHistory>,
    path: Option<&Path>,
) {
    if let Some(p) = path {
        if let Err(e) = editor.save_history(p) {
            eprintln!("warning: cannot save the history to {}: {e}", p.display());
        }
    }
}

/// Run the lines of a script (stdin not a terminal): errors go to stderr
/// and the run goes on; the result is an error if any line failed.
pub async fn run_script(
    repl: &mut Repl,
    input: impl std::io::BufRead,
    out: &mut dyn Write,
) -> Result<()> {
    let mut failures = 0;
    for line in input.lines() {
        let line = line.context("cannot read stdin")?;
        match repl.handle_line(&line, out).await {
            Ok(Control::Quit) => break,
            Ok(Control::Continue) => {}
            Err(e) if is_broken_pipe(&e) => return Err(e),
            Err(e) => {
                failures += 1;
                eprintln!("error: {}", error_chain(&e));
            }
        }
    }
    if let Err(e) = repl.finish(out).await {
        failures += 1;
        eprintln!("error: {}", error_chain(&e));
    }
    if failures > 0 {
        bail!("{failures} statement(s) or command(s) failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_takes_the_word_before_the_cursor() {
        let words: Vec<String> = [
            "referral",
            "referral_date",
            "ref_gender",
            "\\describe",
            "SELECT",
            "key/partnerships",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let line = "select referral_d";
        assert_eq!(
            complete(&words, line, line.len()),
            (7, vec!["referral_date".to_string()])
        );
        assert_eq!(complete(&words, "sel", 3), (0, vec!["select".to_string()]));
        assert_eq!(
            complete(&words, "\\de", 3),
            (0, vec!["\\describe".to_string()])
        );
        assert_eq!(
            complete(&words, "\\run key/p", 10),
            (5, vec!["key/partnerships".to_string()])
        );
        assert_eq!(complete(&words, "x \\de", 5).1, Vec::<String>::new());
        assert_eq!(complete(&words, "select ", 7).1, Vec::<String>::new());
    }
}
