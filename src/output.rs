//! Printing results: tables (comfy-table), CSV, JSON and Markdown, always to
//! an `impl Write` chosen by the caller.

use crate::dashboard::Resolved;
use crate::export::param_json;
use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Float32Type, Float64Type, Schema, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use std::io::Write;
use std::sync::Arc;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Table,
    Csv,
    Json,
    Markdown,
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}

/// Significant digits of a float in `table` format (CSV, JSON, Markdown
/// and the exports keep full precision).
pub const TABLE_FLOAT_DIGITS: usize = 4;

/// A float for reading: `TABLE_FLOAT_DIGITS` significant digits (all the
/// digits before the decimal point), trailing zeros dropped: 17.93456789
/// reads 17.93, 0.000123456 reads 0.0001235, 12345.678 reads 12346.
pub fn short_float(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (TABLE_FLOAT_DIGITS as i32 - 1 - magnitude).max(0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// Format every cell of `batches` as text (NULL as empty string); with
/// `short`, floats to [`TABLE_FLOAT_DIGITS`] significant digits.
fn cells(
    batches: &[RecordBatch],
    max_rows: Option<usize>,
    short: bool,
) -> Result<Vec<Vec<String>>, OutputError> {
    let options = FormatOptions::default().with_null("");
    let mut rows = Vec::new();
    'outer: for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for r in 0..batch.num_rows() {
            if max_rows.is_some_and(|m| rows.len() >= m) {
                break 'outer;
            }
            rows.push(
                formatters
                    .iter()
                    .zip(batch.columns())
                    .map(|(f, c)| match c.data_type() {
                        DataType::Float64 | DataType::Float32 if short && c.is_valid(r) => {
                            let v = match c.data_type() {
                                DataType::Float64 => c.as_primitive::<Float64Type>().value(r),
                                _ => f64::from(c.as_primitive::<Float32Type>().value(r)),
                            };
                            short_float(v)
                        }
                        _ => f.value(r).to_string(),
                    })
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// Write `batches` (with `schema`, so an empty result still shows its
/// columns) in `format`. `max_rows` caps printed rows for the table and
/// markdown formats; a footer reports the row count in table format.
pub fn write_batches(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: Format,
    max_rows: Option<usize>,
) -> Result<(), OutputError> {
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    match format {
        Format::Table => {
            let rows = cells(batches, max_rows, true)?;
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            table.set_header(names.clone());
            for (i, f) in schema.fields().iter().enumerate() {
                if f.data_type().is_numeric() {
                    if let Some(c) = table.column_mut(i) {
                        c.set_cell_alignment(comfy_table::CellAlignment::Right);
                    }
                }
            }
            for row in &rows {
                table.add_row(row.clone());
            }
            writeln!(out, "{table}")?;
            if rows.len() < total {
                writeln!(out, "{total} rows ({} shown; see --maxrows)", rows.len())?;
            } else {
                writeln!(out, "{total} row{}", if total == 1 { "" } else { "s" })?;
            }
        }
        Format::Markdown => {
            let rows = cells(batches, max_rows, false)?;
            writeln!(out, "| {} |", names.join(" | "))?;
            writeln!(
                out,
                "|{}|",
                names.iter().map(|_| "---").collect::<Vec<_>>().join("|")
            )?;
            for row in rows {
                let escaped: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
                writeln!(out, "| {} |", escaped.join(" | "))?;
            }
        }
        Format::Csv => {
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            if batches.is_empty() {
                w.write(&RecordBatch::new_empty(schema.clone()))?;
            }
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = datafusion::arrow::json::ArrayWriter::new(&mut *out);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            w.write_batches(&refs)?;
            w.finish()?;
            if total == 0 {
                write!(out, "[]")?;
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Number of rows in `batches`.
pub fn row_count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
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

/// A closed pipe (`cypdash ... | head`) is not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A duration for people: `12 ms`, `3.4 s`.
pub fn format_elapsed(d: std::time::Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// `params: name=value, ...` for the values a chart ran with.
pub fn params_line(resolved: &Resolved) -> String {
    let parts: Vec<String> = resolved
        .values
        .iter()
        .map(|(k, v)| {
            let text = match param_json(v) {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            format!("{k}={text}")
        })
        .collect();
    if parts.is_empty() {
        "params: none".to_string()
    } else {
        format!("params: {}", parts.join(", "))
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

/// Print rows as a Markdown table (`|` and line breaks in cells escaped).
pub fn markdown_table(
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
pub fn text_batch(
    names: &[&str],
    rows: &[Vec<String>],
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
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
    RecordBatch::try_new(schema, columns)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Issue 14: `run who/severity_sdq` printed floats to 17 digits.
    #[test]
    fn table_floats_have_four_significant_digits() {
        assert_eq!(short_float(17.934567891234), "17.93");
        assert_eq!(short_float(0.000123456), "0.0001235");
        assert_eq!(short_float(12345.678), "12346");
        assert_eq!(short_float(0.5), "0.5");
        assert_eq!(short_float(-2.0), "-2");
        assert_eq!(short_float(0.0), "0");
        assert_eq!(short_float(f64::NAN), "NaN");
    }
}
