//! Shares: stacked bars per unit (demographics), a dot strip per item
//! (problem descriptors, complexity factors) and stacked bars per item
//! (ESQ). A withheld share is never drawn as a zero: it is left out of the
//! bar and named in a "suppressed" note.

use super::frame::Row;
use super::svg::{chunks, data_num, el, num, Scale, Writer};
use super::{Ran, Units};

/// Okabe-Ito colours for categories, in order, with the text colour that
/// reads on each (contrast 4.5:1 or more, WCAG AA; tested).
const CATEGORY_COLOURS: &[(&str, &str)] = &[
    ("#0072B2", "#ffffff"),
    ("#E69F00", "#000000"),
    ("#009E73", "#000000"),
    ("#CC79A7", "#000000"),
    ("#56B4E9", "#000000"),
    ("#D55E00", "#000000"),
    ("#F0E442", "#000000"),
];
/// Grey for "not known" categories.
const UNKNOWN_COLOUR: (&str, &str) = ("#BBBBBB", "#000000");

fn is_unknown_category(c: &str) -> bool {
    let c = c.to_ascii_lowercase();
    c.starts_with("not ") || c.starts_with("unknown") || c == "not known"
}

/// Categories in chart order (by sort_order, then first seen).
fn categories(chart: &Ran, column: &str) -> Vec<(String, i64)> {
    let mut cats: Vec<(String, i64)> = Vec::new();
    for r in chart.frame.iter() {
        if let Some(c) = r.str(column) {
            if !cats.iter().any(|(x, _)| x == c) {
                cats.push((c.to_string(), r.i64("sort_order").unwrap_or(i64::MAX)));
            }
        }
    }
    cats.sort_by_key(|(_, o)| *o);
    cats
}

/// Units in chart order: the All row first, then by id.
fn unit_order<'a>(chart: &'a Ran, units: &Units) -> Vec<Row<'a>> {
    let mut seen: Vec<Row> = Vec::new();
    for r in chart.frame.iter() {
        if !seen.iter().any(|s| units.label(s) == units.label(&r)) {
            seen.push(r);
        }
    }
    seen.sort_by_key(|r| (!units.is_all(r), units.id(r)));
    seen
}

fn svg_open(
    w: &mut Writer,
    chart: &Ran,
    svg_id: &str,
    class: &str,
    (width, height): (f64, f64),
    (title, desc): (&str, &str),
) {
    let title_id = format!("{svg_id}-title");
    let desc_id = format!("{svg_id}-desc");
    w.open(
        el("svg")
            .a("xmlns", "http://www.w3.org/2000/svg")
            .a("id", svg_id)
            .a("class", format!("chart {class}"))
            .a("viewBox", format!("0 0 {} {}", num(width), num(height)))
            .a("role", "img")
            .a("aria-labelledby", format!("{title_id} {desc_id}"))
            .a("data-chart", &chart.file.id),
    );
    w.text(el("title").a("id", title_id), title);
    w.text(el("desc").a("id", desc_id), desc);
}

/// Percentage axis ticks along the top of a bar area.
fn pct_axis(w: &mut Writer, xs: &Scale, y_top: f64, y_bottom: f64) {
    w.open(el("g").a("class", "axis x-axis"));
    for t in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let x = xs.map(t);
        w.leaf(
            el("line")
                .a("class", "grid")
                .a("x1", x)
                .a("x2", x)
                .a("y1", y_top)
                .a("y2", y_bottom),
        );
        w.text(
            el("text")
                .a("x", x)
                .a("y", y_top - 4.0)
                .a("text-anchor", "middle"),
            &format!("{t:.0}%"),
        );
    }
    w.close();
}

fn swatch_legend(w: &mut Writer, items: &[(String, &str)], x0: f64, y: f64, max_x: f64) -> f64 {
    w.open(el("g").a("class", "legend"));
    let (mut x, mut y) = (x0, y);
    for (label, colour) in items {
        let width = 22.0 + label.chars().count() as f64 * 6.3;
        if x + width > max_x && x > x0 {
            x = x0;
            y += 16.0;
        }
        w.leaf(
            el("rect")
                .a("x", x)
                .a("y", y - 9.0)
                .a("width", 11.0)
                .a("height", 11.0)
                .a("fill", *colour),
        );
        w.text(el("text").a("x", x + 15.0).a("y", y), label);
        x += width + 10.0;
    }
    w.close();
    y
}

