//! Change from T1 to T2: one panel per scale, one row per unit, a hollow
//! dot at the mean T1 score joined to a filled dot at the mean T2 score.

use super::bars::{page_id, page_title, MAX_ROWS, TABLE_ROWS};
use super::frame::Row;
use super::funnel::tick_labels;
use super::svg::{chunks, data_num, el, nice_ticks, num, Scale, Writer};
use super::{Format, Ran, Units};

/// Width of every change drawing (the panels share it).
const WIDTH: f64 = 860.0;
const LABEL_W: f64 = 40.0;
const ROW_H: f64 = 15.0;
const COLUMNS: usize = 3;

/// Scales in chart order: (scale code, label).
fn scales(chart: &Ran) -> Vec<(Option<String>, String)> {
    let mut out: Vec<(Option<String>, String, i64)> = Vec::new();
    for r in chart.frame.iter() {
        let code = r.str("scale").map(str::to_string);
        if !out.iter().any(|(c, _, _)| *c == code) {
            let label = r
                .str("label")
                .map(str::to_string)
                .or_else(|| code.clone())
                .unwrap_or_else(|| chart.file.header.title.clone());
            out.push((code, label, r.i64("sort_order").unwrap_or(i64::MAX)));
        }
    }
    out.sort_by_key(|(_, _, o)| *o);
    out.into_iter().map(|(c, l, _)| (c, l)).collect()
}

