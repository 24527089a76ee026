//! The page: cover, sections with their progress indicator, one block per
//! chart (figure, discussion box, data table) and the key at the end.
//!
//! The markup is XHTML-compatible HTML (every element closed, only XML's
//! entities), with the styles inline and no scripts: native SVG `<title>`
//! elements give the tooltips, so everything reads without JavaScript.

use super::discussion::{self, Discussion};
use super::frame::{Row, Value};
use super::svg::{el, Writer};
use super::{bars, change, funnel, grid, national, ChartKind, Level, Ran, ReportOptions, Units};
use crate::catalog::Section;

const CSS: &str = r#"
@page { size: A4 landscape; margin: 9mm; }
* { box-sizing: border-box; }
body { margin: 0; background: #ffffff; color: #1a1a1a;
  font: 14px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 12px 24px 40px; }
h1, h2, h3, h4 { line-height: 1.2; }
a { color: #005a8c; }
.cover { padding: 8px 0 16px; }
.cover h1 { font-size: 30px; margin: 10px 0 4px; color: #0b3d60; }
.cover .subtitle { font-size: 17px; margin: 0 0 14px; color: #333; }
.sdc-warning { border: 2px solid #b00020; color: #b00020; font-weight: bold; padding: 6px 10px; }
.cover-grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 18px; }
.summary { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 10px; margin: 0 0 14px; }
.summary div { border: 1px solid #c9d6e0; border-top: 5px solid #0072B2; padding: 8px 10px; background: #f6f9fb; }
.summary dt { font-size: 12px; color: #444; margin: 0; }
.summary dd { font-size: 22px; font-weight: 700; margin: 2px 0 0; color: #0b3d60; }
.box { border: 1px solid #ccc; padding: 8px 14px; background: #fafafa; }
.box h2 { font-size: 16px; margin: 4px 0 6px; }
.box ul, .box ol { margin: 0; padding-left: 20px; }
.box li { margin: 2px 0; font-size: 13px; }
.toc ol { columns: 2; font-size: 13px; }
.toc li { margin: 0; }
.toc a { display: inline-block; min-height: 24px; padding: 3px 0; }
.scroll-region { overflow-x: auto; }
.scroll-region .table-wrap { overflow: visible; max-height: none; }
.progress ol { display: flex; gap: 4px; list-style: none; margin: 0 0 8px; padding: 0; }
.progress li { flex: 1; padding: 5px 8px; font-size: 12px; background: #e7edf2; color: #333;
  border-radius: 3px; }
.progress li.done { background: #c6dcec; }
.progress li.current { background: #0072B2; color: #ffffff; font-weight: 700; }
.progress a { color: inherit; }
.progress a:focus-visible, a:focus-visible, summary:focus-visible, .table-wrap:focus-visible {
  outline: 3px solid #D55E00; outline-offset: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; border: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.section-title { font-size: 22px; color: #0b3d60; margin: 26px 0 6px; padding-top: 6px;
  border-top: 4px solid #0072B2; }
.chart { margin: 18px 0 28px; padding-top: 6px; border-top: 1px solid #bbb; }
.chart h3 { font-size: 19px; margin: 6px 0 2px; }
.chart .description { font-size: 12.5px; color: #444; margin: 0 0 6px; max-width: 980px; }
.chart .highlighted { font-size: 12.5px; margin: 0 0 6px; }
.chart-body { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 18px;
  align-items: start; }
.chart-body.wide { grid-template-columns: minmax(0, 1fr); }
.chart-body.wide .discussion { columns: 2 320px; column-gap: 28px; }
.chart-body.wide .discussion h4 { break-after: avoid; }
.chart-body.wide .discussion ul, .chart-body.wide .discussion .indicator { break-inside: avoid; }
figure { margin: 0; }
figure svg { display: block; width: 100%; height: auto; }
figure + figure { margin-top: 10px; }
figcaption, .suppressed-list, .unlabelled, .note-text { font-size: 11.5px; color: #444; margin: 4px 0; }
figcaption.panel-caption { font-size: 13px; font-weight: 700; color: #0b3d60;
  break-after: avoid; }
.discussion { font-size: 12.5px; background: #f7f8f3; border: 1px solid #cfd3c4;
  border-left: 6px solid #009E73; padding: 6px 12px 8px; }
.discussion h4 { font-size: 13px; margin: 8px 0 2px; color: #0d4f3d; }
.discussion h4 .share { font-weight: 400; color: #555; }
.discussion p { margin: 2px 0; }
.discussion ul { margin: 2px 0; padding-left: 18px; }
.discussion li { margin: 1px 0; }
.discussion .indicator { border-top: 1px solid #cfd3c4; margin-top: 8px; padding-top: 4px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #d0d0d0; padding: 2px 6px; text-align: left; vertical-align: top; }
thead th { background: #eef2f5; }
tr.highlight th, tr.highlight td { background: #fde7d6; font-weight: 700; }
td.suppressed { color: #555; font-style: italic; }
table.metrics { margin: 10px 0 0; }
table.metrics caption, table.data-table caption { caption-side: top; text-align: left;
  font-size: 12px; color: #444; padding: 2px 0; }
details.data { margin: 10px 0 0; }
details.data summary { cursor: pointer; font-size: 12.5px; color: #005a8c; }
.table-wrap { overflow-x: auto; max-height: 420px; overflow-y: auto; }
.params { font-size: 11px; color: #666; margin: 6px 0 0; }
.key table { font-size: 13px; }
.bench-legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; padding: 0;
  margin: 4px 0; font-size: 12px; }
.bench-legend .swatch { display: inline-block; min-width: 30px; padding: 0 4px; text-align: center;
  border: 1px solid #8c8c8c; }
.table-wrap.bench-wrap { max-height: none; }
table.benchmark { font-size: 12px; width: 100%; }
table.benchmark thead th { vertical-align: bottom; font-size: 11.5px; }
table.benchmark thead th span { display: block; }
table.benchmark thead th .unit, table.benchmark thead th .direction { font-weight: 400;
  color: #404040; font-size: 10.5px; }
table.benchmark td { text-align: right; white-space: nowrap; }
table.benchmark td.withheld { font-style: italic; }
table.benchmark tr.reference th, table.benchmark tr.reference td { background: #eef2f5;
  font-weight: 700; }
table.benchmark tr.collaborative th, table.benchmark tr.collaborative td {
  border-top: 2px solid #5a5a5a; }
table.benchmark tr.highlight th, table.benchmark tr.highlight td { border-top: 3px solid #000;
  border-bottom: 3px solid #000; font-weight: 700; }
table.benchmark tbody th { font-weight: 400; min-width: 150px; }
footer { font-size: 11px; color: #666; border-top: 1px solid #ccc; margin-top: 30px; padding-top: 6px; }
svg.chart { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 11px; }
svg .grid { stroke: #e3e3e3; stroke-width: 1; }
svg .axis-line, svg .tick { stroke: #444; stroke-width: 1; }
svg .axis text, svg .tick-label { fill: #333; font-size: 10.5px; }
svg .axis-title { font-size: 11.5px; font-weight: 700; fill: #222; }
svg .legend text { font-size: 11px; fill: #222; }
svg .note { font-size: 10.5px; fill: #7a3b00; }
svg .centre { stroke: #000; stroke-width: 1.6; }
svg .limit { fill: none; stroke: #3d3d3d; }
svg .limit.inner { stroke-dasharray: 4 3; stroke-width: 1.2; }
svg .limit.outer { stroke-dasharray: 11 4; stroke-width: 1.7; }
svg.funnel circle.mark { fill: #0072B2; stroke: #ffffff; stroke-width: 1; }
svg.funnel circle.mark.highlight { fill: #D55E00; stroke: #000; stroke-width: 1.6; }
svg .label { fill: #222; paint-order: stroke; stroke: #ffffff; stroke-width: 2.5px;
  stroke-linejoin: round; }
svg .label.highlight { fill: #000; stroke-width: 3px; }
svg .label-bg { fill: #ffffff; fill-opacity: 0.92; stroke: #D55E00; stroke-width: 1; }
svg .leader { stroke: #D55E00; stroke-width: 1.4; }
svg .clip-mark { fill: #3d3d3d; }
svg .suppressed { fill: #555; font-style: italic; font-size: 10.5px; }
svg .suppressed.highlight { fill: #8a2f00; font-weight: 700; }
svg .row-label { fill: #222; font-size: 11px; }
svg .row-label.highlight, svg .bar-who.highlight { font-weight: 700; fill: #000; }
svg .row-note { fill: #444; font-size: 10.5px; }
svg .row-note.suppressed { fill: #555; }
svg .track { fill: #f3f3f3; stroke: #d5d5d5; }
svg rect.seg { stroke: #ffffff; stroke-width: 0.8; }
svg .seg-label { font-size: 10px; }
svg .seg-label.small { font-size: 8px; }
svg .highlight-frame { fill: none; stroke: #000; stroke-width: 2; }
svg .band { fill: #f5f7f9; }
svg.items circle.mark { fill: #0072B2; fill-opacity: 0.45; stroke: none; }
svg.items circle.mark.highlight { fill: #D55E00; fill-opacity: 1; stroke: #000; stroke-width: 1.2; }
svg .all-tick { stroke: #000; stroke-width: 2.2; }
svg .bar-who { font-size: 10.5px; fill: #333; }
svg .group-title, svg .panel-title { font-weight: 700; font-size: 12px; fill: #0b3d60; }
svg .change line { stroke: #8a8a8a; stroke-width: 1.6; }
svg .t1 { fill: #ffffff; stroke: #0072B2; stroke-width: 1.6; }
svg .t2 { fill: #0072B2; stroke: #0072B2; stroke-width: 1; }
svg .change.all line { stroke: #000; stroke-width: 2.2; }
svg .change.all .t1 { stroke: #000; }
svg .change.all .t2 { fill: #000; stroke: #000; }
svg .change.highlight line { stroke: #D55E00; stroke-width: 2.4; }
svg .change.highlight .t1 { stroke: #D55E00; stroke-width: 2; }
svg .change.highlight .t2 { fill: #D55E00; stroke: #000; }
svg .col-head { font-size: 10.5px; fill: #222; }
svg .cell-text { font-size: 9.5px; }
svg .cell-text.suppressed { font-size: 8.5px; }
svg .cell-bg.suppressed { stroke: #cccccc; stroke-dasharray: 2 2; }
svg .national { font-size: 9.5px; font-weight: 700; fill: #222; }
@media print {
  body { font-size: 11px; }
  main { max-width: none; padding: 0; }
  .dash-section { break-before: page; }
  .chart + .chart { break-before: page; }
  .chart { break-inside: avoid; margin: 0; border-top: none; }
  /* Printed, every chart page shows its section in the progress tabs; a
     section title of its own would be left alone on a page, since the
     first chart does not fit beneath it. */
  .section-title { display: none; }
  figure svg { max-height: 150mm; }
  /* Funnels take five eighths of the page's width (about 168 mm), the
     discussion the rest: their 11 px labels print at 7 pt. */
  .chart-body { grid-template-columns: minmax(0, 5fr) minmax(0, 3fr); gap: 12px; }
  .chart-body.wide { display: block; }
  /* A figure never splits, and its caption and notes stay with it; the
     chart's title stays with its first figure. Long charts come as
     several figures (pages of units), each of which fits a page. */
  figure { break-inside: avoid; }
  /* Tables run on across pages (their header repeats), so their figures
     may break; scroll regions print whole, unclipped. */
  figure.benchmark-figure, figure.table-figure { break-inside: auto; }
  .scroll-region { overflow: visible; }
  .progress, .chart h3, .chart .description, .chart .highlighted { break-after: avoid; }
  .chart-body.wide .discussion { break-inside: avoid; margin-top: 8px; }
  table.benchmark tr { break-inside: avoid; }
  table.metrics-page, table.key-table { break-inside: avoid; }
  /* A table's closing note stays with its last rows. */
  figure.table-figure figcaption { break-before: avoid; }
  .table-wrap.bench-wrap { overflow: visible; }
  /* The discussion box sits beside the chart on the same page: printed
     smaller, so that its longest text fits the page's height. */
  .discussion { font-size: 9.5px; line-height: 1.35; padding: 3px 9px 5px; }
  .discussion h4 { font-size: 10.5px; margin: 5px 0 1px; }
  details.data, .params { display: none; }
  .table-wrap { max-height: none; overflow: visible; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// The whole page.
pub(crate) fn page(
    ran: &[Ran],
    sections: &[Section],
    units: &Units,
    options: &ReportOptions,
    policy: crate::disclosure::Policy,
) -> String {
    let partnership_units = Units {
        level: Level::Partnership,
        highlight: options.partnership,
    };
    let title = options.title();
    let mut w = Writer::new();
    w.raw("<!DOCTYPE html>\n");
    w.open(
        el("html")
            .a("lang", "en-GB")
            .a("xmlns", "http://www.w3.org/1999/xhtml"),
    );
    w.open(el("head"));
    w.leaf(el("meta").a("charset", "utf-8"));
    w.leaf(
        el("meta")
            .a("name", "viewport")
            .a("content", "width=device-width, initial-scale=1"),
    );
    w.leaf(
        el("meta")
            .a("name", "generator")
            .a("content", format!("cypdash {}", env!("CARGO_PKG_VERSION"))),
    );
    w.text(el("title"), &title);
    w.text(el("style"), CSS);
    w.close();
    w.open(el("body"));
    w.open(el("main"));
    cover(&mut w, ran, sections, units, options, &title, policy);

    // Sections in dashboard order (the charts are in it).
    let mut shown: Vec<&str> = Vec::new();
    for c in ran {
        if !shown.contains(&c.file.section.as_str()) {
            shown.push(&c.file.section);
        }
    }
    for section in shown {
        let charts: Vec<&Ran> = ran.iter().filter(|c| c.file.section == section).collect();
        let heading = section_of(sections, section).heading();
        w.open(
            el("section")
                .a("class", "dash-section")
                .a("id", format!("section-{section}"))
                .a("aria-labelledby", format!("section-{section}-title")),
        );
        w.text(
            el("h2")
                .a("class", "section-title")
                .a("id", format!("section-{section}-title")),
            &heading,
        );
        for chart in charts {
            let u = match chart.kind {
                ChartKind::Benchmark | ChartKind::Key => &partnership_units,
                _ => units,
            };
            chart_block(&mut w, chart, ran, sections, u);
        }
        w.close();
    }
    w.open(el("footer"));
    w.text(
        el("p"),
        &format!(
            "Made by cypdash {} from the chart queries of its catalogue; every definition is in docs/definitions.md. Synthetic or real, the data never leave this file: it has no external links, fonts or scripts.",
            env!("CARGO_PKG_VERSION")
        ),
    );
    w.close();
    w.close().close().close();
    let mut out = w.finish();
    out.push('\n');
    out
}

/// A section's declaration (`queries/<section>/_section.toml`).
fn section_of(sections: &[Section], name: &str) -> Section {
    sections
        .iter()
        .find(|s| s.name == name)
        .cloned()
        .unwrap_or_else(|| Section::undeclared(name))
}

fn progress(w: &mut Writer, sections: &[Section], current: Option<&str>, at: &str) {
    let walked: Vec<&Section> = sections.iter().filter(|s| s.progress).collect();
    let pos = current.and_then(|c| walked.iter().position(|s| s.name == c));
    w.open(
        el("nav")
            .a("class", "progress")
            .a("aria-label", format!("Dashboard sections ({at})")),
    );
    w.open(el("ol"));
    for (i, section) in walked.iter().enumerate() {
        let class = match pos {
            Some(p) if p == i => "current",
            Some(p) if i < p => "done",
            _ => "todo",
        };
        w.open(
            el("li")
                .a("class", class)
                .a_opt("aria-current", (pos == Some(i)).then_some("step")),
        );
        w.text(
            el("a").a("href", format!("#section-{}", section.name)),
            &section.heading(),
        );
        w.close();
    }
    w.close().close();
}

fn cover(
    w: &mut Writer,
    ran: &[Ran],
    sections: &[Section],
    units: &Units,
    options: &ReportOptions,
    title: &str,
    policy: crate::disclosure::Policy,
) {
    let any = ran.first();
    let period =
        any.and_then(|c| Some((c.param_text("period_start")?, c.param_text("period_end")?)));
    let key = ran.iter().find(|c| c.kind == ChartKind::Key);
    let figures = cover_figures(ran, units);
    let mut collaboratives: Vec<String> = key
        .map(|k| {
            k.frame
                .iter()
                .filter_map(|r| r.str("collaborative").map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    collaboratives.sort();
    collaboratives.dedup();
    let collaborative =
        options
            .collaborative
            .clone()
            .unwrap_or_else(|| match collaboratives.as_slice() {
                [one] => one.clone(),
                [] => "all partnerships".to_string(),
                many => format!("all collaboratives ({})", many.join(", ")),
            });

    w.open(el("header").a("class", "cover").a("id", "cover"));
    w.text(el("h1"), title);
    let mut subtitle = format!("Collaborative: {collaborative}");
    if let Some((a, b)) = &period {
        subtitle.push_str(&format!(" · Period: {a} to {b}"));
    }
    if options.level == Level::Service {
        subtitle.push_str(" · Compared: teams");
        if let Some(p) = options.partnership {
            subtitle.push_str(&format!(" of partnership {p}"));
        }
    }
    w.text(el("p").a("class", "subtitle"), &subtitle);
    if policy == crate::disclosure::Policy::None {
        w.text(
            el("p").a("class", "sdc-warning").a("role", "alert"),
            "Not disclosure-controlled: small numbers are shown as they are. For the \
             service's own analysis only; do not share this page.",
        );
    }
    progress(w, sections, None, "cover");

    w.open(el("dl").a("class", "summary"));
    let mut item = |label: &str, value: String| {
        w.open(el("div"));
        w.text(el("dt"), label);
        w.text(el("dd"), &value);
        w.close();
    };
    for (label, value) in figures {
        item(
            &label,
            value
                .map(thousands)
                .unwrap_or_else(|| "not available".to_string()),
        );
    }
    let highlighted = highlighted_name(ran, units);
    item(
        "Highlighted",
        highlighted.unwrap_or_else(|| "none".to_string()),
    );
    // The policy's title names the small-number threshold by its
    // parameter: read it with the value the charts were run with.
    let policy_text = ran
        .iter()
        .find(|c| c.file.param("min_n").is_some())
        .map_or_else(|| policy.title().to_string(), |c| c.reader(policy.title()));
    item("Disclosure control", policy_text);
    item(
        "Charts",
        ran.iter()
            .filter(|c| c.kind != ChartKind::Key)
            .count()
            .to_string(),
    );
    w.close();

    w.open(el("div").a("class", "cover-grid"));
    w.open(el("section").a("class", "box"));
    w.text(el("h2"), "Using this dashboard");
    w.open(el("ol"));
    for p in discussion::USING_THE_DASHBOARD {
        w.text(el("li"), p);
    }
    w.close().close();
    w.open(el("section").a("class", "box"));
    w.text(el("h2"), "Reading a funnel plot");
    w.open(el("ul"));
    for p in discussion::FUNNEL_HOW_TO {
        w.text(el("li"), p);
    }
    w.close().close();
    w.close();

    w.open(el("nav").a("class", "box toc").a("aria-label", "Contents"));
    w.text(el("h2"), "Contents");
    w.open(el("ol"));
    for c in ran {
        w.open(el("li"));
        w.text(
            el("a").a("href", format!("#{}", anchor(&c.file.id))),
            &format!(
                "{}: {}",
                section_of(sections, &c.file.section).short,
                c.file.header.title
            ),
        );
        w.close();
    }
    w.close().close();
    w.close();
}

/// The cover's figures the charts declare (`[[chart.cover]]`), in
/// dashboard order: `None` where the chart's result does not give it.
fn cover_figures(ran: &[Ran], units: &Units) -> Vec<(String, Option<i64>)> {
    use crate::catalog::meta::Take;
    let mut out = Vec::new();
    for chart in ran {
        let Some(meta) = &chart.file.header.chart else {
            continue;
        };
        for f in &meta.cover {
            let column = f.column.as_deref().unwrap_or("n");
            let value = match f.take {
                Take::Rows => i64::try_from(chart.frame.len()).ok(),
                Take::Sum => Some(chart.frame.iter().filter_map(|r| r.i64(column)).sum()),
                Take::All => chart
                    .frame
                    .iter()
                    .find(|r| {
                        units.is_all(r)
                            && (f.metric.is_none() || r.str("metric") == f.metric.as_deref())
                    })
                    .and_then(|r| r.i64(column)),
            };
            out.push((f.label.clone(), value));
        }
    }
    out
}

fn highlighted_name(ran: &[Ran], units: &Units) -> Option<String> {
    let id = units.highlight?;
    for c in ran
        .iter()
        .filter(|c| c.kind != ChartKind::Key && c.kind != ChartKind::Benchmark)
    {
        if let Some(r) = c.frame.iter().find(|r| units.is_highlight(r)) {
            return Some(units.long_label(&r));
        }
    }
    Some(format!("{} {id}", units.level.noun()))
}

fn thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// The HTML id of a chart's block.
pub(crate) fn anchor(chart_id: &str) -> String {
    format!("chart-{}", chart_id.replace(['/', '_'], "-"))
}

fn chart_block(w: &mut Writer, chart: &Ran, all: &[Ran], sections: &[Section], units: &Units) {
    let id = anchor(&chart.file.id);
    // Each chart is a region named by its title; a chart titled like its
    // section (the key) names its region apart from the section's, since
    // two regions of one name cannot be told apart (axe: landmark-unique).
    let section_title = section_of(sections, &chart.file.section).title;
    let block = el("section")
        .a("class", format!("chart kind-{}", chart.kind.as_str()))
        .a("id", &id)
        .a("data-chart", &chart.file.id);
    w.open(if chart.file.header.title == section_title {
        block.a(
            "aria-label",
            format!("{}: {}", chart.file.header.title, what_it_is(chart.kind)),
        )
    } else {
        block.a("aria-labelledby", format!("{id}-h"))
    });
    progress(
        w,
        sections,
        Some(&chart.file.section),
        &chart.file.header.title,
    );
    w.text(
        el("h3").a("id", format!("{id}-h")),
        &chart.file.header.title,
    );
    // What the chart shows, in the reader's words: the first paragraph of
    // its discussion (`queries/<section>/<chart>.md`). The header's
    // description is for the people who write queries (`describe`).
    let d = reader_discussion(
        chart,
        chart.discussion.clone().unwrap_or_else(discussion::generic),
    );
    w.text(el("p").a("class", "description"), &d.shows);
    if let Some(hl) = units.highlight {
        if chart.kind != ChartKind::Key {
            let name = chart
                .frame
                .iter()
                .find(|r| units.is_highlight(r))
                .map(|r| units.long_label(&r))
                .unwrap_or_else(|| format!("{} {hl} (no row in this chart)", units.level.noun()));
            w.text(
                el("p").a("class", "highlighted"),
                &format!("Highlighted: {name}"),
            );
        }
    }
    // Wide drawings and tables take the page's width, the discussion
    // below them; funnels keep it beside.
    let wide = matches!(
        chart.kind,
        ChartKind::Key
            | ChartKind::Table
            | ChartKind::NationalMeasures
            | ChartKind::NationalPublished
            | ChartKind::Categories
            | ChartKind::Items
            | ChartKind::Esq
            | ChartKind::Change
            | ChartKind::Benchmark
    );
    w.open(el("div").a(
        "class",
        if wide {
            "chart-body wide"
        } else {
            "chart-body"
        },
    ));
    // Beside a funnel the discussion follows the drawing; above a wide
    // chart it comes first, so that printed it shares the title's page
    // and never sits alone on the page after the chart's last figure.
    let discuss = chart.kind != ChartKind::Key;
    if wide && discuss {
        discussion_box(w, &d, &chart.file.header.title);
    }
    w.open(el("div").a("class", "figures"));
    figures(w, chart, all, units, &id);
    w.close();
    if !wide && discuss {
        discussion_box(w, &d, &chart.file.header.title);
    }
    w.close();
    if chart.kind != ChartKind::Key {
        data_table(w, chart, units);
    }
    settings_line(w, chart);
    w.close();
}

/// What a chart block holds, to name it apart from its section.
fn what_it_is(kind: ChartKind) -> &'static str {
    match kind {
        ChartKind::Key
        | ChartKind::Table
        | ChartKind::Benchmark
        | ChartKind::NationalMeasures
        | ChartKind::NationalPublished => "the table",
        _ => "the chart",
    }
}

/// A chart's discussion in the reader's words.
fn reader_discussion(chart: &Ran, d: Discussion) -> Discussion {
    let words = |v: Vec<String>| -> Vec<String> { v.iter().map(|q| chart.reader(q)).collect() };
    Discussion {
        shows: chart.reader(&d.shows),
        data_issues: words(d.data_issues),
        practice: words(d.practice),
        indicator: d.indicator.map(|i| chart.reader(&i)),
    }
}

fn figures(w: &mut Writer, chart: &Ran, all: &[Ran], units: &Units, id: &str) {
    if let Some(note) = &chart.note {
        w.text(el("p").a("class", "note-text"), &chart.reader(note));
        return;
    }
    match chart.kind {
        ChartKind::Funnel => {
            if chart.curves.is_empty() {
                w.text(el("p").a("class", "note-text"), "No rows to plot.");
            }
            for (k, curve) in chart.curves.iter().enumerate() {
                w.open(el("figure"));
                // Several funnels of one chart: each names its metric.
                let panel_title = curve
                    .metric
                    .as_deref()
                    .filter(|_| chart.curves.len() > 1)
                    .map(|m| chart.metric_label(m));
                w.raw(&funnel::draw(
                    chart,
                    curve,
                    units,
                    &format!("{id}-svg{k}"),
                    panel_title.as_deref(),
                ));
                if let Some(list) = funnel::suppressed_list(chart, curve.metric.as_deref(), units) {
                    w.raw(&list);
                }
                w.close();
            }
            if let Some(table) = funnel::other_metrics_table(chart, units) {
                w.raw(&table);
            }
        }
        ChartKind::Categories => {
            open_pages(
                w,
                &bars::categories_chart(chart, units, &format!("{id}-svg0")),
            );
            w.text(
                el("figcaption"),
                &format!("Shares are of each {}'s in-scope referrals. Values withheld by disclosure control (see the cover) are named beside the bar, never drawn as zero.", units.level.noun()),
            );
            w.close();
        }
        ChartKind::Items => {
            open_pages(w, &bars::items_chart(chart, units, &format!("{id}-svg0")));
            w.text(
                el("figcaption"),
                &format!("Where disclosure control withholds a {}'s value for an item, it has no dot for that item: the value is withheld, not zero.", units.level.noun()),
            );
            w.close();
        }
        ChartKind::Esq => {
            open_pages(w, &bars::esq_chart(chart, units, &format!("{id}-svg0")));
            w.text(
                el("figcaption"),
                &format!("Shares of questionnaires answering the item (don't know left out); small numbers are withheld by disclosure control. The data table gives every {}.", units.level.noun()),
            );
            w.close();
        }
        ChartKind::Change => {
            open_pages(
                w,
                &change::change_chart(chart, units, &format!("{id}-svg0")),
            );
            w.text(
                el("figcaption"),
                &format!("Means over the paired cases of each {}; means over too few cases for disclosure control are withheld.", units.level.noun()),
            );
            w.close();
            if let Some(t) = change::shares_table(chart, units) {
                w.raw(&t);
            }
        }
        ChartKind::Benchmark => {
            w.open(el("figure").a("class", "benchmark-figure"));
            w.raw(&grid::benchmark_chart(
                chart,
                all,
                units,
                &format!("{id}-grid"),
            ));
            w.close();
        }
        // The national tables scroll sideways inside a focusable region
        // (keyboard users can scroll it).
        ChartKind::NationalMeasures => {
            w.open(el("figure").a("class", "table-figure"));
            w.open(
                el("div")
                    .a("class", "scroll-region")
                    .a("role", "region")
                    .a("tabindex", "0")
                    .a(
                        "aria-label",
                        format!("Table, scrolls sideways: {}", chart.file.header.title),
                    ),
            );
            w.raw(&national::measures_table(chart, units));
            w.close();
            w.text(
                el("figcaption"),
                "Clinician-rated measures are left out: nationally they are CGAS and HoNOSCA, which cypdash does not hold, so their counts are 0 (the data table lists them). Percentages are unrounded; a value withheld by disclosure control reads withheld.",
            );
            w.close();
        }
        ChartKind::NationalPublished => {
            w.open(el("figure").a("class", "table-figure"));
            w.open(
                el("div")
                    .a("class", "scroll-region")
                    .a("role", "region")
                    .a("tabindex", "0")
                    .a(
                        "aria-label",
                        format!("Table, scrolls sideways: {}", chart.file.header.title),
                    ),
            );
            w.raw(&national::published_table(chart, units));
            w.close();
            w.text(
                el("figcaption"),
                "The published column applies NHS England's disclosure rule whatever policy this report uses; the data table gives every breakdown (partnerships, teams, age band, gender, ethnic group, referral source).",
            );
            w.close();
        }
        ChartKind::Key => key_table(w, chart, units),
        ChartKind::Table => {
            w.text(
                el("p").a("class", "note-text"),
                "This chart has no drawing of its own in the report; its values are in the data table below.",
            );
        }
    }
}

/// A chart drawn as several pages: a figure each, the last left open for
/// the caption that follows.
fn open_pages(w: &mut Writer, pages: &[String]) {
    for (i, svg) in pages.iter().enumerate() {
        if i > 0 {
            w.close();
        }
        w.open(el("figure"));
        w.raw(svg);
    }
}

fn discussion_box(w: &mut Writer, d: &Discussion, chart_title: &str) {
    w.open(
        el("aside")
            .a("class", "discussion")
            .a("aria-label", format!("Discussion: {chart_title}")),
    );
    if !d.data_issues.is_empty() {
        w.open(el("h4"));
        w.content("Could the data mislead us? ");
        w.text(
            el("span").a("class", "share"),
            "(about a quarter of the discussion)",
        );
        w.close();
        w.open(el("ul").a("class", "data-issues"));
        for q in &d.data_issues {
            w.text(el("li"), q);
        }
        w.close();
    }
    if !d.practice.is_empty() {
        w.open(el("h4"));
        w.content("If the data are right, what would we look into and change? ");
        w.text(el("span").a("class", "share"), "(about three quarters)");
        w.close();
        w.open(el("ul").a("class", "practice"));
        for q in &d.practice {
            w.text(el("li"), q);
        }
        w.close();
    }
    if let Some(qi) = &d.indicator {
        w.open(el("div").a("class", "indicator"));
        w.text(el("h4"), "Relevant quality indicator");
        w.text(el("p"), qi);
        w.close();
    }
    w.close();
}

/// Every row of the chart's result, in a collapsed table.
fn data_table(w: &mut Writer, chart: &Ran, units: &Units) {
    let frame = &chart.frame;
    // Leave out columns that are NULL on every row.
    let keep: Vec<usize> = (0..frame.columns.len())
        .filter(|i| frame.rows.iter().any(|r| r[*i] != Value::Null))
        .collect();
    w.open(el("details").a("class", "data"));
    w.text(
        el("summary"),
        &format!(
            "Data table: {} ({} rows)",
            chart.file.header.title,
            frame.len()
        ),
    );
    // Scrollable, so reachable and scrollable by keyboard.
    w.open(
        el("div")
            .a("class", "table-wrap")
            .a("role", "region")
            .a("tabindex", "0")
            .a(
                "aria-label",
                format!("Data table of {}", chart.file.header.title),
            ),
    );
    w.open(
        el("table")
            .a("class", "data-table")
            .a("data-chart", &chart.file.id),
    );
    w.text(
        el("caption"),
        &format!("{}: the chart query's result (empty cells are NULL; “suppressed” marks a withheld value).", chart.file.header.title),
    );
    w.open(el("thead")).open(el("tr"));
    // Columns by their names in words, their descriptions as tooltips.
    for i in &keep {
        let name = &frame.columns[*i];
        let title = chart.description_of(name);
        w.text(
            el("th").a("scope", "col").a_opt("title", title),
            &super::code_in_words(name),
        );
    }
    w.close().close();
    w.open(el("tbody"));
    for row in frame.iter() {
        let suppressed = row.flag("suppressed");
        w.open(el("tr").a_opt("class", units.is_highlight(&row).then_some("highlight")));
        for i in &keep {
            let v = &row.values()[*i];
            match v {
                Value::Null if suppressed => {
                    w.text(el("td").a("class", "suppressed"), "suppressed")
                }
                Value::Text(code) => w.text(el("td"), &cell_text(chart, &frame.columns[*i], code)),
                other => w.text(el("td"), &other.display()),
            };
        }
        w.close();
    }
    w.close().close().close().close();
}

/// A text cell of the data table in words: a metric by its label, a
/// funnel position as a phrase, a chart id by its title, other codes in
/// words (`esq_01`: "ESQ 01").
fn cell_text(chart: &Ran, column: &str, value: &str) -> String {
    match column {
        "metric" => chart.metric_label(value),
        "chart" => chart
            .chart_title(value)
            .map_or_else(|| chart.reader(value), str::to_string),
        "position" => {
            funnel::position_phrase(value).map_or_else(|| chart.reader(value), str::to_string)
        }
        _ => chart.reader(value),
    }
}

/// The values the chart was run with, in words (`describe` names the
/// parameters).
fn settings_line(w: &mut Writer, chart: &Ran) {
    let text = chart.settings();
    if !text.is_empty() {
        w.text(el("p").a("class", "params"), &format!("Settings: {text}."));
    }
}

fn key_table(w: &mut Writer, chart: &Ran, units: &Units) {
    w.open(el("div").a("class", "key"));
    let columns: Vec<(&str, &str)> = vec![
        ("partnership_id", "Number"),
        ("partnership_name", "Partnership"),
        ("collaborative", "Collaborative"),
        ("services", "Services"),
        ("referrals", "In-scope referrals"),
    ];
    // Blocks of KEY_ROWS rows, each kept whole when printed.
    let rows: Vec<Row> = chart.frame.iter().collect();
    for (i, range) in super::svg::chunks(rows.len(), KEY_ROWS)
        .into_iter()
        .enumerate()
    {
        w.open(
            el("table")
                .a("class", "data-table key-table")
                .a("data-chart", &chart.file.id),
        );
        w.text(
            el("caption"),
            if i == 0 {
                "Partnership numbers as they appear on the charts"
            } else {
                "Partnership numbers (continued)"
            },
        );
        w.open(el("thead")).open(el("tr"));
        for (_, head) in &columns {
            w.text(el("th").a("scope", "col"), head);
        }
        w.close().close().open(el("tbody"));
        for row in &rows[range] {
            key_row(w, row, &columns, units);
        }
        w.close().close();
    }
    w.close();
}

/// Rows of the key per printed block.
const KEY_ROWS: usize = 25;

fn key_row(w: &mut Writer, row: &Row, columns: &[(&str, &str)], units: &Units) {
    w.open(
        el("tr")
            .a_opt("class", units.is_highlight(row).then_some("highlight"))
            .a_opt("data-unit", row.i64("partnership_id")),
    );
    for (i, (col, _)) in columns.iter().enumerate() {
        let v = row.get(col);
        let text = match v {
            Value::Null if row.flag("suppressed") => "suppressed".to_string(),
            other => other.display(),
        };
        if i == 0 {
            w.text(el("th").a("scope", "row"), &text);
        } else if *v == Value::Null && row.flag("suppressed") {
            w.text(el("td").a("class", "suppressed"), &text);
        } else {
            w.text(el("td"), &text);
        }
    }
    w.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-12345), "-12,345");
    }

    #[test]
    fn anchors_are_plain() {
        assert_eq!(anchor("who/some_chart"), "chart-who-some-chart");
    }

    #[test]
    fn styles_are_xml_safe_and_print_to_a4_landscape() {
        assert!(!CSS.contains('<') && !CSS.contains('&'));
        assert!(CSS.contains("size: A4 landscape"));
    }
}