/// Stacked 100% bars, one per unit, of a category share chart (gender, age,
/// ethnicity).
pub(crate) fn categories_chart(chart: &Ran, units: &Units, svg_id: &str) -> Vec<String> {
    let cats = categories(chart, "category");
    let colour = |i: usize, c: &str| {
        if is_unknown_category(c) {
            UNKNOWN_COLOUR
        } else {
            CATEGORY_COLOURS[i % CATEGORY_COLOURS.len()]
        }
    };
    let everyone = unit_order(chart, units);
    let (all_rows, unit_rows): (Vec<Row>, Vec<Row>) =
        everyone.into_iter().partition(|r| units.is_all(r));
    let (width, label_w, bar_l, bar_r) = (860.0, 60.0, 66.0, 600.0);
    let row_h = 14.0;
    let gap = 4.0;
    let legend_items: Vec<(String, &str)> = cats
        .iter()
        .enumerate()
        .map(|(i, (c, _))| (c.clone(), colour(i, c).0))
        .collect();
    // A long chart is cut into pages of at most MAX_ROWS rows, each with
    // the All row first, its own legend and axis, and a title saying which
    // units it holds.
    let pages = chunks(unit_rows.len(), MAX_ROWS - 1);
    let mut out = Vec::new();
    for (page, range) in pages.iter().enumerate() {
        let order: Vec<Row> = all_rows
            .iter()
            .chain(&unit_rows[range.clone()])
            .copied()
            .collect();
        let mut body = Writer::new();
        let part = page_title(units, &unit_rows, range, pages.len());
        let legend_y = if let Some(t) = &part {
            body.text(
                el("text")
                    .a("class", "panel-title")
                    .a("x", 8.0)
                    .a("y", 16.0),
                t,
            );
            38.0
        } else {
            18.0
        };
        let legend_bottom = swatch_legend(&mut body, &legend_items, bar_l, legend_y, width - 10.0);
        let top = legend_bottom + 30.0;
        let height = top + order.len() as f64 * (row_h + gap) + 16.0;
        let xs = Scale::new((0.0, 100.0), (bar_l, bar_r));
        pct_axis(&mut body, &xs, top - 8.0, height - 12.0);
        body.open(
            el("g")
                .a("class", "plot")
                .a("data-x-domain", xs.domain_attr())
                .a("data-x-range", xs.range_attr()),
        );
        for (i, u) in order.iter().enumerate() {
            let y = top + i as f64 * (row_h + gap);
            let hl = units.is_highlight(u);
            let label = units.label(u);
            let unit_rows: Vec<Row> = chart
                .frame
                .iter()
                .filter(|r| units.label(r) == label)
                .collect();
            let n = u.i64("n");
            body.open(
                el("g")
                    .a("class", if hl { "unit highlight" } else { "unit" })
                    .a("data-unit", &label)
                    .a_opt("data-n", n),
            );
            body.text(
                el("text")
                    .a(
                        "class",
                        if hl {
                            "row-label highlight"
                        } else {
                            "row-label"
                        },
                    )
                    .a("x", label_w)
                    .a("y", y + row_h * 0.72)
                    .a("text-anchor", "end"),
                &label,
            );
            if hl {
                body.leaf(
                    el("rect")
                        .a("class", "highlight-frame")
                        .a("x", bar_l - 3.0)
                        .a("y", y - 3.0)
                        .a("width", bar_r - bar_l + 6.0)
                        .a("height", row_h + 6.0),
                );
            }
            let any_value = unit_rows.iter().any(|r| r.f64("pct").is_some());
            if !any_value {
                let text = if n == Some(0) {
                    "no referrals (n = 0)".to_string()
                } else {
                    super::withheld_text(n)
                };
                body.leaf(
                    el("rect")
                        .a("class", "track")
                        .a("x", bar_l)
                        .a("y", y)
                        .a("width", bar_r - bar_l)
                        .a("height", row_h),
                );
                body.text(
                    el("text")
                        .a("class", "suppressed")
                        .a("x", bar_l + 8.0)
                        .a("y", y + row_h * 0.72)
                        .a("data-unit", &label),
                    &text,
                );
                body.close();
                continue;
            }
            let mut x = bar_l;
            let mut withheld = Vec::new();
            for (ci, (cat, _)) in cats.iter().enumerate() {
                let Some(r) = unit_rows
                    .iter()
                    .find(|r| r.str("category") == Some(cat.as_str()))
                else {
                    continue;
                };
                let Some(pct) = r.f64("pct") else {
                    withheld.push(cat.clone());
                    continue;
                };
                let w_px = xs.map(pct) - xs.map(0.0);
                let (fill, ink) = colour(ci, cat);
                body.open(
                    el("rect")
                        .a("class", "mark seg")
                        .a("x", x)
                        .a("y", y)
                        .a("width", w_px)
                        .a("height", row_h)
                        .a("fill", fill)
                        .a("data-unit", &label)
                        .a("data-category", cat)
                        .a("data-value", data_num(pct))
                        .a_opt("data-count", r.i64("count"))
                        .a_opt("data-n", n),
                );
                body.text(
                    el("title"),
                    &format!(
                        "{}, {cat}: {pct:.1}% ({} of {})",
                        units.long_label(u),
                        r.i64("count").map(|c| c.to_string()).unwrap_or_default(),
                        n.map_or_else(|| "n withheld".to_string(), |n| n.to_string())
                    ),
                );
                body.close();
                if w_px >= 30.0 {
                    body.text(
                        el("text")
                            .a("class", "seg-label")
                            .a("x", x + w_px / 2.0)
                            .a("y", y + row_h * 0.72)
                            .a("text-anchor", "middle")
                            .a("fill", ink)
                            .a("font-size", 10.5),
                        &format!("{pct:.0}%"),
                    );
                }
                x += w_px;
            }
            let mut note = super::n_text(n);
            if !withheld.is_empty() {
                note.push_str(&format!(" · withheld: {}", withheld.join(", ")));
            }
            body.text(
                el("text")
                    .a(
                        "class",
                        if withheld.is_empty() {
                            "row-note"
                        } else {
                            "row-note suppressed"
                        },
                    )
                    .a("x", bar_r + 8.0)
                    .a("y", y + row_h * 0.72)
                    .a("data-unit", &label)
                    .a_opt(
                        "data-suppressed-categories",
                        (!withheld.is_empty()).then(|| withheld.join("|")),
                    ),
                &note,
            );
            body.close();
        }
        body.close();
        let title = format!(
            "{}: share of referrals per {}{}",
            chart.file.header.title,
            units.level.noun(),
            part.as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        );
        let desc = format!(
        "Stacked bars, one per {} and one for all compared, of the share of in-scope referrals in each category ({}). Withheld shares are left out of the bar and named beside it.{}",
        units.level.noun(),
        cats.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", "),
        highlight_shares(chart, units, "category", "pct")
    );
        let mut w = Writer::new();
        svg_open(
            &mut w,
            chart,
            &page_id(svg_id, page),
            "categories",
            (width, height),
            (&title, &desc),
        );
        w.raw(&body.finish());
        w.close();
        out.push(w.finish());
    }
    out
}