/// A fixed score range for charts whose scale is known (goals: 0-10).
fn fixed_domain(chart: &Ran) -> Option<(f64, f64)> {
    let unit = chart.unit_of("mean_t1")?;
    let inner = unit.split_once('(')?.1.trim_end_matches(')');
    let (a, b) = inner.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// The drawings of a change chart: one per row of (at most three) panels
/// and, with many units, per page of units (the All row on every page), so
/// that each prints legibly on its own page.
pub(crate) fn change_chart(chart: &Ran, units: &Units, svg_id: &str) -> Vec<String> {
    let panels = scales(chart);
    let mut unit_rows: Vec<Row> = Vec::new();
    for r in chart.frame.iter() {
        if !unit_rows.iter().any(|u| units.label(u) == units.label(&r)) {
            unit_rows.push(r);
        }
    }
    unit_rows.sort_by_key(|r| (!units.is_all(r), units.id(r)));
    let (all_rows, others): (Vec<Row>, Vec<Row>) =
        unit_rows.into_iter().partition(|r| units.is_all(r));
    let pages = chunks(others.len(), MAX_ROWS - 1);
    let cols = panels.len().clamp(1, COLUMNS);
    let panel_rows: Vec<&[(Option<String>, String)]> = panels.chunks(cols).collect();
    let mut out = Vec::new();
    for (p, range) in pages.iter().enumerate() {
        let rows: Vec<Row> = all_rows
            .iter()
            .chain(&others[range.clone()])
            .copied()
            .collect();
        let part = page_title(units, &others, range, pages.len());
        for (g, group) in panel_rows.iter().enumerate() {
            let id = page_id(svg_id, p * panel_rows.len() + g);
            out.push(change_figure(
                chart,
                units,
                &id,
                group,
                cols,
                &rows,
                part.as_deref(),
            ));
        }
    }
    out
}

fn change_figure(
    chart: &Ran,
    units: &Units,
    svg_id: &str,
    panels: &[(Option<String>, String)],
    cols: usize,
    unit_rows: &[Row],
    part: Option<&str>,
) -> String {
    let panel_w = (WIDTH - 10.0) / cols as f64;
    let head_h = if part.is_some() { 52.0 } else { 30.0 };
    let panel_h = 44.0 + unit_rows.len() as f64 * ROW_H + 14.0;
    let height = head_h + panel_h + 6.0;

    let title_id = format!("{svg_id}-title");
    let desc_id = format!("{svg_id}-desc");
    let labels: Vec<&str> = panels.iter().map(|(_, l)| l.as_str()).collect();
    let mut w = Writer::new();
    w.open(
        el("svg")
            .a("xmlns", "http://www.w3.org/2000/svg")
            .a("id", svg_id)
            .a("class", "chart change")
            .a("viewBox", format!("0 0 {} {}", num(WIDTH), num(height)))
            .a("role", "img")
            .a("aria-labelledby", format!("{title_id} {desc_id}"))
            .a("data-chart", &chart.file.id),
    );
    w.text(
        el("title").a("id", &title_id),
        &format!(
            "{}: mean score at T1 and T2 ({}){}",
            chart.file.header.title,
            labels.join(", "),
            part.map(|p| format!(", {p}")).unwrap_or_default()
        ),
    );
    w.text(
        el("desc").a("id", &desc_id),
        &format!(
            "One panel per scale ({}); in each, one row per {} and one for all compared, with a hollow dot at the mean first score (T1) joined to a filled dot at the mean last score (T2) of the paired cases. Suppressed rows are marked as such.{}",
            labels.join(", "),
            units.level.noun(),
            highlight_change(chart, units, panels)
        ),
    );
    let mut y = 0.0;
    if let Some(p) = part {
        w.text(
            el("text")
                .a("class", "panel-title")
                .a("x", 8.0)
                .a("y", 16.0),
            p,
        );
        y = 22.0;
    }
    w.open(el("g").a("class", "legend"));
    w.leaf(
        el("circle")
            .a("class", "t1")
            .a("cx", 16.0)
            .a("cy", y + 14.0)
            .a("r", 4.0),
    );
    w.text(
        el("text").a("x", 24.0).a("y", y + 18.0),
        "T1: mean first score",
    );
    w.leaf(
        el("circle")
            .a("class", "t2")
            .a("cx", 190.0)
            .a("cy", y + 14.0)
            .a("r", 4.0),
    );
    w.text(
        el("text").a("x", 198.0).a("y", y + 18.0),
        "T2: mean last score (paired cases)",
    );
    w.close();

    let fixed = fixed_domain(chart);
    for (p, (scale, label)) in panels.iter().enumerate() {
        let px = 10.0 + p as f64 * panel_w;
        let py = head_h;
        let rows: Vec<Row> = chart
            .frame
            .iter()
            .filter(|r| r.str("scale").map(str::to_string) == *scale)
            .collect();
        let values: Vec<f64> = rows
            .iter()
            .flat_map(|r| [r.f64("mean_t1"), r.f64("mean_t2")])
            .flatten()
            .collect();
        let (lo, hi) = match fixed {
            Some(d) => d,
            None => values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(*v), b.max(*v))
                }),
        };
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        // Fitted to every unit of the scale (not only this page's), so the
        // pages of one panel share an axis.
        let x_l = px + LABEL_W;
        let x_r = px + panel_w - 14.0;
        let count = (((x_r - x_l) / 55.0).floor() as usize).clamp(3, 8);
        let ((d0, d1), ticks) = if fixed.is_some() {
            nice_ticks(lo, hi, count)
        } else {
            let pad = ((hi - lo) * 0.1).max(0.5);
            nice_ticks((lo - pad).max(0.0), hi + pad, count)
        };
        let xs = Scale::new((d0, d1), (x_l, x_r));
        let top = py + 40.0;
        let bottom = top + unit_rows.len() as f64 * ROW_H;
        w.open(
            el("g")
                .a("class", "panel")
                .a_opt("data-scale", scale.as_deref())
                .a("data-x-domain", xs.domain_attr())
                .a("data-x-range", xs.range_attr()),
        );
        w.text(
            el("text")
                .a("class", "panel-title")
                .a("x", x_l)
                .a("y", py + 16.0),
            label,
        );
        for (t, text) in ticks.iter().zip(tick_labels(Format::Decimals(1), &ticks)) {
            let x = xs.map(*t);
            w.leaf(
                el("line")
                    .a("class", "grid")
                    .a("x1", x)
                    .a("x2", x)
                    .a("y1", top - 6.0)
                    .a("y2", bottom),
            );
            w.text(
                el("text")
                    .a("class", "tick-label")
                    .a("x", x)
                    .a("y", top - 10.0)
                    .a("text-anchor", "middle")
                    .a("data-tick", data_num(*t)),
                &text,
            );
        }
        for (i, u) in unit_rows.iter().enumerate() {
            let y = top + i as f64 * ROW_H + ROW_H / 2.0;
            let ulabel = units.label(u);
            let hl = units.is_highlight(u);
            let all = units.is_all(u);
            w.text(
                el("text")
                    .a(
                        "class",
                        if hl {
                            "row-label highlight"
                        } else {
                            "row-label"
                        },
                    )
                    .a("x", x_l - 6.0)
                    .a("y", y + 4.0)
                    .a("text-anchor", "end"),
                &ulabel,
            );
            let Some(r) = rows.iter().find(|r| units.label(r) == ulabel) else {
                continue;
            };
            let n = r.i64("n");
            match (r.f64("mean_t1"), r.f64("mean_t2")) {
                (Some(t1), Some(t2)) => {
                    let class = match (hl, all) {
                        (true, _) => "mark change highlight",
                        (_, true) => "mark change all",
                        _ => "mark change",
                    };
                    w.open(
                        el("g")
                            .a("class", class)
                            .a("data-unit", &ulabel)
                            .a_opt("data-scale", scale.as_deref())
                            .a("data-t1", data_num(t1))
                            .a("data-t2", data_num(t2))
                            .a_opt("data-n", n),
                    );
                    w.text(
                        el("title"),
                        &format!(
                            "{}, {label}: T1 {t1:.1}, T2 {t2:.1} ({} paired)",
                            units.long_label(r),
                            super::n_text(n)
                        ),
                    );
                    w.leaf(
                        el("line")
                            .a("x1", xs.map(t1))
                            .a("x2", xs.map(t2))
                            .a("y1", y)
                            .a("y2", y),
                    );
                    w.leaf(
                        el("circle")
                            .a("class", "t1")
                            .a("cx", xs.map(t1))
                            .a("cy", y)
                            .a("r", 3.5),
                    );
                    w.leaf(
                        el("circle")
                            .a("class", "t2")
                            .a("cx", xs.map(t2))
                            .a("cy", y)
                            .a("r", 3.5),
                    );
                    w.close();
                }
                _ => {
                    w.text(
                        el("text")
                            .a("class", "suppressed")
                            .a("x", x_l + 4.0)
                            .a("y", y + 4.0)
                            .a("data-unit", &ulabel)
                            .a_opt("data-scale", scale.as_deref()),
                        &if n == Some(0) {
                            "no paired cases".to_string()
                        } else {
                            super::withheld_text(n)
                        },
                    );
                }
            }
        }
        w.close();
    }
    w.close();
    w.finish()
}

