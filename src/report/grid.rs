//! The benchmark: one row per partnership, grouped under its
//! collaborative, one column per headline measure. Each cell gives the
//! value with ▲ / ▼ marks for its position on the collaborative's funnel,
//! coloured by better or worse where the measure has a better direction
//! and in greys where it has none.
//!
//! It is an HTML table, not a drawing: names wrap, the header repeats on
//! every printed page, and screen readers and keyboards move through it
//! as through any table.

use super::frame::Row;
use super::svg::{data_num, el, Writer};
use super::{Format, Ran, Units};

pub(crate) use crate::catalog::meta::Better;

/// What a cell's position means for the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Better,
    Worse,
    /// Beyond a limit on a measure without a better direction.
    Unusual,
    Inside,
    Withheld,
}

impl Verdict {
    fn of(position: Option<&str>, better: Option<Better>) -> Self {
        let up = match position {
            Some("above_998" | "above_95") => true,
            Some("below_998" | "below_95") => false,
            Some(_) => return Verdict::Inside,
            None => return Verdict::Withheld,
        };
        match better {
            Some(Better::Higher) if up => Verdict::Better,
            Some(Better::Lower) if !up => Verdict::Better,
            Some(_) => Verdict::Worse,
            None => Verdict::Unusual,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::Unusual => "unusual",
            Verdict::Inside => "inside",
            Verdict::Withheld => "withheld",
        }
    }
}

/// The fill of a cell: darker beyond the outer limits. Text is black on
/// every fill but the dark blue (contrast 4.5:1 or more; tested).
pub(crate) fn cell_fill(verdict: Verdict, outer: bool) -> (&'static str, &'static str) {
    match (verdict, outer) {
        (Verdict::Better, true) => ("#0072B2", "#ffffff"),
        (Verdict::Better, false) => ("#9fd3f2", "#000000"),
        (Verdict::Worse, true) => ("#D55E00", "#000000"),
        (Verdict::Worse, false) => ("#f3c27a", "#000000"),
        (Verdict::Unusual, true) => ("#a6a6a6", "#000000"),
        (Verdict::Unusual, false) => ("#d9d9d9", "#000000"),
        (Verdict::Inside, _) => ("#ffffff", "#000000"),
        (Verdict::Withheld, _) => ("#ffffff", "#4d4d4d"),
    }
}

/// The marks of a position (they carry it without colour).
fn marks(position: Option<&str>) -> &'static str {
    match position {
        Some("above_998") => "▲▲",
        Some("above_95") => "▲",
        Some("below_95") => "▼",
        Some("below_998") => "▼▼",
        _ => "",
    }
}

/// A unit for a column head, from the source chart's declared unit:
/// `score (0-40)` reads "score 0-40", a proportion "%".
fn unit_text(unit: Option<&str>) -> Option<String> {
    let u = unit?;
    if u.starts_with("proportion") || u.starts_with("percent") {
        Some("%".to_string())
    } else {
        Some(u.replace(['(', ')'], ""))
    }
}