/// Rows of a long chart per page (the All row included): about what
/// prints at a legible size on an A4 landscape page beneath the chart's
/// title.
pub(crate) const MAX_ROWS: usize = 22;

/// Rows of a table of measures per printed block (their cells take two
/// lines): each block stays whole on a page.
pub(crate) const TABLE_ROWS: usize = 12;

/// The id of a chart's page `page` (the first keeps the chart's id).
pub(crate) fn page_id(svg_id: &str, page: usize) -> String {
    if page == 0 {
        svg_id.to_string()
    } else {
        format!("{svg_id}-{page}")
    }
}

/// "Partnerships 1 to 20 (page 1 of 3)", when a chart has several pages.
pub(crate) fn page_title(
    units: &Units,
    rows: &[Row],
    range: &std::ops::Range<usize>,
    pages: usize,
) -> Option<String> {
    if pages < 2 || range.is_empty() {
        return None;
    }
    let noun = match units.level {
        super::Level::Partnership => "Partnerships",
        super::Level::Service => "Teams",
    };
    let first = units.label(&rows[range.start]);
    let last = units.label(&rows[range.end - 1]);
    Some(format!(
        "{noun} {first} to {last} ({} of {} {}s)",
        range.len(),
        rows.len(),
        units.level.noun()
    ))
}

