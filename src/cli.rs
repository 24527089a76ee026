//! The command line: clap arguments, parsed, then checked, then run.
//!
//! Every command writes its results to the `out` it is given (stdout from
//! `main`); progress bars go to stderr, and only when stderr is a terminal
//! and `--quiet` is not set.

use crate::catalog::{Catalog, QueryFile, SECTIONS};
use crate::dashboard::{parse_param_args, Dashboard, GivenParams, RunError};
use crate::engine::{Engine, EngineConfig, EngineError};
use crate::export::{self, ExportFormat, ExportRequest};
use crate::output::{self, Format};
use crate::repl::{self, Repl, ReplOptions};
use crate::report::{self, ReportOptions};
use crate::validate;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const AFTER_HELP: &str = "\
Examples:
  cypdash dashboard                                 run every chart on the demo data, export to out/dashboard
  cypdash --data DIR dashboard --out exports        the same on your data
  cypdash list                                      the charts, by dashboard section
  cypdash describe key/partnerships                 a chart's parameters and output columns
  cypdash run key/partnerships --param min_n=3      run one chart and print it
  cypdash export --section outcomes --out DIR       Parquet, CSV, Power Query and manifest.json
  cypdash sql \"SELECT count(*) FROM referral\"       ad hoc SQL over the data
  cypdash repl                                      interactive SQL and charts

Exit codes: 0 success; 1 failure (a failing query, contract errors, unreadable
input, a bad chart name or parameter); 2 the command line could not be parsed.";