pub(crate) fn benchmark_chart(chart: &Ran, all: &[Ran], units: &Units, id: &str) -> String {
    // Columns: (chart, metric) in first-seen order.
    let mut columns: Vec<(String, String)> = Vec::new();
    for r in chart.frame.iter() {
        let key = (
            r.str("chart").unwrap_or("").to_string(),
            r.str("metric").unwrap_or("").to_string(),
        );
        if !columns.contains(&key) {
            columns.push(key);
        }
    }
    let source = |chart_id: &str| all.iter().find(|c| c.file.id == chart_id);
    let format_of = |chart_id: &str| {
        source(chart_id)
            .map(|c| Format::of_unit(c.unit_of("value")))
            .unwrap_or(Format::Decimals(2))
    };
    let cell_of = |row: &Row, (chart_id, metric): &(String, String)| {
        chart.frame.iter().find(|r| {
            r.i64("partnership_id") == row.i64("partnership_id")
                && r.str("chart") == Some(chart_id.as_str())
                && r.str("metric") == Some(metric.as_str())
        })
    };

    // Partnerships grouped by collaborative (alphabetical), by number inside.
    let mut partnerships: Vec<Row> = Vec::new();
    for r in chart.frame.iter() {
        if !partnerships
            .iter()
            .any(|p| p.i64("partnership_id") == r.i64("partnership_id"))
        {
            partnerships.push(r);
        }
    }
    partnerships.sort_by(|a, b| {
        (a.str("collaborative"), a.i64("partnership_id"))
            .cmp(&(b.str("collaborative"), b.i64("partnership_id")))
    });
    let mut collaboratives: Vec<Option<&str>> = partnerships
        .iter()
        .map(|p| p.str("collaborative"))
        .collect();
    collaboratives.dedup();

    let mut w = Writer::new();
    // Legend: what the colours and marks mean.
    w.open(
        el("ul")
            .a("class", "bench-legend")
            .a("aria-label", "How to read the benchmark"),
    );
    for (verdict, outer, text) in [
        (
            Verdict::Better,
            true,
            "better, beyond the outer (99.8%) limit",
        ),
        (
            Verdict::Better,
            false,
            "better, beyond the inner (95%) limit",
        ),
        (Verdict::Worse, false, "worse, beyond the inner limit"),
        (Verdict::Worse, true, "worse, beyond the outer limit"),
        (
            Verdict::Unusual,
            false,
            "beyond a limit, on a measure where neither way is better",
        ),
        (Verdict::Inside, false, "inside the limits"),
    ] {
        let (fill, ink) = cell_fill(verdict, outer);
        w.open(el("li"));
        w.text(
            el("span")
                .a("class", "swatch")
                .a("style", format!("background:{fill};color:{ink}")),
            match (verdict, outer) {
                (Verdict::Inside, _) => "–",
                (_, true) => "▲▲",
                _ => "▲",
            },
        );
        w.content(&format!(" {text}"));
        w.close();
    }
    w.close();
    w.text(
        el("p").a("class", "note-text"),
        "▲ above, ▼ below the collaborative's funnel limits for the partnership's size; ▲▲ / ▼▼ beyond the outer limits. Each partnership is compared with its own collaborative, whose value heads its group; the national value covers every partnership in the data.",
    );

    w.open(
        el("div")
            .a("class", "table-wrap bench-wrap")
            .a("role", "region")
            .a("aria-labelledby", format!("{id}-caption"))
            .a("tabindex", "0"),
    );
    w.open(
        el("table")
            .a("class", "benchmark")
            .a("id", id)
            .a("data-chart", &chart.file.id),
    );
    w.text(
        el("caption").a("id", format!("{id}-caption")),
        &format!(
            "Benchmarking: {} partnerships by {} headline measures, with each collaborative's and the national value",
            partnerships.len(),
            columns.len()
        ),
    );
    w.open(el("thead")).open(el("tr"));
    w.text(
        el("th").a("scope", "col").a("class", "unit-head"),
        "Partnership",
    );
    for (chart_id, metric) in &columns {
        let head = chart.metric_label(metric);
        let unit = source(chart_id).and_then(|c| unit_text(c.unit_of("value")));
        w.open(
            el("th")
                .a("scope", "col")
                .a("data-chart", chart_id)
                .a("data-metric", metric),
        );
        w.text(el("span").a("class", "metric"), &head);
        if let Some(u) = unit {
            w.text(el("span").a("class", "unit"), &u);
        }
        w.text(
            el("span").a("class", "direction"),
            match chart.metric(metric).and_then(|m| m.better) {
                Some(Better::Higher) => "higher is better",
                Some(Better::Lower) => "lower is better",
                None => "no better direction",
            },
        );
        w.close();
    }
    w.close().close();
    w.open(el("tbody"));
    // The national row.
    w.open(el("tr").a("class", "reference national"));
    w.text(
        el("th").a("scope", "row"),
        "National (every partnership in the data)",
    );
    for (chart_id, metric) in &columns {
        let value = chart
            .frame
            .iter()
            .find(|r| {
                r.str("chart") == Some(chart_id.as_str())
                    && r.str("metric") == Some(metric.as_str())
            })
            .and_then(|r| r.f64("national_value"));
        w.text(
            el("td")
                .a("data-chart", chart_id)
                .a("data-metric", metric)
                .a("data-value", value.map(data_num).unwrap_or_default()),
            &value
                .map(|v| format_of(chart_id).text(v))
                .unwrap_or_else(|| "none".to_string()),
        );
    }
    w.close();
    for collaborative in &collaboratives {
        let members: Vec<&Row> = partnerships
            .iter()
            .filter(|p| p.str("collaborative") == *collaborative)
            .collect();
        let name = collaborative.unwrap_or("no collaborative");
        w.open(
            el("tr")
                .a("class", "reference collaborative")
                .a("data-collaborative", name),
        );
        w.text(
            el("th").a("scope", "row"),
            &format!("Collaborative: {name}"),
        );
        for col in &columns {
            let value = members
                .iter()
                .find_map(|p| cell_of(p, col).and_then(|r| r.f64("collaborative_value")));
            w.text(
                el("td")
                    .a("data-chart", &col.0)
                    .a("data-metric", &col.1)
                    .a("data-value", value.map(data_num).unwrap_or_default()),
                &value
                    .map(|v| format_of(&col.0).text(v))
                    .unwrap_or_else(|| "none".to_string()),
            );
        }
        w.close();
        for p in members {
            let hl = units.is_highlight(p);
            w.open(
                el("tr")
                    .a_opt("class", hl.then_some("highlight"))
                    .a("data-unit", units.label(p)),
            );
            let name = match (p.i64("partnership_id"), p.str("partnership_name")) {
                (Some(id), Some(name)) => format!("{id} {name}"),
                (Some(id), None) => id.to_string(),
                _ => String::new(),
            };
            w.text(el("th").a("scope", "row"), &name);
            for col in &columns {
                let Some(r) = cell_of(p, col) else {
                    w.text(el("td").a("class", "empty"), "");
                    continue;
                };
                let fmt = format_of(&col.0);
                let position = r.str("position");
                let value = r.f64("value");
                let verdict = if value.is_none() {
                    Verdict::Withheld
                } else {
                    Verdict::of(position, chart.metric(&col.1).and_then(|m| m.better))
                };
                let outer = matches!(position, Some("above_998" | "below_998"));
                let (fill, ink) = cell_fill(verdict, outer);
                let n = r.i64("n");
                let tip = match value {
                    Some(v) => format!(
                        "{}, {}: {} ({}); collaborative {}; {}",
                        units.long_label(&r),
                        chart.metric_label(&col.1),
                        fmt.text(v),
                        super::n_text(n),
                        r.f64("collaborative_value")
                            .map(|c| fmt.text(c))
                            .unwrap_or_else(|| "none".to_string()),
                        position
                            .and_then(super::funnel::position_phrase)
                            .unwrap_or("position unknown")
                    ),
                    None => format!("{}: {}", units.long_label(&r), super::withheld_text(n)),
                };
                w.open(
                    el("td")
                        .a("class", format!("cell {}", verdict.as_str()))
                        .a("style", format!("background:{fill};color:{ink}"))
                        .a("title", &tip)
                        .a("data-unit", units.label(&r))
                        .a("data-chart", &col.0)
                        .a("data-metric", &col.1)
                        .a("data-value", value.map(data_num).unwrap_or_default())
                        .a_opt("data-n", n)
                        .a("data-position", position.unwrap_or(""))
                        .a("data-verdict", verdict.as_str()),
                );
                match value {
                    Some(v) => {
                        w.content(&fmt.text(v));
                        let m = marks(position);
                        if !m.is_empty() {
                            w.text(
                                el("span").a("class", "mark").a("aria-hidden", "true"),
                                &format!(" {m}"),
                            );
                        }
                        if verdict != Verdict::Inside {
                            w.text(
                                el("span").a("class", "sr-only"),
                                &format!(
                                    " ({}, {})",
                                    position
                                        .and_then(super::funnel::position_phrase)
                                        .unwrap_or(""),
                                    verdict.as_str()
                                ),
                            );
                        }
                    }
                    None => {
                        w.content("withheld");
                    }
                }
                w.close();
            }
            w.close();
        }
    }
    w.close().close().close();
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::svg::contrast;

    #[test]
    fn cells_are_coloured_by_better_or_worse_only_with_a_direction() {
        assert_eq!(
            Verdict::of(Some("above_998"), Some(Better::Lower)),
            Verdict::Worse
        );
        assert_eq!(
            Verdict::of(Some("below_95"), Some(Better::Lower)),
            Verdict::Better
        );
        assert_eq!(Verdict::of(Some("above_95"), None), Verdict::Unusual);
        assert_eq!(
            Verdict::of(Some("inside"), Some(Better::Higher)),
            Verdict::Inside
        );
        assert_eq!(Verdict::of(None, Some(Better::Higher)), Verdict::Withheld);
    }

    #[test]
    fn cell_text_has_aa_contrast() {
        for v in [
            Verdict::Better,
            Verdict::Worse,
            Verdict::Unusual,
            Verdict::Inside,
            Verdict::Withheld,
        ] {
            for outer in [true, false] {
                let (fill, ink) = cell_fill(v, outer);
                assert!(contrast(fill, ink) >= 4.5, "{ink} on {fill}");
            }
        }
    }

    #[test]
    fn units_read_from_chart_headers() {
        assert_eq!(
            unit_text(Some("score (0-40)")).as_deref(),
            Some("score 0-40")
        );
        assert_eq!(unit_text(Some("proportion (0-1)")).as_deref(), Some("%"));
        assert_eq!(unit_text(None), None);
    }
}