/// The highlighted unit's shares, for a chart's text description.
fn highlight_shares(chart: &Ran, units: &Units, key: &str, value: &str) -> String {
    let rows: Vec<Row> = chart
        .frame
        .iter()
        .filter(|r| units.is_highlight(r))
        .collect();
    let Some(first) = rows.first() else {
        return String::new();
    };
    let parts: Vec<String> = rows
        .iter()
        .filter_map(|r| Some(format!("{} {:.1}%", r.str(key)?, r.f64(value)?)))
        .collect();
    if parts.is_empty() {
        format!(" {}: withheld.", units.long_label(first))
    } else {
        format!(" {}: {}.", units.long_label(first), parts.join(", "))
    }
}
/// A dot strip per item: every unit's share as a dot, the All share as a
/// tick, the highlighted unit's share as a large dot.
pub(crate) fn items_chart(chart: &Ran, units: &Units, svg_id: &str) -> Vec<String> {
    let items = categories(chart, "item");
    let label_of = |item: &str| {
        chart
            .frame
            .iter()
            .find(|r| r.str("item") == Some(item))
            .and_then(|r| r.str("label"))
            .unwrap_or(item)
            .to_string()
    };
    let (width, label_r, strip_l, strip_r) = (860.0, 330.0, 340.0, 740.0);
    let row_h = 17.0;
    let top = 56.0;
    let xs = Scale::new((0.0, 100.0), (strip_l, strip_r));
    // Many items come as pages, each printing on its own.
    let pages = chunks(items.len(), MAX_ROWS - 2);
    let mut out = Vec::new();
    for (page, range) in pages.iter().enumerate() {
        let page_items = &items[range.clone()];
        let height = top + page_items.len() as f64 * row_h + 20.0;
        let part = (pages.len() > 1).then(|| {
            format!(
                "Items {} to {} of {}",
                range.start + 1,
                range.end,
                items.len()
            )
        });
        let mut w = Writer::new();
        let title = format!(
            "{}: share of referrals per item{}",
            chart.file.header.title,
            part.as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        );
        let desc = format!(
        "For each of {} items, the share of referrals with it: one small dot per {}, a tick for all compared{}.{}",
        page_items.len(),
        units.level.noun(),
        if units.highlight.is_some() { ", a large dot for the highlighted one" } else { "" },
        items_highlight_summary(chart, units, page_items)
    );
        svg_open(
            &mut w,
            chart,
            &page_id(svg_id, page),
            "items",
            (width, height),
            (&title, &desc),
        );
        if let Some(p) = &part {
            w.text(
                el("text")
                    .a("class", "panel-title")
                    .a("x", 8.0)
                    .a("y", 18.0),
                p,
            );
        }
        // Legend.
        w.open(el("g").a("class", "legend"));
        w.leaf(
            el("circle")
                .a("class", "mark key")
                .a("cx", strip_l)
                .a("cy", 14.0)
                .a("r", 3.5),
        );
        w.text(
            el("text").a("x", strip_l + 8.0).a("y", 18.0),
            &format!("a {}", units.level.noun()),
        );
        w.leaf(
            el("line")
                .a("class", "all-tick")
                .a("x1", strip_l + 110.0)
                .a("x2", strip_l + 110.0)
                .a("y1", 7.0)
                .a("y2", 21.0),
        );
        w.text(
            el("text").a("x", strip_l + 118.0).a("y", 18.0),
            "all compared",
        );
        if units.highlight.is_some() {
            w.leaf(
                el("circle")
                    .a("class", "mark highlight key")
                    .a("cx", strip_l + 230.0)
                    .a("cy", 14.0)
                    .a("r", 5.5),
            );
            w.text(
                el("text").a("x", strip_l + 240.0).a("y", 18.0),
                &format!(
                    "{} {}",
                    units.level.noun(),
                    units.highlight.unwrap_or_default()
                ),
            );
        }
        w.close();
        pct_axis(&mut w, &xs, top - 12.0, height - 14.0);
        w.open(
            el("g")
                .a("class", "plot")
                .a("data-x-domain", xs.domain_attr())
                .a("data-x-range", xs.range_attr()),
        );
        for (i, (item, _)) in page_items.iter().enumerate() {
            let y = top + i as f64 * row_h + row_h / 2.0;
            let label = label_of(item);
            let short: String = if label.chars().count() > 52 {
                label.chars().take(50).collect::<String>() + "…"
            } else {
                label.clone()
            };
            w.open(el("g").a("class", "item").a("data-item", item));
            if i % 2 == 0 {
                w.leaf(
                    el("rect")
                        .a("class", "band")
                        .a("x", 0.0)
                        .a("y", y - row_h / 2.0)
                        .a("width", width)
                        .a("height", row_h),
                );
            }
            w.open(
                el("text")
                    .a("class", "row-label")
                    .a("x", label_r)
                    .a("y", y + 4.0)
                    .a("text-anchor", "end"),
            );
            w.text(el("title"), &label);
            w.content(&short);
            w.close();
            let mut sorted: Vec<Row> = chart
                .frame
                .iter()
                .filter(|r| r.str("item") == Some(item.as_str()))
                .collect();
            sorted.sort_by_key(|r| (units.is_all(r), units.is_highlight(r)));
            for r in &sorted {
                let Some(pct) = r.f64("pct") else { continue };
                let x = xs.map(pct);
                let tip = format!(
                    "{}, {label}: {pct:.1}% ({})",
                    units.long_label(r),
                    super::n_text(r.i64("n"))
                );
                if units.is_all(r) {
                    w.open(
                        el("line")
                            .a("class", "mark all-tick")
                            .a("x1", x)
                            .a("x2", x)
                            .a("y1", y - 7.0)
                            .a("y2", y + 7.0)
                            .a("data-unit", "All")
                            .a("data-item", item)
                            .a("data-value", data_num(pct))
                            .a_opt("data-n", r.i64("n")),
                    );
                } else {
                    let hl = units.is_highlight(r);
                    w.open(
                        el("circle")
                            .a("class", if hl { "mark highlight" } else { "mark" })
                            .a("cx", x)
                            .a("cy", y)
                            .a("r", if hl { 5.5 } else { 3.5 })
                            .a("data-unit", units.label(r))
                            .a("data-item", item)
                            .a("data-value", data_num(pct))
                            .a_opt("data-n", r.i64("n")),
                    );
                }
                w.text(el("title"), &tip);
                w.close();
            }
            w.close();
        }
        w.close();
        w.close();
        out.push(w.finish());
    }
    out
}

