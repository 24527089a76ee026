//! The command line: clap arguments, parsed, then checked, then run.

use crate::engine::{Engine, EngineConfig, EngineError};
use crate::output::{self, Format};
use crate::validate;
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The CYP IAPT partnership dashboard as SQL on Apache DataFusion.
#[derive(Debug, Parser)]
#[command(name = "cypdash", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Data directory holding the input tables (default: the bundled demo data).
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Memory limit for query execution, e.g. 512MiB, 2GiB (default: none).
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<usize>,
    /// Directory for spill files when the memory limit is reached.
    #[arg(long, global = true, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// Print nothing but results and errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job: run the dashboard over the data (the default command).
    /// For now it loads the data and prints a summary of its tables.
    Dashboard,
    /// Write deterministic synthetic data that meets the input contract.
    Generate(GenerateArgs),
    /// Check the data against the contract and for quality problems.
    Validate {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// List the registered tables (input and reference) with their row counts.
    Tables {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Run SQL over the data.
    Sql(SqlArgs),
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

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The SQL to run (or use --file).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub sql: Option<String>,
    /// Read the SQL from a file.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Print at most this many rows in table and markdown formats.
    #[arg(long, default_value_t = 40)]
    pub maxrows: usize,
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
        other => return Err(format!("unknown size unit `{other}` in `{s}`: use KiB, MiB or GiB")),
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
}

/// What a run ended with: the process exit code.
pub type ExitStatus = u8;

/// Run a parsed command line, writing results to `out`.
pub async fn run(cli: Cli, out: &mut dyn Write) -> Result<ExitStatus> {
    let global = &cli.global;
    match cli.command.unwrap_or(Command::Dashboard) {
        Command::Generate(args) => generate(global, &args, out),
        Command::Validate { format } => run_validate(global, format, out).await,
        Command::Dashboard => {
            let engine = open(global).await?;
            summary(&engine, Format::Table, out).await?;
            Ok(0)
        }
        Command::Tables { format } => {
            let engine = open(global).await?;
            summary(&engine, format, out).await?;
            Ok(0)
        }
        Command::Sql(args) => {
            let sql = match (&args.sql, &args.file) {
                (Some(sql), _) => sql.clone(),
                (None, Some(file)) => std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read SQL file {}", file.display()))?,
                (None, None) => bail!("give the SQL to run, or --file"),
            };
            let engine = open(global).await?;
            run_sql(&engine, &sql, args.format, Some(args.maxrows), out).await?;
            Ok(0)
        }
    }
}

async fn open(global: &GlobalArgs) -> Result<Engine> {
    let config = global.engine_config();
    let dir = config.data_dir.clone();
    Engine::open(config)
        .await
        .with_context(|| format!("cannot open the data in {}", dir.display()))
}

/// Run every statement of `sql` in order, printing the result of each query.
pub async fn run_sql(engine: &Engine, sql: &str, format: Format, maxrows: Option<usize>, out: &mut dyn Write) -> Result<()> {
    let df = engine.ctx().sql(sql).await?;
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    output::write_batches(out, &schema, &batches, format, maxrows)?;
    Ok(())
}

async fn summary(engine: &Engine, format: Format, out: &mut dyn Write) -> Result<()> {
    use datafusion::arrow::array::{RecordBatch, StringArray, UInt64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let mut names = Vec::new();
    let mut kinds = Vec::new();
    let mut sources = Vec::new();
    let mut rows = Vec::new();
    for t in engine.inputs() {
        let n = engine.sql(&format!("SELECT count(*) FROM {}", t.name)).await?;
        let count = n
            .first()
            .map(|b| {
                datafusion::arrow::array::AsArray::as_primitive::<datafusion::arrow::datatypes::Int64Type>(b.column(0)).value(0)
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
    let schema = std::sync::Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("rows", DataType::UInt64, false),
        Field::new("source", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            std::sync::Arc::new(StringArray::from(names)),
            std::sync::Arc::new(StringArray::from(kinds)),
            std::sync::Arc::new(UInt64Array::from(rows)),
            std::sync::Arc::new(StringArray::from(sources)),
        ],
    )?;
    output::write_batches(out, &schema, &[batch], format, None)?;
    Ok(())
}

fn generate(global: &GlobalArgs, args: &GenerateArgs, out: &mut dyn Write) -> Result<ExitStatus> {
    use std::io::IsTerminal;
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
    let bar = (!global.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(args.referrals);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "generating {bar:40} {pos}/{len} referrals ({eta} left)",
            )
            .expect("valid template"),
        );
        bar
    });
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

async fn run_validate(global: &GlobalArgs, format: Format, out: &mut dyn Write) -> Result<ExitStatus> {
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
    Ok(if validate::has_errors(&findings) { 1 } else { 0 })
}
