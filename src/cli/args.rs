//! The command line's arguments (clap): global options, one subcommand
//! each, and the small parsers they use. Dispatch is in [`super::run`].

use crate::catalog::Catalog;
use crate::docs::DocFormat;
use crate::engine::EngineConfig;
use crate::export::ExportFormat;
use crate::output::Format;
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};

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
    /// Directory for spill files and for the shared blocks kept on disk,
    /// in a folder of each run's own, removed when it ends (default: the
    /// system temporary directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// A shared block (a session table such as outcome_pair) that holds more
    /// than SIZE in memory is kept as Parquet in the spill directory for
    /// the session instead; 0 keeps every block there. Under
    /// --memory-limit every block is.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size, default_value = "64MiB")]
    pub block_memory: usize,
    /// Without --memory-limit: the memory that query operators able to
    /// spill (sorts, aggregates) share before spilling to the spill
    /// directory; 0 lets them hold all they need. Not a limit: a join
    /// still takes what it needs.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size, default_value = "1GiB")]
    pub operator_memory: usize,
    /// Print nothing but results and errors (no summaries, no progress).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Disclosure control applied to every chart result: `corc` (small
    /// numbers below min_n withheld, with secondary suppression), `mhsds`
    /// (NHS England's publication rule: below 5 withheld, counts rounded to
    /// 5) or `none` (nothing withheld: for your own analysis only).
    #[arg(long, global = true, value_name = "POLICY", default_value = "corc")]
    pub sdc: crate::disclosure::Policy,
    /// Shape of the data directory: `contract` (cypdash's tables,
    /// docs/data-contract.md), `mhsds` (an MHSDS extract, docs/mhsds.md) or
    /// `auto` (MHSDS when it holds MHS101Referral and no referral table).
    #[arg(long, global = true, value_name = "SHAPE", default_value = "auto")]
    pub input: crate::engine::mhsds::InputShape,
    /// Keep the shared blocks as Parquet in DIR (the block cache) instead of
    /// in memory: each is computed once per input data, query text and
    /// parameter values, and read back on later runs (docs/block-cache.md).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Send every query to the Apache Ballista scheduler at URL
    /// (df://HOST:PORT), whose executors run it (docs/cluster.md). Needs
    /// --cache on a folder every executor can read, and the data on a path
    /// they all see.
    #[cfg(feature = "cluster")]
    #[arg(long, global = true, value_name = "URL")]
    pub cluster: Option<crate::cluster::SchedulerAddr>,
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
    /// Serve the data, the shared blocks and every chart over the PostgreSQL
    /// wire protocol, for BI tools (Power BI, Excel, Tableau, psql, Python)
    /// and ODBC (docs/serve.md).
    ///
    /// Read-only; localhost unless --host says otherwise (then only with a
    /// password); each chart is a view in schema `charts`, and the table
    /// function chart('who/gender', 'min_n', '10', ...) runs one with other values.
    Serve(crate::serve::ServeArgs),
    /// Write deterministic synthetic data that meets the input contract.
    Generate(GenerateArgs),
    /// Time the dashboard's steps on the data, beside the scan floor (every
    /// column the dashboard reads, read once), in one process.
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
    /// List or clear the block cache given by --cache (docs/block-cache.md).
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Run one process of an Apache Ballista cluster (a scheduler or an
    /// executor) that knows the cypdash functions (docs/cluster.md).
    #[cfg(feature = "cluster")]
    Cluster {
        #[command(subcommand)]
        role: ClusterRole,
    },
    /// Check the data against the contract and for quality problems (exit
    /// code 1 when the contract does not hold).
    Validate {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Write a copy of the data directory (--data) with every table sorted
    /// by its key, the order declared in the Parquet files, so that the
    /// dashboard aggregates in order (docs/data-contract.md).
    Sort(super::sort::SortArgs),
}

/// Which process `cypdash cluster` runs.
#[cfg(feature = "cluster")]
#[derive(Debug, Subcommand)]
pub enum ClusterRole {
    /// The scheduler: plans the queries clients send (`--cluster`) and
    /// hands their tasks to the executors.
    Scheduler {
        /// Address to listen on (0.0.0.0:50050 to accept other machines).
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
        bind: std::net::SocketAddr,
        /// Seconds without a heartbeat (executors send one every 5) after
        /// which an executor is taken for lost and its tasks rerun elsewhere.
        #[arg(long, value_name = "SECONDS", default_value_t = 20)]
        executor_timeout: u64,
    },
    /// An executor: registers with the scheduler and runs its tasks.
    Executor {
        /// The scheduler to register with.
        #[arg(long, value_name = "URL", default_value = "df://localhost:50050")]
        scheduler: crate::cluster::SchedulerAddr,
        /// Host to listen on and to give the scheduler as this executor's.
        #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
        host: String,
        /// Port of the Arrow Flight service (other executors and the
        /// client fetch results from it).
        #[arg(long, value_name = "PORT", default_value_t = 50051)]
        port: u16,
        /// Port of the gRPC service (the scheduler sends tasks to it).
        #[arg(long, value_name = "PORT", default_value_t = 50052)]
        grpc_port: u16,
        /// Folder for this executor's shuffle files (default: a new
        /// temporary folder).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
        /// Tasks run at once (default: the number of CPU cores).
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
    },
}

/// What `cypdash cache` does.
#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// The entries: block, key, files, size, whether complete.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Remove every entry (the cache folder's `v1/`; nothing else in it).
    Clear,
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
    /// Export the charts of one dashboard section: a folder of the query
    /// files (`cypdash list` shows them by section).
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
    /// `contract` (cypdash's tables) or `mhsds` (the same cases as an MHSDS
    /// extract: coded scale scores, a referral record per month it is open;
    /// docs/mhsds.md).
    #[arg(long, value_name = "SHAPE", value_enum, default_value = "contract")]
    pub format: crate::generate::GenerateFormat,
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
            ));
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
        config.block_memory = self.block_memory;
        config.operator_memory = self.operator_memory;
        config.input = self.input;
        #[cfg(feature = "cluster")]
        {
            config.cluster = self.cluster.clone();
        }
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
    pub(super) fn progress(&self, len: u64, template: &str) -> Option<indicatif::ProgressBar> {
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

    /// `--block-memory` and `--operator-memory` default, as the help shows
    /// them, to the engine's.
    #[test]
    fn size_defaults_are_the_engines() {
        let cli = Cli::try_parse_from(["cypdash", "list"]).unwrap();
        assert_eq!(cli.global.block_memory, crate::engine::DEFAULT_BLOCK_MEMORY);
        assert_eq!(
            cli.global.operator_memory,
            crate::engine::DEFAULT_OPERATOR_MEMORY
        );
    }
}
