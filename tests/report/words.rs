//! The report speaks its readers' language (issue 14): no parameter,
//! column or metric identifier (`period_end`, `idle_days`, `ref_gender`,
//! `paired_any`) appears in any text a reader sees or hears, on screen,
//! printed or through a screen reader. `describe` and `list` keep the
//! identifiers for the people who write queries (the CLI snapshots).

use super::checks::{has_class, parse};
use super::fixture::{demo, sixty_teams};
use cypdash::catalog::Catalog;
use roxmltree::Node;
use std::collections::{BTreeMap, BTreeSet};

/// Lower-case letters and digits joined by at least one underscore.
fn snake_case(word: &str) -> bool {
    word.contains('_')
        && word.chars().any(|c| c.is_ascii_lowercase())
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The names the catalogue declares: every chart's parameters and output
/// columns, and every metric code.
fn declared(catalog: &Catalog) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for chart in catalog.charts() {
        names.extend(chart.header.params.iter().map(|p| p.name.clone()));
        names.extend(chart.header.columns.iter().map(|c| c.name.clone()));
        names.extend(chart.header.metrics.iter().map(|m| m.code.clone()));
    }
    names
}

/// A declared name that prose cannot use: one with an underscore or a
/// digit (`min_n`, `tau2`), not a plain word such as `value` or `n`.
fn identifier_like(name: &str) -> bool {
    snake_case(name)
        || (name.chars().any(|c| c.is_ascii_digit())
            && name.chars().any(|c| c.is_ascii_alphabetic()))
}

/// Where a node is: its element and class, inside which chart.
fn place(node: &Node) -> String {
    let element = node
        .ancestors()
        .find(|a| a.is_element())
        .map(|e| {
            format!(
                "<{}{}>",
                e.tag_name().name(),
                e.attribute("class")
                    .map(|c| format!(" class={c}"))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let chart = node
        .ancestors()
        .find_map(|a| a.attribute("data-chart"))
        .unwrap_or("cover");
    format!("{chart} {element}")
}

/// Every text of the page a reader meets: the text of every element but
/// the styles, and the tooltips and accessible names (`title`,
/// `aria-label`).
fn reader_texts<'a, 'input>(
    doc: &'a roxmltree::Document<'input>,
) -> Vec<(Node<'a, 'input>, String)> {
    let mut out = Vec::new();
    for node in doc.descendants() {
        if node.is_text() {
            let styled = node.ancestors().any(|a| a.has_tag_name("style"));
            if !styled {
                out.push((node, node.text().unwrap_or("").to_string()));
            }
        } else if node.is_element() {
            for attr in ["title", "aria-label"] {
                if let Some(v) = node.attribute(attr) {
                    out.push((node, v.to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn reader_facing_text_names_no_identifier_issue_14() {
    let catalog = Catalog::embedded().unwrap();
    let declared = declared(&catalog);
    assert!(declared.contains("period_end") && declared.contains("idle_days"));
    for (report, rendered) in [("demo", demo()), ("team-level", sixty_teams())] {
        let doc = parse(&rendered.html);
        // identifier -> (times seen, first place).
        let mut found: BTreeMap<String, (usize, String)> = BTreeMap::new();
        let mut seen = |word: &str, node: &Node| {
            let e = found
                .entry(word.to_string())
                .or_insert_with(|| (0, place(node)));
            e.0 += 1;
        };
        for (node, text) in reader_texts(&doc) {
            for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if snake_case(word) || (identifier_like(word) && declared.contains(word)) {
                    seen(word, &node);
                }
            }
        }
        // A data table heads its columns in words, never by a bare
        // column name (`pct`, `value`; `n` is how statistics writes it).
        for th in doc
            .descendants()
            .filter(|n| n.has_tag_name("th") && n.ancestors().any(|a| has_class(&a, "data-table")))
        {
            let text: String = th
                .descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect();
            let text = text.trim();
            if text != "n" && declared.contains(text) {
                seen(text, &th);
            }
        }
        let list: Vec<String> = found
            .iter()
            .map(|(w, (n, at))| format!("{w} ({n}x, first in {at})"))
            .collect();
        assert!(
            list.is_empty(),
            "the {report} report shows {} identifiers to its readers:\n{}",
            list.len(),
            list.join("\n")
        );
        // The words stand where the identifiers stood: a settings line in
        // words, and the reader summary under each chart's title.
        let settings = doc
            .descendants()
            .find(|n| has_class(n, "params"))
            .and_then(|n| n.text())
            .unwrap_or("");
        assert!(settings.starts_with("Settings: Period "), "{settings}");
        let idle = doc
            .descendants()
            .find(|n| n.attribute("data-chart") == Some("data_quality/idle_cases"))
            .and_then(|s| s.descendants().find(|n| has_class(n, "description")))
            .and_then(|n| n.text())
            .unwrap_or("");
        assert!(idle.contains("more than 90 days"), "{idle}");
    }
}

/// A test of the test: it would catch what the report showed before.
#[test]
fn identifier_words_are_told_from_prose() {
    for w in [
        "period_end",
        "idle_days",
        "ref_gender",
        "paired_any",
        "lower_998",
    ] {
        assert!(snake_case(w), "{w}");
    }
    for w in ["value", "n", "T1", "MHS110", "9-11", "Partnership", "don't"] {
        assert!(!snake_case(w), "{w}");
    }
    assert!(identifier_like("tau2") && !identifier_like("value") && !identifier_like("12"));
}
