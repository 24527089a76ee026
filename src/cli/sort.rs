//! `cypdash sort`: the command line of [`crate::sort`].

use super::{ExitStatus, GlobalArgs};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct SortArgs {
    /// The directory to write: absent or empty (it is written whole or not
    /// at all).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub(super) async fn run(
    global: &GlobalArgs,
    args: &SortArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus> {
    let started = std::time::Instant::now();
    let tables = crate::sort::sort_data_dir(global.engine_config(), &args.out).await?;
    if !global.quiet {
        for t in &tables {
            writeln!(
                out,
                "{:<20} {:>12} rows in {} file(s), sorted by {}",
                t.table, t.rows, t.files, t.order
            )?;
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
