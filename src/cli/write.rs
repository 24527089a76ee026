//! The commands that write files: `export` and `dashboard` (a directory
//! of exports, swapped in whole) and `report` (one HTML page).

use super::{open_dashboard, GlobalArgs};
use crate::catalog::params::{self, Binder};
use crate::catalog::{Catalog, QueryFile};
use crate::dashboard::Dashboard;
use crate::export::{self, ExportFormat, ExportRequest};
use crate::output::{format_elapsed, print_table};
use crate::report::{self, ReportOptions};
use anyhow::{anyhow, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Render the HTML report to `path` (written to a temporary name, then
/// renamed, so no half-written page is ever seen).
pub(super) async fn write_report(
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
pub(super) struct ExportJob<'a> {
    pub charts: Vec<String>,
    pub format: ExportFormat,
    pub out_dir: PathBuf,
    pub params: &'a [String],
    /// `dashboard`: the rendered dashboard, written beside the exports.
    pub page: Option<ReportOptions>,
}

/// Export the charts into `job.out_dir`, replacing it whole (see
/// [`export::directory`]). The rendered dashboard, if asked for, goes into
/// the same directory in the same swap, drawn from the same results when
/// every chart ran.
pub(super) async fn export_command(
    global: &GlobalArgs,
    catalog: Catalog,
    job: ExportJob<'_>,
    out: &mut dyn Write,
) -> Result<()> {
    let given = params::parse_args(job.params)?;
    let files: Vec<&QueryFile> = job
        .charts
        .iter()
        .map(|id| catalog.chart(id))
        .collect::<Result<_, _>>()?;
    if files.is_empty() {
        return Err(export::ExportError::NothingSelected.into());
    }
    // Each parameter goes to the charts that declare it.
    let per_chart = Binder::selection(files).bind(&given)?;
    let request = ExportRequest {
        charts: job.charts,
        params: per_chart.into_iter().map(|b| b.given).collect(),
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
        let data_dir = global.data.clone().unwrap_or_else(super::default_data_dir);
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
