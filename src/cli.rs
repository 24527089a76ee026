//! The command line: clap arguments ([`args`]), parsed, then checked, then
//! run ([`run`]).
//!
//! Every command writes its results to the `out` it is given (stdout from
//! `main`); progress bars go to stderr, and only when stderr is a terminal
//! and `--quiet` is not set.

mod args;
mod sort;
mod write;

pub use args::*;

use crate::catalog::params;
use crate::catalog::Catalog;
use crate::dashboard::Dashboard;
use crate::docs;
use crate::engine::{Engine, EngineConfig, EngineError};
use crate::exec;
use crate::output::{self, Format};
use crate::repl::{self, Repl, ReplOptions};
use crate::report::ReportOptions;
use crate::validate;
use anyhow::{anyhow, bail, Context, Result};
use std::io::Write;
use write::{export_command, write_report, ExportJob};

/// What a run ended with: the process exit code.
pub type ExitStatus = u8;

/// Run a parsed command line, writing results to `out`.
pub async fn run(cli: Cli, out: &mut dyn Write) -> Result<ExitStatus> {
    let global = &cli.global;
    match cli
        .command
        .unwrap_or_else(|| Command::Dashboard(DashboardArgs::default()))
    {
        Command::Generate(args) => generate(global, &args, out).await,
        Command::Validate { format } => run_validate(global, format, out).await,
        Command::Sort(args) => sort::run(global, &args, out).await,
        Command::Cache { action } => cache_command(global, action, out),
        #[cfg(feature = "cluster")]
        Command::Cluster { role } => cluster_command(global, role).await,
        Command::Dashboard(args) => {
            let catalog = global.catalog()?;
            let charts: Vec<String> = catalog.charts().map(|c| c.id.clone()).collect();
            let page = ReportOptions {
                params: params::parse_args(&args.params)?,
                ..ReportOptions::default()
            };
            let job = ExportJob {
                charts,
                format: args.format,
                out_dir: args.out,
                params: &args.params,
                page: Some(page),
            };
            export_command(global, catalog, job, out).await?;
            Ok(0)
        }
        Command::Report(args) => {
            let catalog = global.catalog()?;
            let options = ReportOptions {
                title: args.title,
                collaborative: args.collaborative,
                partnership: args.partnership,
                service: args.service,
                level: args.level.parse().map_err(|e: String| anyhow!(e))?,
                params: params::parse_args(&args.params)?,
            };
            let dash = open_dashboard(global, catalog).await?;
            write_report(global, &dash, &options, &args.out, out).await?;
            Ok(0)
        }
        Command::Export(args) => {
            let catalog = global.catalog()?;
            let charts = select_charts(&catalog, &args.charts, args.section.as_deref())?;
            let job = ExportJob {
                charts,
                format: args.format,
                out_dir: args.out,
                params: &args.params,
                page: None,
            };
            export_command(global, catalog, job, out).await?;
            Ok(0)
        }
        Command::Bench { reps, format } => {
            let report = crate::bench::run(
                global.engine_config(),
                global.catalog()?,
                reps,
                global.cache.as_deref(),
            )
            .await?;
            crate::bench::write_report(&report, format, out)?;
            Ok(0)
        }
        Command::List { format } => {
            docs::list(&global.catalog()?, format, out)?;
            Ok(0)
        }
        Command::Describe { chart, format } => {
            let catalog = global.catalog()?;
            docs::describe(catalog.chart(&chart)?, format, out)?;
            Ok(0)
        }
        Command::Run(args) => {
            let catalog = global.catalog()?;
            let chart = catalog.chart(&args.chart)?.clone();
            let given = params::parse_args(&args.params)?;
            // Checked before any data is read.
            params::bind_chart(&chart, &given)?;
            let dash = open_dashboard(global, catalog).await?;
            let result = dash.run(&chart.id, &given).await?;
            if args.format == Format::Table && !global.quiet {
                writeln!(out, "{}: {}", chart.id, chart.header.title)?;
                writeln!(out, "{}", output::params_line(&result.params))?;
            }
            output::write_batches(
                out,
                &result.schema,
                &result.batches,
                args.format,
                Some(args.maxrows),
            )?;
            Ok(0)
        }
        Command::Tables { format } => {
            let engine = open(global).await?;
            docs::tables(&engine, format, out).await?;
            Ok(0)
        }
        Command::Functions { name, format } => {
            let engine = open(global).await?;
            docs::functions(&engine, name.as_deref(), format, out)?;
            Ok(0)
        }
        Command::Sql(args) => {
            let sql = match (&args.sql, &args.file) {
                (Some(sql), _) => sql.clone(),
                (None, Some(file)) => std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read SQL file {}", file.display()))?,
                (None, None) => bail!("give the SQL to run, or --file"),
            };
            let dash = open_dashboard(global, global.catalog()?).await?;
            for result in exec::execute_sql(&dash, &sql).await? {
                if !result.schema.fields().is_empty() {
                    output::write_batches(
                        out,
                        &result.schema,
                        &result.batches,
                        args.format,
                        Some(args.maxrows),
                    )?;
                }
            }
            Ok(0)
        }
        Command::Repl(args) => {
            let catalog = global.catalog()?;
            let dash = open_dashboard(global, catalog).await?;
            let options = ReplOptions {
                format: args.format,
                maxrows: (args.maxrows > 0).then_some(args.maxrows),
                quiet: global.quiet,
            };
            repl::run_interactive(Repl::new(dash, options), out).await?;
            Ok(0)
        }
        Command::Serve(args) => {
            // The server's chart tables run the charts in this process;
            // a plan holding one cannot be sent to a scheduler.
            #[cfg(feature = "cluster")]
            if global.cluster.is_some() {
                bail!("serve does not run on a cluster: start it without --cluster");
            }
            // Chart runs get the per-query memory limit too.
            let mut config = global.engine_config();
            let memory = *config
                .memory_limit
                .get_or_insert(crate::serve::DEFAULT_QUERY_MEMORY);
            let dash = open_dashboard_with(global, config, global.catalog()?).await?;
            let log = crate::serve::Log::new(Box::new(std::io::stderr()));
            crate::serve::serve(dash, args.options(memory), out, log).await?;
            Ok(0)
        }
    }
}