/// The CYP IAPT partnership dashboard as SQL on Apache DataFusion.
///
/// Reads a data directory of Parquet or CSV files (the input contract in
/// docs/data-contract.md) and answers the dashboard's questions with the SQL
/// files under queries/. Without a command, runs `dashboard`.
#[derive(Debug, Parser)]
#[command(name = "cypdash", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Data directory holding the input tables (default: the bundled demo data).
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Read the chart query files from DIR (laid out like queries/: one
    /// folder per section) instead of those built into the binary.
    #[arg(long, global = true, value_name = "DIR")]
    pub queries: Option<PathBuf>,
    /// Memory limit for query execution, e.g. 512MiB, 2GiB (default: none);
    /// beyond it, sorts and joins spill to disk.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<usize>,
    /// Directory for spill files when the memory limit is reached (default:
    /// the system temporary directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// Print nothing but results and errors (no summaries, no progress).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Disclosure control applied to every chart result: `corc` (small
    /// numbers below min_n withheld, with secondary suppression), `mhsds`
    /// (NHS England's publication rule: below 5 withheld, counts rounded to
    /// 5) or `none` (nothing withheld: for your own analysis only).
    #[arg(long, global = true, value_name = "POLICY", default_value = "corc")]
    pub sdc: crate::disclosure::Policy,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job: run every chart and write the exports (the default).
    ///
    /// Runs each chart on the data, writes `<section>__<chart>.parquet`,
    /// `.csv` and `.pq` (Power Query) files and `manifest.json` to the output
    /// directory, and prints a summary: chart, rows, time. A chart that fails
    /// is reported and the others are still exported; the exit code is then 1.
    Dashboard(DashboardArgs),
    /// Render the dashboard as one self-contained HTML file: funnel plots,
    /// bar and change charts, a discussion box and a data table per chart.
    ///
    /// The page has no external resources and prints to A4 landscape. Every
    /// number comes from the chart queries (the same results `export` writes).
    Report(ReportArgs),
    /// List the charts by dashboard section, with their titles.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Describe a chart: its parameters (type, default, meaning) and output
    /// columns (type, meaning, unit, when NULL).
    Describe {
        /// The chart: `section/name`, or the bare name when unique.
        chart: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: DocFormat,
    },
    /// Run one chart and print its result.
    Run(RunArgs),
    /// Run SQL over the data (input tables, `ref_*` reference tables, the
    /// shared building blocks and the cypdash functions).
    ///
    /// Several statements separated by `;` run in order. Shared building
    /// blocks (such as sdq_score or in_scope_referral) are computed before
    /// the first statement that names one.
    Sql(SqlArgs),
    /// Export charts as Parquet and/or CSV, with Power Query snippets and a
    /// manifest.json.
    Export(ExportArgs),
    /// List the registered tables (input and reference) with their row counts.
    Tables {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// List the cypdash SQL functions (scoring, change, funnel), or document one.
    Functions {
        /// A function to document in full.
        name: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Interactive SQL and charts (type \? at the prompt for help).
    ///
    /// History is kept in ~/.cypdash_history (or $CYPDASH_HISTORY). SQL runs
    /// when a line ends with `;`; Ctrl-C cancels a running query, Ctrl-D
    /// quits. With stdin not a terminal, reads the lines of a script.
    Repl(ReplArgs),
    /// Write deterministic synthetic data that meets the input contract.
    Generate(GenerateArgs),
    /// Time the dashboard's steps on the data, beside the scan floor (a plain
    /// aggregate over exactly the columns the dashboard reads), in one process.
    ///
    /// Steps: open, scan_floor, sdq_scoring, score_questionnaires (the shared
    /// tables, once), each chart and all charts (repeated --reps times), and
    /// the process's peak memory. `scripts/bench.sh` runs it over generated
    /// data of several sizes with the DuckDB baseline (docs/performance.md).
    Bench {
        /// Repetitions of each repeated step (min and median are reported).
        #[arg(long, default_value_t = 3)]
        reps: usize,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Check the data against the contract and for quality problems (exit
    /// code 1 when the contract does not hold).
    Validate {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// Formats for documentation output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocFormat {
    Table,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR", default_value = "out/dashboard")]
    pub out: PathBuf,
    /// Files to write per chart.
    #[arg(long, value_enum, default_value = "both")]
    pub format: ExportFormat,
    /// A chart parameter as name=value, given to every chart that declares
    /// it (repeatable; an error if no chart declares it).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

impl Default for DashboardArgs {
    fn default() -> Self {
        Self {
            out: PathBuf::from("out/dashboard"),
            format: ExportFormat::Both,
            params: Vec::new(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The HTML file to write (its folder is created if missing).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "out/dashboard/dashboard.html"
    )]
    pub out: PathBuf,
    /// At partnership level, the partnership to highlight and label; at
    /// service level, the partnership whose teams are compared.
    #[arg(long, value_name = "ID")]
    pub partnership: Option<i64>,
    /// At service level, the team (service id) to highlight.
    #[arg(long, value_name = "ID")]
    pub service: Option<i64>,
    /// Compare partnerships (the paper dashboard) or the teams (services)
    /// of one partnership.
    #[arg(long, value_parser = ["partnership", "service"], default_value = "partnership")]
    pub level: String,
    /// Compare only the partnerships of this collaborative.
    #[arg(long, value_name = "NAME")]
    pub collaborative: Option<String>,
    /// Page title.
    #[arg(long)]
    pub title: Option<String>,
    /// A chart parameter as name=value, given to every chart that declares
    /// it (repeatable; an error if no chart declares it).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The chart: `section/name`, or the bare name when unique (see `cypdash list`).
    pub chart: String,
    /// A parameter as name=value (repeatable; see `cypdash describe CHART`).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Print at most this many rows in table and markdown formats.
    #[arg(long, default_value_t = 40)]
    pub maxrows: usize,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The SQL to run (or use --file).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub sql: Option<String>,
    /// Read the SQL from a file.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Print at most this many rows in table and markdown formats.
    #[arg(long, default_value_t = 40)]
    pub maxrows: usize,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Charts to export, comma-separated (default: every chart).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "CHART,...",
        conflicts_with = "section"
    )]
    pub charts: Vec<String>,
    /// Export the charts of one dashboard section (who, outcomes, experience,
    /// data_quality, key).
    #[arg(long, value_name = "SECTION")]
    pub section: Option<String>,
    /// Files to write per chart.
    #[arg(long, value_enum, default_value = "both")]
    pub format: ExportFormat,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A chart parameter as name=value, given to every selected chart that
    /// declares it (repeatable; an error if none declares it).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReplArgs {
    /// Initial output format (change with \format).
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Print at most this many rows in table and markdown formats (0: all).
    #[arg(long, default_value_t = 40)]
    pub maxrows: usize,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of referrals.
    #[arg(long, default_value_t = 20_000)]
    pub referrals: u64,
    /// Number of partnerships.
    #[arg(long, default_value_t = 20)]
    pub partnerships: u32,
    /// Random seed: the same seed and arguments give the same rows.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Files per table: 1 writes `<table>.parquet`, more write a folder.
    #[arg(long, default_value_t = 1)]
    pub files_per_table: u32,
}

/// Parse a byte size such as `512MiB`, `2GiB`, `1G`, `1500000`.
pub fn parse_size(s: &str) -> std::result::Result<usize, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size: use e.g. 512MiB or 2GiB"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0f64.powi(4),
        other => {
            return Err(format!(
                "unknown size unit `{other}` in `{s}`: use KiB, MiB or GiB"
            ))
        }
    };
    Ok((value * mult) as usize)
}

/// The bundled demo data: `data/demo` beside the working directory, else
/// in the source tree this binary was built from.
pub fn default_data_dir() -> PathBuf {
    let local = Path::new("data/demo");
    if local.is_dir() {
        return local.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo")
}

impl GlobalArgs {
    pub fn engine_config(&self) -> EngineConfig {
        let mut config = EngineConfig::new(self.data.clone().unwrap_or_else(default_data_dir));
        config.memory_limit = self.memory_limit;
        config.spill_dir = self.spill_dir.clone();
        config
    }

    /// The query files: `--queries DIR`, or those built into the binary.
    pub fn catalog(&self) -> Result<Catalog> {
        match &self.queries {
            Some(dir) => Catalog::from_dir(dir)
                .with_context(|| format!("cannot load the query files in {}", dir.display())),
            None => Ok(Catalog::embedded()?),
        }
    }

    /// A progress bar on stderr, only when stderr is a terminal and not quiet.
    fn progress(&self, len: u64, template: &str) -> Option<indicatif::ProgressBar> {
        use std::io::IsTerminal;
        (!self.quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(len);
            bar.set_style(
                indicatif::ProgressStyle::with_template(template).expect("valid template"),
            );
            bar
        })
    }
}

/// What a run ended with: the process exit code.
pub type ExitStatus = u8;

/// Run a parsed command line, writing results to `out`.
pub async fn run(cli: Cli, out: &mut dyn Write) -> Result<ExitStatus> {
    let global = &cli.global;
    match cli
        .command
        .unwrap_or_else(|| Command::Dashboard(DashboardArgs::default()))
    {
        Command::Generate(args) => generate(global, &args, out),
        Command::Validate { format } => run_validate(global, format, out).await,
        Command::Dashboard(args) => {
            let catalog = global.catalog()?;
            let charts: Vec<String> = catalog.charts().map(|c| c.id.clone()).collect();
            let page = ReportOptions {
                params: parse_param_args(&args.params)?,
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
                params: parse_param_args(&args.params)?,
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
            let report = crate::bench::run(global.engine_config(), global.catalog()?, reps).await?;
            bench_output(&report, format, out)?;
            Ok(0)
        }
        Command::List { format } => {
            list(&global.catalog()?, format, out)?;
            Ok(0)
        }
        Command::Describe { chart, format } => {
            let catalog = global.catalog()?;
            describe(catalog.chart(&chart)?, format, out)?;
            Ok(0)
        }
        Command::Run(args) => {
            let catalog = global.catalog()?;
            let chart = catalog.chart(&args.chart)?.clone();
            let given = parse_param_args(&args.params)?;
            check_params(&chart, &given)?;
            let dash = open_dashboard(global, catalog).await?;
            let result = dash.run(&chart.id, &given).await?;
            if args.format == Format::Table && !global.quiet {
                writeln!(out, "{}: {}", chart.id, chart.header.title)?;
                writeln!(out, "{}", repl::params_line(&result.params))?;
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
            summary(&engine, format, out).await?;
            Ok(0)
        }
        Command::Functions { name, format } => {
            let engine = open(global).await?;
            functions(&engine, name.as_deref(), format, out)?;
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
            for result in repl::execute_sql(&dash, &sql).await? {
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
    }
}

/// Open the engine on the data. Errors that already name the data
/// directory are passed on as they are.
async fn open(global: &GlobalArgs) -> Result<Engine> {
    let config = global.engine_config();
    let dir = config.data_dir.clone();
    match Engine::open(config).await {
        Ok(engine) => Ok(engine),
        Err(e @ (EngineError::DataDirMissing(_) | EngineError::Contract { .. })) => Err(e.into()),
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("cannot open the data in {}", dir.display())))
        }
    }
}

async fn open_dashboard(global: &GlobalArgs, catalog: Catalog) -> Result<Dashboard> {
    let dashboard = Dashboard::new(open(global).await?, catalog);
    dashboard.set_policy(global.sdc);
    Ok(dashboard)
}

/// Check given parameters against a chart's header before any data is
/// read: every name declared, every value of the declared type.
pub fn check_params(chart: &QueryFile, given: &GivenParams) -> Result<(), RunError> {
    for (name, value) in given {
        let Some(spec) = chart.param(name) else {
            return Err(RunError::UnknownParam {
                chart: chart.id.clone(),
                name: name.clone(),
                known: chart.header.params.iter().map(|p| p.name.clone()).collect(),
            });
        };
        spec.ty.parse(value).map_err(|reason| RunError::BadParam {
            chart: chart.id.clone(),
            name: name.clone(),
            ty: spec.ty,
            value: value.clone(),
            reason,
        })?;
    }
    Ok(())
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
            let known: Vec<&str> = SECTIONS.iter().map(|(s, _)| *s).collect();
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

/// Print a bench report: one row per step with min, median and the ratio
/// of the median to the scan floor's median.
fn bench_output(
    report: &crate::bench::BenchReport,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, report)?;
        writeln!(out)?;
        return Ok(());
    }
    let floor = report
        .steps
        .iter()
        .find(|s| s.step == "scan_floor")
        .map(|s| s.median());
    let rows: Vec<Vec<String>> = report
        .steps
        .iter()
        .map(|s| {
            vec![
                s.step.clone(),
                format!("{:.3}", s.min()),
                format!("{:.3}", s.median()),
                floor
                    .filter(|f| *f > 0.0)
                    .map_or_else(String::new, |f| format!("{:.2}", s.median() / f)),
                s.rows.to_string(),
            ]
        })
        .collect();
    let schema = Arc::new(Schema::new(
        ["step", "min_s", "median_s", "x_scan_floor", "rows"]
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let columns = (0..5)
        .map(|c| {
            Arc::new(StringArray::from(
                rows.iter().map(|r| r[c].clone()).collect::<Vec<_>>(),
            )) as _
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    output::write_batches(out, &schema, &[batch], format, None)?;
    if let Some(peak) = report.peak_rss_mib {
        if format == Format::Table {
            writeln!(out, "peak memory: {peak:.0} MiB")?;
        }
    }
    Ok(())
}

/// Render the HTML report to `path` (written to a temporary name, then
/// renamed, so no half-written page is ever seen).
async fn write_report(
    global: &GlobalArgs,
    dash: &Dashboard,
    options: &ReportOptions,
    path: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    let started = std::time::Instant::now();
    let html = report::render(dash, options).await?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("html.partial");
    std::fs::write(&tmp, html).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    if !global.quiet {
        writeln!(
            out,
            "wrote the report {} in {}",
            path.display(),
            format_elapsed(started.elapsed())
        )?;
    }
    Ok(())
}

/// What `export` and `dashboard` write.
#[derive(Debug)]
struct ExportJob<'a> {
    charts: Vec<String>,
    format: ExportFormat,
    out_dir: PathBuf,
    params: &'a [String],
    /// `dashboard`: the rendered dashboard, written beside the exports.
    page: Option<ReportOptions>,
}

/// Export the charts into `job.out_dir`, replacing it whole (see
/// [`export::directory`]). The rendered dashboard, if asked for, goes into
/// the same directory in the same swap, drawn from the same results when
/// every chart ran.
async fn export_command(
    global: &GlobalArgs,
    catalog: Catalog,
    job: ExportJob<'_>,
    out: &mut dyn Write,
) -> Result<()> {
    let given = parse_param_args(job.params)?;
    let files: Vec<&QueryFile> = job
        .charts
        .iter()
        .map(|id| catalog.chart(id))
        .collect::<Result<_, _>>()?;
    let per_chart = export::params_per_chart(&files, &given)?;
    let request = ExportRequest {
        charts: job.charts,
        params: per_chart,
        format: job.format,
        out: job.out_dir,
    };
    let dash = open_dashboard(global, catalog).await?;
    // `dashboard` renders the report from the same results.
    dash.keep_results();
    let staging = export::Staging::begin(&request.out)?;
    let bar = global.progress(
        request.charts.len() as u64,
        "{bar:30} {pos}/{len} charts {msg}",
    );
    let report = export::write_export(&dash, &request, &staging, &mut |i, id| {
        if let Some(bar) = &bar {
            bar.set_position(i as u64);
            bar.set_message(id.to_string());
        }
    })
    .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let failed: Vec<_> = report.failed().collect();
    let page_elapsed = match &job.page {
        Some(options) if failed.is_empty() => {
            let started = std::time::Instant::now();
            let html = report::render(&dash, options).await?;
            let path = staging.path().join(export::REPORT);
            export::write_atomic(&path, |w| {
                w.write_all(html.as_bytes())
                    .map_err(|source| export::ExportError::Io {
                        path: path.clone(),
                        source,
                    })
            })?;
            Some(started.elapsed())
        }
        _ => None,
    };
    staging.commit()?;
    if !global.quiet {
        let rows: Vec<Vec<String>> = report
            .charts
            .iter()
            .map(|c| {
                vec![
                    c.chart.clone(),
                    c.rows.map_or_else(String::new, |r| r.to_string()),
                    format_elapsed(c.elapsed),
                    if c.error.is_some() { "failed" } else { "ok" }.to_string(),
                ]
            })
            .collect();
        let param = |name: &str| {
            report
                .manifest
                .files
                .iter()
                .find_map(|f| match f.params.get(name)? {
                    serde_json::Value::String(s) => Some(s.clone()),
                    _ => None,
                })
        };
        let data_dir = global.data.clone().unwrap_or_else(default_data_dir);
        writeln!(
            out,
            "data: {} · period: {} to {}",
            data_dir.display(),
            param("period_start").unwrap_or_else(|| "?".to_string()),
            param("period_end").unwrap_or_else(|| "?".to_string())
        )?;
        print_table(out, &["chart", "rows", "time", "status"], &[1, 2], &rows)?;
        writeln!(
            out,
            "wrote {} files and {} to {} in {}",
            report.files_written(),
            export::MANIFEST,
            report.out.display(),
            format_elapsed(report.elapsed)
        )?;
        if let Some(elapsed) = page_elapsed {
            writeln!(
                out,
                "wrote the report {} in {}",
                report.out.join(export::REPORT).display(),
                format_elapsed(elapsed)
            )?;
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    let details: Vec<String> = failed
        .iter()
        .map(|c| format!("  - {}", c.error.as_deref().unwrap_or("failed")))
        .collect();
    Err(anyhow!(
        "{} of {} charts failed (the others were exported):\n{}",
        failed.len(),
        report.charts.len(),
        details.join("\n")
    ))
}

/// An error and its causes on one line, `: `-separated, leaving out a
/// cause whose text the message already holds (DataFusion errors repeat
/// their source in their own text).
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        let core = c.split_once(": ").map_or(c.as_str(), |(_, rest)| rest);
        if c.is_empty() || text.contains(&c) || text.contains(core) {
            continue;
        }
        text.push_str(": ");
        text.push_str(&c);
    }
    text
}

/// A duration for people: `12 ms`, `3.4 s`.
pub fn format_elapsed(d: std::time::Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Print rows as a table in the house style (the `right` columns aligned
/// right), without a row-count footer.
pub fn print_table(
    out: &mut dyn Write,
    header: &[&str],
    right: &[usize],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(header.to_vec());
    for i in right {
        if let Some(c) = table.column_mut(*i) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    for row in rows {
        table.add_row(row.clone());
    }
    writeln!(out, "{table}")
}

fn markdown_table(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    writeln!(out, "| {} |", header.join(" | "))?;
    writeln!(
        out,
        "|{}|",
        header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    )?;
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| c.replace('|', "\\|").replace('\n', " "))
            .collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}

/// A record batch of text columns.
pub fn text_batch(names: &[&str], rows: &[Vec<String>]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let columns = (0..names.len())
        .map(|i| {
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.get(i).cloned()).collect::<Vec<_>>(),
            )) as _
        })
        .collect();
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// `list`: the charts by section.
pub fn list(catalog: &Catalog, format: Format, out: &mut dyn Write) -> Result<()> {
    let section_title = |s: &str| {
        SECTIONS
            .iter()
            .find(|(id, _)| *id == s)
            .map_or("", |(_, t)| *t)
    };
    if format == Format::Table {
        let width = catalog.charts().map(|c| c.id.len()).max().unwrap_or(0);
        let mut section: Option<&str> = None;
        for c in catalog.charts() {
            if section != Some(c.section.as_str()) {
                if section.is_some() {
                    writeln!(out)?;
                }
                writeln!(out, "{}: {}", c.section, section_title(&c.section))?;
                section = Some(c.section.as_str());
            }
            writeln!(out, "  {:<width$}  {}", c.id, c.header.title)?;
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = catalog
        .charts()
        .map(|c| {
            vec![
                c.section.clone(),
                c.id.clone(),
                c.header.title.clone(),
                c.header
                    .params
                    .iter()
                    .map(|p| p.name.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    let batch = text_batch(&["section", "chart", "title", "params"], &rows)?;
    output::write_batches(out, &batch.schema(), &[batch], format, None)?;
    Ok(())
}

/// `describe`: a chart's header.
pub fn describe(chart: &QueryFile, format: DocFormat, out: &mut dyn Write) -> Result<()> {
    let h = &chart.header;
    let params: Vec<Vec<String>> = h
        .params
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.ty.to_string(),
                p.default.clone(),
                p.description.clone(),
            ]
        })
        .collect();
    let columns: Vec<Vec<String>> = h
        .columns
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.ty.clone(),
                c.description.clone(),
                c.unit.clone().unwrap_or_default(),
                c.null_when.clone().unwrap_or_default(),
                c.role_text(),
            ]
        })
        .collect();
    let source = chart.path.as_ref().map_or_else(
        || format!("queries/{}.sql (built in)", chart.id),
        |p| p.display().to_string(),
    );
    const PARAMS: [&str; 4] = ["name", "type", "default", "meaning"];
    const COLUMNS: [&str; 6] = [
        "name",
        "type",
        "meaning",
        "unit",
        "NULL when",
        "disclosure role",
    ];
    match format {
        DocFormat::Json => {
            let value = serde_json::json!({
                "chart": chart.id,
                "section": chart.section,
                "title": h.title,
                "description": h.description,
                "params": h.params,
                "columns": h.columns,
                "source": source,
                "fingerprint": chart.fingerprint(),
            });
            serde_json::to_writer_pretty(&mut *out, &value)?;
            writeln!(out)?;
        }
        DocFormat::Markdown => {
            writeln!(out, "## {}: {}\n", chart.id, h.title)?;
            writeln!(out, "{}\n", h.description.trim())?;
            writeln!(out, "### Parameters\n")?;
            if params.is_empty() {
                writeln!(out, "None.")?;
            } else {
                markdown_table(out, &PARAMS, &params)?;
            }
            writeln!(out, "\n### Output columns\n")?;
            markdown_table(out, &COLUMNS, &columns)?;
            writeln!(
                out,
                "\nQuery file: `{source}` (fingerprint `{}`).",
                chart.fingerprint()
            )?;
        }
        DocFormat::Table => {
            writeln!(out, "{}: {}\n", chart.id, h.title)?;
            writeln!(out, "{}\n", h.description.trim())?;
            writeln!(out, "Parameters (--param name=value):")?;
            if params.is_empty() {
                writeln!(out, "  none")?;
            } else {
                print_table(out, &PARAMS, &[], &params)?;
            }
            writeln!(out, "\nOutput columns:")?;
            print_table(out, &COLUMNS, &[], &columns)?;
            writeln!(
                out,
                "\nQuery file: {source} (fingerprint {})",
                chart.fingerprint()
            )?;
        }
    }
    Ok(())
}

/// One cypdash SQL function with its documentation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FunctionDoc {
    pub name: String,
    pub kind: &'static str,
    pub section: String,
    pub description: String,
    pub syntax: String,
    pub arguments: Vec<(String, String)>,
    pub example: Option<String>,
}

/// The cypdash functions, in registration order, documented from the
/// session's registered functions.
pub fn function_docs(engine: &Engine) -> Vec<FunctionDoc> {
    use cypdash_udfs::{change, funnel, scoring};
    use datafusion::logical_expr::Documentation;
    let state = engine.ctx().state();
    let mut names: Vec<(String, &'static str)> = Vec::new();
    for f in scoring::functions() {
        names.push((f.name().to_string(), "aggregate"));
    }
    for f in change::scalar_functions()
        .into_iter()
        .chain(funnel::scalar_functions())
    {
        names.push((f.name().to_string(), "scalar"));
    }
    for f in change::aggregate_functions()
        .into_iter()
        .chain(funnel::aggregate_functions())
    {
        names.push((f.name().to_string(), "aggregate"));
    }
    names.push((funnel::funnel_curve::FunnelCurve::NAME.to_string(), "table"));
    let doc = |d: &Documentation, name: String, kind| FunctionDoc {
        name,
        kind,
        section: d.doc_section.label.to_string(),
        description: d.description.clone(),
        syntax: d.syntax_example.clone(),
        arguments: d.arguments.clone().unwrap_or_default(),
        example: d.sql_example.clone(),
    };
    names
        .into_iter()
        .map(|(name, kind)| {
            let found = match kind {
                "scalar" => state
                    .scalar_functions()
                    .get(&name)
                    .and_then(|f| f.documentation().cloned()),
                "aggregate" => state
                    .aggregate_functions()
                    .get(&name)
                    .and_then(|f| f.documentation().cloned()),
                // Table functions have no documentation hook in DataFusion:
                // the crate keeps it beside the implementation.
                _ => state
                    .table_functions()
                    .contains_key(&name)
                    .then(|| funnel::funnel_curve::FunnelCurve.documentation().clone()),
            };
            match found {
                Some(d) => doc(&d, name, kind),
                None => FunctionDoc {
                    name,
                    kind,
                    section: String::new(),
                    description: "(not registered or not documented)".to_string(),
                    syntax: String::new(),
                    arguments: Vec::new(),
                    example: None,
                },
            }
        })
        .collect()
}

/// The first sentence of a description, cut at a word to at most 100
/// characters.
fn summary_line(text: &str) -> String {
    const MAX: usize = 100;
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = match flat.find(". ") {
        Some(i) => &flat[..=i],
        None => flat.as_str(),
    };
    if sentence.chars().count() <= MAX {
        return sentence.to_string();
    }
    let mut cut = String::new();
    for word in sentence.split(' ') {
        if cut.chars().count() + word.chars().count() + 1 > MAX - 1 {
            break;
        }
        if !cut.is_empty() {
            cut.push(' ');
        }
        cut.push_str(word);
    }
    cut.trim_end_matches([',', ';', ':']).to_string() + "…"
}

/// `functions`: list the cypdash functions, or document one.
pub fn functions(
    engine: &Engine,
    name: Option<&str>,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let mut docs = function_docs(engine);
    if let Some(name) = name {
        docs.retain(|d| d.name.eq_ignore_ascii_case(name));
        let Some(d) = docs.first() else {
            let all: Vec<String> = function_docs(engine).into_iter().map(|d| d.name).collect();
            bail!(
                "unknown function `{name}`; the cypdash functions are: {}",
                all.join(", ")
            );
        };
        match format {
            Format::Table => {
                writeln!(out, "{} ({} function; {})\n", d.name, d.kind, d.section)?;
                writeln!(out, "{}\n", d.description)?;
                writeln!(out, "Syntax: {}", d.syntax)?;
                if !d.arguments.is_empty() {
                    writeln!(out, "\nArguments:")?;
                    let rows: Vec<Vec<String>> = d
                        .arguments
                        .iter()
                        .map(|(a, b)| vec![a.clone(), b.clone()])
                        .collect();
                    print_table(out, &["argument", "meaning"], &[], &rows)?;
                }
                if let Some(e) = &d.example {
                    writeln!(out, "\nExample:\n{}", e.trim())?;
                }
                return Ok(());
            }
            Format::Markdown => {
                writeln!(
                    out,
                    "## `{}` ({} function)\n\n{}\n\n```sql\n{}\n```",
                    d.name, d.kind, d.description, d.syntax
                )?;
                if !d.arguments.is_empty() {
                    writeln!(out)?;
                    let rows: Vec<Vec<String>> = d
                        .arguments
                        .iter()
                        .map(|(a, b)| vec![format!("`{a}`"), b.clone()])
                        .collect();
                    markdown_table(out, &["argument", "meaning"], &rows)?;
                }
                if let Some(e) = &d.example {
                    writeln!(out, "\n{}", e.trim())?;
                }
                return Ok(());
            }
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, d)?;
                writeln!(out)?;
                return Ok(());
            }
            Format::Csv => {}
        }
    }
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &docs)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let rows: Vec<Vec<String>> = docs
                .iter()
                .map(|d| {
                    vec![
                        d.name.clone(),
                        d.kind.to_string(),
                        d.section.clone(),
                        d.syntax.clone(),
                        d.description.clone(),
                    ]
                })
                .collect();
            let batch = text_batch(&["name", "kind", "section", "syntax", "description"], &rows)?;
            output::write_batches(out, &batch.schema(), &[batch], format, None)?;
        }
        Format::Table | Format::Markdown => {
            let rows: Vec<Vec<String>> = docs
                .iter()
                .map(|d| {
                    vec![
                        d.name.clone(),
                        d.kind.to_string(),
                        d.syntax.clone(),
                        summary_line(&d.description),
                    ]
                })
                .collect();
            let header = ["name", "kind", "syntax", "summary"];
            if format == Format::Table {
                print_table(out, &header, &[], &rows)?;
                writeln!(
                    out,
                    "`cypdash functions NAME` documents one function in full."
                )?;
            } else {
                markdown_table(out, &header, &rows)?;
            }
        }
    }
    Ok(())
}

async fn summary(engine: &Engine, format: Format, out: &mut dyn Write) -> Result<()> {
    use datafusion::arrow::array::UInt64Array;
    let mut names = Vec::new();
    let mut kinds = Vec::new();
    let mut sources = Vec::new();
    let mut rows = Vec::new();
    for t in engine.inputs() {
        let n = engine
            .sql(&format!("SELECT count(*) FROM {}", t.name))
            .await?;
        let count = n
            .first()
            .map(|b| {
                datafusion::arrow::array::AsArray::as_primitive::<
                    datafusion::arrow::datatypes::Int64Type,
                >(b.column(0))
                .value(0)
            })
            .unwrap_or(0);
        names.push(t.name.to_string());
        kinds.push(format!("input ({})", t.source.kind()));
        sources.push(t.source.path().display().to_string());
        rows.push(count as u64);
    }
    for r in engine.references() {
        names.push(r.name.to_string());
        kinds.push("reference".to_string());
        sources.push(match &r.origin {
            crate::reference::ReferenceOrigin::Shipped => "shipped".to_string(),
            crate::reference::ReferenceOrigin::Override(p) => p.display().to_string(),
        });
        rows.push(r.rows as u64);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("rows", DataType::UInt64, false),
        Field::new("source", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(kinds)),
            Arc::new(UInt64Array::from(rows)),
            Arc::new(StringArray::from(sources)),
        ],
    )?;
    output::write_batches(out, &schema, &[batch], format, None)?;
    Ok(())
}