/// On how many items the highlighted unit's share is above or below all
/// compared, for the description.
fn items_highlight_summary(chart: &Ran, units: &Units, items: &[(String, i64)]) -> String {
    let (mut above, mut below, mut same, mut withheld) = (0, 0, 0, 0);
    let mut name = None;
    for (item, _) in items {
        let of = |pick: &dyn Fn(&Row) -> bool| {
            chart
                .frame
                .iter()
                .find(|r| r.str("item") == Some(item.as_str()) && pick(r))
        };
        let Some(h) = of(&|r| units.is_highlight(r)) else {
            continue;
        };
        name.get_or_insert_with(|| units.long_label(&h));
        let all = of(&|r| units.is_all(r)).and_then(|r| r.f64("pct"));
        match (h.f64("pct"), all) {
            (Some(v), Some(a)) if v > a + 0.05 => above += 1,
            (Some(v), Some(a)) if v < a - 0.05 => below += 1,
            (Some(_), Some(_)) => same += 1,
            _ => withheld += 1,
        }
    }
    match name {
        Some(n) => format!(
            " {n}: above all compared on {above} items, below on {below}, level on {same}{}.",
            if withheld > 0 {
                format!(", withheld on {withheld}")
            } else {
                String::new()
            }
        ),
        None => String::new(),
    }
}

/// The ESQ answer columns, their labels and colours (an ordered scale:
/// dark blue, light blue, orange).
const ESQ_ANSWERS: &[(&str, &str, &str, &str)] = &[
    ("pct_certainly_true", "Certainly true", "#0072B2", "#ffffff"),
    ("pct_partly_true", "Partly true", "#56B4E9", "#000000"),
    ("pct_not_true", "Not true", "#E69F00", "#000000"),
];

