//! Printing results: tables (comfy-table), CSV, JSON and Markdown, always to
//! an `impl Write` chosen by the caller.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use std::io::Write;

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

#[cfg(test)]
mod tests {
    use super::*;

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
