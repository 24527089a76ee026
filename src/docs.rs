//! Catalogue documentation output: `list` (the charts by section),
//! `describe` (a chart's header), `functions` (the cypdash SQL functions)
//! and `tables` (the registered tables), for the command line and the REPL.

use crate::catalog::{Catalog, QueryFile};
use crate::engine::Engine;
use crate::output::{self, markdown_table, print_table, text_batch, Format};
use anyhow::{bail, Result};
use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use std::io::Write;
use std::sync::Arc;

/// Formats for documentation output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DocFormat {
    Table,
    Markdown,
    Json,
}

/// `list`: the charts by section.
pub fn list(catalog: &Catalog, format: Format, out: &mut dyn Write) -> Result<()> {
    let section_title = |s: &str| catalog.section(s).map_or("", |s| s.title.as_str());
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

/// `tables`: the input and reference tables with their row counts.
pub async fn tables(engine: &Engine, format: Format, out: &mut dyn Write) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