/// ESQ: per item, stacked bars of certainly / partly / not true for all
/// compared and for the highlighted unit; the versions one after another.
pub(crate) fn esq_chart(chart: &Ran, units: &Units, svg_id: &str) -> Vec<String> {
    let versions = categories(chart, "version");
    let versions: Vec<Option<String>> = if versions.is_empty() {
        vec![None]
    } else {
        versions.into_iter().map(|(v, _)| Some(v)).collect()
    };
    let items = categories(chart, "item");
    let (width, label_r, bar_l, bar_r) = (860.0, 330.0, 390.0, 760.0);
    let bar_h = 11.5;
    let per_item = if units.highlight.is_some() {
        2.0 * bar_h + 7.0
    } else {
        bar_h + 8.0
    };
    let xs = Scale::new((0.0, 100.0), (bar_l, bar_r));
    let legend: Vec<(String, &str)> = ESQ_ANSWERS
        .iter()
        .map(|(_, l, c, _)| (l.to_string(), *c))
        .collect();
    // One drawing per version of the questionnaire, each titled.
    let mut out = Vec::new();
    for (page, version) in versions.iter().enumerate() {
        let mut body = Writer::new();
        let mut y = 18.0;
        if let Some(v) = version {
            body.text(
                el("text").a("class", "group-title").a("x", 8.0).a("y", y),
                &version_label(v),
            );
            y += 22.0;
        }
        swatch_legend(&mut body, &legend, bar_l, y, width);
        y += 22.0;
        body.open(
            el("g")
                .a("class", "plot")
                .a("data-x-domain", xs.domain_attr())
                .a("data-x-range", xs.range_attr()),
        );
        let vrows: Vec<Row> = chart
            .frame
            .iter()
            .filter(|r| version.is_none() || r.str("version") == version.as_deref())
            .collect();
        for tick in [0.0, 50.0, 100.0] {
            body.text(
                el("text")
                    .a("class", "tick-label")
                    .a("x", xs.map(tick))
                    .a("y", y + 2.0)
                    .a("text-anchor", "middle"),
                &format!("{tick:.0}%"),
            );
        }
        y += 8.0;
        for (item, _) in &items {
            let item_rows: Vec<&Row> = vrows
                .iter()
                .filter(|r| r.str("item") == Some(item.as_str()))
                .collect();
            if item_rows.is_empty() {
                continue;
            }
            let label = item_rows
                .iter()
                .find_map(|r| r.str("label"))
                .unwrap_or(item)
                .to_string();
            let short: String = if label.chars().count() > 52 {
                label.chars().take(50).collect::<String>() + "…"
            } else {
                label.clone()
            };
            body.open(
                el("g")
                    .a("class", "item")
                    .a("data-item", item)
                    .a_opt("data-version", version.as_deref()),
            );
            body.open(
                el("text")
                    .a("class", "row-label")
                    .a("x", label_r)
                    .a("y", y + bar_h)
                    .a("text-anchor", "end"),
            );
            body.text(el("title"), &label);
            body.content(&short);
            body.close();
            let mut who: Vec<&Row> = item_rows
                .iter()
                .filter(|r| units.is_all(r))
                .copied()
                .collect();
            who.extend(item_rows.iter().filter(|r| units.is_highlight(r)).copied());
            for (k, r) in who.iter().enumerate() {
                let by = y + k as f64 * (bar_h + 2.0);
                let unit_label = units.label(r);
                body.text(
                    el("text")
                        .a(
                            "class",
                            if units.is_highlight(r) {
                                "bar-who highlight"
                            } else {
                                "bar-who"
                            },
                        )
                        .a("x", bar_l - 6.0)
                        .a("y", by + bar_h - 2.5)
                        .a("text-anchor", "end"),
                    &unit_label,
                );
                let n = r.i64("n");
                if r.f64("pct_certainly_true").is_none() {
                    body.text(
                        el("text")
                            .a("class", "suppressed")
                            .a("x", bar_l + 4.0)
                            .a("y", by + bar_h - 2.5)
                            .a("data-unit", &unit_label)
                            .a("data-item", item),
                        &if n == Some(0) {
                            "no answers (n = 0)".to_string()
                        } else {
                            super::withheld_text(n)
                        },
                    );
                    continue;
                }
                let mut x = bar_l;
                for (col, answer, fill, ink) in ESQ_ANSWERS {
                    let Some(pct) = r.f64(col) else { continue };
                    let w_px = xs.map(pct) - xs.map(0.0);
                    body.open(
                        el("rect")
                            .a("class", "mark seg")
                            .a("x", x)
                            .a("y", by)
                            .a("width", w_px)
                            .a("height", bar_h)
                            .a("fill", *fill)
                            .a("data-unit", &unit_label)
                            .a("data-item", item)
                            .a("data-answer", *col)
                            .a("data-value", data_num(pct))
                            .a_opt("data-n", n),
                    );
                    body.text(
                        el("title"),
                        &format!(
                            "{}, {label}: {answer} {pct:.1}% ({})",
                            units.long_label(r),
                            super::n_text(n)
                        ),
                    );
                    body.close();
                    if w_px >= 34.0 {
                        body.text(
                            el("text")
                                .a("class", "seg-label")
                                .a("font-size", 10.0)
                                .a("x", x + w_px / 2.0)
                                .a("y", by + bar_h - 2.5)
                                .a("text-anchor", "middle")
                                .a("fill", *ink),
                            &format!("{pct:.0}%"),
                        );
                    }
                    x += w_px;
                }
            }
            body.close();
            y += per_item;
        }
        body.close();
        let height = y + 10.0;
        let title = format!(
            "{}: answers per item{}",
            chart.file.header.title,
            version
                .as_deref()
                .map(|v| format!(", {}", version_label(v).to_lowercase()))
                .unwrap_or_default()
        );
        let desc = format!(
            "For each questionnaire item, stacked bars of the share answering certainly true, partly true and not true (don't know left out), for all compared{}.{}",
            if units.highlight.is_some() { " and for the highlighted unit" } else { "" },
            esq_highlight_summary(&vrows, units)
        );
        let mut w = Writer::new();
        svg_open(
            &mut w,
            chart,
            &page_id(svg_id, page),
            "esq",
            (width, height),
            (&title, &desc),
        );
        w.raw(&body.finish());
        w.close();
        out.push(w.finish());
    }
    out
}