/// Open the engine on the data. Errors that already name the data
/// directory are passed on as they are.
async fn open(global: &GlobalArgs) -> Result<Engine> {
    open_with(global.engine_config()).await
}

async fn open_with(config: EngineConfig) -> Result<Engine> {
    let dir = config.data_dir.clone();
    match Engine::open(config).await {
        Ok(engine) => Ok(engine),
        Err(e @ (EngineError::DataDirMissing(_) | EngineError::Contract { .. })) => Err(e.into()),
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("cannot open the data in {}", dir.display())))
        }
    }
}

pub(crate) async fn open_dashboard(global: &GlobalArgs, catalog: Catalog) -> Result<Dashboard> {
    open_dashboard_with(global, global.engine_config(), catalog).await
}

/// The dashboard over an engine set up as `config` says, with the global
/// block cache and disclosure policy.
async fn open_dashboard_with(
    global: &GlobalArgs,
    config: EngineConfig,
    catalog: Catalog,
) -> Result<Dashboard> {
    #[cfg(feature = "cluster")]
    if let (Some(addr), None) = (&config.cluster, &global.cache) {
        bail!(
            "--cluster {addr} needs --cache DIR: on a cluster the shared blocks are written \
             once as Parquet to a folder every executor can read (docs/cluster.md)"
        );
    }
    let mut dashboard = Dashboard::new(open_with(config).await?, catalog);
    if let Some(dir) = &global.cache {
        dashboard = dashboard.with_cache(dir)?;
    }
    dashboard.set_policy(global.sdc);
    Ok(dashboard)
}

/// `cypdash cluster scheduler|executor`: runs until stopped.
#[cfg(feature = "cluster")]
async fn cluster_command(global: &GlobalArgs, role: args::ClusterRole) -> Result<ExitStatus> {
    use crate::cluster;
    cluster::init_logging();
    match role {
        args::ClusterRole::Scheduler {
            bind,
            executor_timeout,
        } => {
            cluster::scheduler(cluster::SchedulerOptions {
                bind,
                executor_timeout_seconds: executor_timeout,
            })
            .await?
        }
        args::ClusterRole::Executor {
            scheduler,
            host,
            port,
            grpc_port,
            work_dir,
            concurrency,
        } => {
            cluster::executor(cluster::ExecutorOptions {
                scheduler,
                bind_host: host,
                port,
                grpc_port,
                work_dir,
                concurrency,
                memory_limit: global.memory_limit,
            })
            .await?
        }
    }
    Ok(0)
}