/// The highlighted unit's T1 and T2 on these panels, for the description.
fn highlight_change(chart: &Ran, units: &Units, panels: &[(Option<String>, String)]) -> String {
    let mut parts = Vec::new();
    let mut name = None;
    for (scale, label) in panels {
        let Some(r) = chart
            .frame
            .iter()
            .find(|r| units.is_highlight(r) && r.str("scale").map(str::to_string) == *scale)
        else {
            continue;
        };
        name.get_or_insert_with(|| units.long_label(&r));
        let all = chart
            .frame
            .iter()
            .find(|a| units.is_all(a) && a.str("scale").map(str::to_string) == *scale);
        parts.push(match (r.f64("mean_t1"), r.f64("mean_t2")) {
            (Some(t1), Some(t2)) => format!(
                "{label} {t1:.1} to {t2:.1}{}",
                all.and_then(|a| Some((a.f64("mean_t1")?, a.f64("mean_t2")?)))
                    .map(|(a1, a2)| format!(" (all compared {a1:.1} to {a2:.1})"))
                    .unwrap_or_default()
            ),
            _ => format!("{label} withheld"),
        });
    }
    match name {
        Some(n) => format!(" {n}: {}.", parts.join("; ")),
        None => String::new(),
    }
}

/// Share columns beside the means (goal_progress): a small HTML table.
pub(crate) fn shares_table(chart: &Ran, units: &Units) -> Option<String> {
    let cols: Vec<&str> = chart
        .file
        .header
        .columns
        .iter()
        .filter(|c| c.name.starts_with("pct_"))
        .map(|c| c.name.as_str())
        .collect();
    if cols.is_empty() {
        return None;
    }
    let mut rows: Vec<Row> = chart.frame.iter().collect();
    rows.sort_by_key(|r| (!units.is_all(r), units.id(r)));
    let (all_rows, others): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|r| units.is_all(r));
    // Pages of at most MAX_ROWS rows, the All row on each (see funnel).
    let mut w = Writer::new();
    for range in chunks(others.len(), TABLE_ROWS - 1) {
        let rows: Vec<Row> = all_rows.iter().chain(&others[range]).copied().collect();
        w.open(el("table").a("class", "metrics metrics-page"));
        w.text(el("caption"), "Shares beside the means");
        w.open(el("thead")).open(el("tr"));
        w.text(el("th").a("scope", "col"), units.level.noun());
        w.text(el("th").a("scope", "col"), "n");
        for c in &cols {
            w.text(
                el("th").a("scope", "col"),
                &chart
                    .description_of(c)
                    .unwrap_or_else(|| super::code_in_words(c)),
            );
        }
        w.close().close().open(el("tbody"));
        for r in rows {
            w.open(el("tr").a_opt("class", units.is_highlight(&r).then_some("highlight")));
            w.text(el("th").a("scope", "row"), &units.label(&r));
            w.text(
                el("td"),
                &r.i64("n").map(|n| n.to_string()).unwrap_or_default(),
            );
            for c in &cols {
                match r.f64(c) {
                    Some(v) => w.text(el("td"), &format!("{v:.1}%")),
                    None => w.text(el("td").a("class", "suppressed"), "suppressed"),
                };
            }
            w.close();
        }
        w.close().close();
    }
    Some(w.finish())
}