fn generate(global: &GlobalArgs, args: &GenerateArgs, out: &mut dyn Write) -> Result<ExitStatus> {
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
    let summary = crate::generate::generate(&options, &mut |done| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    })
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
    let findings = match Engine::open(config).await {
        Ok(engine) => validate::quality_findings(&engine).await?,
        Err(EngineError::Contract { problems, .. }) => validate::contract_findings(&problems),
        Err(e) => return Err(e.into()),
    };
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &findings)?;
            writeln!(out)?;
        }
        _ => {
            if findings.is_empty() {
                writeln!(out, "no problems found")?;
            } else {
                let batch = validate::findings_batch(&findings)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("512MiB"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_size("1500"), Ok(1500));
        assert!(parse_size("2 parsecs").is_err());
    }

    #[test]
    fn summaries_keep_the_first_sentence() {
        assert_eq!(summary_line("One thing. Then\n  another."), "One thing.");
        assert_eq!(summary_line("No full stop"), "No full stop");
        let long = "word ".repeat(40);
        let cut = summary_line(&long);
        assert!(
            cut.ends_with("word…") && cut.chars().count() <= 100,
            "{cut}"
        );
    }

    #[test]
    fn error_chains_leave_out_repeated_causes() {
        let inner = anyhow::anyhow!("table x not found");
        let e = inner
            .context("Error during planning: table x not found")
            .context("chart `c` failed");
        assert_eq!(
            error_chain(&e),
            "chart `c` failed: Error during planning: table x not found"
        );
    }
}