/// `cypdash cache list|clear` on the cache given by `--cache`.
fn cache_command(
    global: &GlobalArgs,
    action: CacheAction,
    out: &mut dyn Write,
) -> Result<ExitStatus> {
    let dir = global
        .cache
        .as_deref()
        .ok_or_else(|| anyhow!("give the block cache's folder: cypdash --cache DIR cache ..."))?;
    match action {
        CacheAction::List { format } => {
            let rows: Vec<Vec<String>> = crate::block_cache::entries(dir)?
                .into_iter()
                .map(|e| {
                    vec![
                        e.block,
                        e.hash[..16].to_string(),
                        e.files.to_string(),
                        e.bytes.to_string(),
                        e.complete.to_string(),
                    ]
                })
                .collect();
            let batch = output::text_batch(&["block", "key", "files", "bytes", "complete"], &rows)?;
            output::write_batches(out, &batch.schema(), &[batch], format, None)?;
        }
        CacheAction::Clear => {
            let (entries, bytes) = crate::block_cache::clear(dir)?;
            if !global.quiet {
                writeln!(
                    out,
                    "removed {entries} entries ({bytes} bytes) from {}",
                    dir.display()
                )?;
            }
        }
    }
    Ok(0)
}

/// The chart ids an export selects: `--charts`, `--section`, or all.
fn select_charts(
    catalog: &Catalog,
    charts: &[String],
    section: Option<&str>,
) -> Result<Vec<String>> {
    if let Some(section) = section {
        let ids: Vec<String> = catalog
            .charts()
            .filter(|c| c.section == section)
            .map(|c| c.id.clone())
            .collect();
        if ids.is_empty() {
            let known: Vec<&str> = catalog.sections().iter().map(|s| s.name.as_str()).collect();
            bail!(
                "no charts in section `{section}`; the sections are: {}",
                known.join(", ")
            );
        }
        return Ok(ids);
    }
    if charts.is_empty() {
        return Ok(catalog.charts().map(|c| c.id.clone()).collect());
    }
    let mut ids = Vec::new();
    for name in charts.iter().filter(|c| !c.trim().is_empty()) {
        let id = catalog.chart(name)?.id.clone();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

async fn generate(
    global: &GlobalArgs,
    args: &GenerateArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus> {
    if args.referrals == 0 || args.partnerships == 0 || args.files_per_table == 0 {
        bail!("--referrals, --partnerships and --files-per-table must be at least 1");
    }
    let options = crate::generate::GenerateOptions {
        out: args.out.clone(),
        referrals: args.referrals,
        partnerships: args.partnerships,
        seed: args.seed,
        files_per_table: args.files_per_table,
    };
    let bar = global.progress(
        args.referrals,
        "generating {bar:40} {pos}/{len} referrals ({eta} left)",
    );
    let started = std::time::Instant::now();
    let mut progress = |done| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    };
    let summary = match args.format {
        crate::generate::GenerateFormat::Contract => {
            crate::generate::generate(&options, &mut progress)
        }
        crate::generate::GenerateFormat::Mhsds => {
            crate::generate::mhsds::generate_mhsds(&options, &mut progress).await
        }
    }
    .with_context(|| format!("cannot generate data into {}", args.out.display()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !global.quiet {
        for (table, rows, files) in &summary.tables {
            writeln!(out, "{table:<20} {rows:>12} rows in {files} file(s)")?;
        }
        writeln!(
            out,
            "wrote {} in {:.1} s",
            args.out.display(),
            started.elapsed().as_secs_f64()
        )?;
    }
    Ok(0)
}

async fn run_validate(
    global: &GlobalArgs,
    format: Format,
    out: &mut dyn Write,
) -> Result<ExitStatus> {
    let config = global.engine_config();
    let (findings, layouts) = match Engine::open(config).await {
        Ok(engine) => {
            let layouts = validate::table_layouts(&engine);
            let mut findings = validate::layout_findings(&layouts);
            findings.extend(validate::quality_findings(&engine).await?);
            (findings, layouts)
        }
        Err(EngineError::Contract { problems, .. }) => {
            (validate::contract_findings(&problems), Vec::new())
        }
        Err(e) => return Err(e.into()),
    };
    match format {
        Format::Json => {
            let report = serde_json::json!({ "findings": findings, "tables": layouts });
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        _ => {
            if findings.is_empty() {
                writeln!(out, "no problems found")?;
            } else {
                let batch = validate::findings_batch(&findings)?;
                output::write_batches(out, &batch.schema(), &[batch], format, None)?;
            }
            // A second table would make CSV output unreadable: the
            // layout is shown in the table and JSON formats.
            if matches!(format, Format::Table | Format::Markdown) && !layouts.is_empty() {
                writeln!(out)?;
                let batch = validate::layouts_batch(&layouts)?;
                output::write_batches(out, &batch.schema(), &[batch], format, None)?;
            }
        }
    }
    Ok(if validate::has_errors(&findings) {
        1
    } else {
        0
    })
}