/// How often the highlighted unit answers certainly true more or less
/// than all compared, for a chart's text description.
fn esq_highlight_summary(rows: &[Row], units: &Units) -> String {
    let Some(first) = rows.iter().find(|r| units.is_highlight(r)) else {
        return String::new();
    };
    let (mut more, mut less, mut same, mut withheld) = (0, 0, 0, 0);
    for r in rows.iter().filter(|r| units.is_highlight(r)) {
        let all = rows
            .iter()
            .find(|a| units.is_all(a) && a.str("item") == r.str("item"))
            .and_then(|a| a.f64("pct_certainly_true"));
        match (r.f64("pct_certainly_true"), all) {
            (Some(v), Some(a)) if v > a + 0.05 => more += 1,
            (Some(v), Some(a)) if v < a - 0.05 => less += 1,
            (Some(_), Some(_)) => same += 1,
            _ => withheld += 1,
        }
    }
    format!(
        " {}: certainly true more often than all compared on {more} items, less often on {less}, the same on {same}{}.",
        units.long_label(first),
        if withheld > 0 {
            format!(", withheld on {withheld}")
        } else {
            String::new()
        }
    )
}

fn version_label(v: &str) -> String {
    match v {
        "parent" => "Parent or carer version".to_string(),
        "child_9_11" => "Child version (9 to 11 years)".to_string(),
        "young_person_12_18" => "Young person version (12 to 18 years)".to_string(),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::svg::{contrast, ink_on};

    #[test]
    fn text_on_every_fill_has_aa_contrast() {
        for (fill, ink) in CATEGORY_COLOURS
            .iter()
            .chain([&UNKNOWN_COLOUR])
            .copied()
            .chain(ESQ_ANSWERS.iter().map(|(_, _, f, i)| (*f, *i)))
        {
            assert!(contrast(fill, ink) >= 4.5, "{ink} on {fill}");
            assert_eq!(ink, ink_on(fill), "{fill}");
        }
    }
}
