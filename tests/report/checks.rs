//! Checks of the drawn marks against the chart queries' rows.

use super::fixture::run_charts;
use cypdash::report::frame::Row;
use cypdash::report::{Level, ReportOptions};
use roxmltree::{Document, Node, ParsingOptions};
use std::collections::BTreeSet;
use std::path::Path;

/// Parse the report as XML (it is written to be XHTML-compatible).
pub fn parse(html: &str) -> Document<'_> {
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(html, options)
        .unwrap_or_else(|e| panic!("the report is not well-formed: {e}"))
}

pub fn has_class(node: &Node, class: &str) -> bool {
    node.attribute("class")
        .is_some_and(|c| c.split_whitespace().any(|x| x == class))
}

pub fn num(node: &Node, attr: &str) -> f64 {
    node.attribute(attr)
        .unwrap_or_else(|| panic!("no {attr} on <{}>", node.tag_name().name()))
        .parse()
        .unwrap_or_else(|e| panic!("{attr}: {e}"))
}

/// A linear scale read back from `data-*-domain` and `data-*-range`.
#[derive(Debug, Clone, Copy)]
pub struct Axis {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Axis {
    pub fn read(node: &Node, axis: &str) -> Self {
        let pair = |name: String| -> (f64, f64) {
            let text = node
                .attribute(name.as_str())
                .unwrap_or_else(|| panic!("no {name}"));
            let v: Vec<f64> = text
                .split_whitespace()
                .map(|t| t.parse().unwrap())
                .collect();
            (v[0], v[1])
        };
        let (d0, d1) = pair(format!("data-{axis}-domain"));
        let (r0, r1) = pair(format!("data-{axis}-range"));
        Self { d0, d1, r0, r1 }
    }

    pub fn invert(&self, px: f64) -> f64 {
        self.d0 + (px - self.r0) / (self.r1 - self.r0) * (self.d1 - self.d0)
    }

    pub fn map(&self, v: f64) -> f64 {
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }

    /// Data units per 0.01 px (the markup's rounding), with some slack.
    pub fn tolerance(&self) -> f64 {
        0.011 * ((self.d1 - self.d0) / (self.r1 - self.r0)).abs()
    }
}

/// The label a unit carries on the page.
fn unit_label(row: &Row, level: Level) -> String {
    let id = match level {
        Level::Partnership => row.i64("partnership_id"),
        Level::Service => row.i64("service_id"),
    };
    match (row.i64("partnership_id"), id) {
        (None, _) => "All".to_string(),
        (_, Some(id)) => id.to_string(),
        (_, None) => "All".to_string(),
    }
}

pub fn chart_svgs<'a>(doc: &'a Document, class: &str) -> Vec<Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| n.has_tag_name("svg") && has_class(n, class))
        .collect()
}

fn ids(svgs: &[Node]) -> Vec<String> {
    let set: BTreeSet<String> = svgs
        .iter()
        .map(|s| s.attribute("data-chart").unwrap().to_string())
        .collect();
    set.into_iter().collect()
}

/// Points of a path made of `M x y` and `L x y` commands.
fn path_points(d: &str) -> Vec<(f64, f64)> {
    d.split(['M', 'L'])
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let v: Vec<f64> = s.split_whitespace().map(|t| t.parse().unwrap()).collect();
            (v[0], v[1])
        })
        .collect()
}

/// Every funnel: one dot per non-suppressed unit row, where its value and n
/// put it; the suppressed rows listed; the limit lines through each unit's
/// limits; the highlighted unit marked.
pub fn check_funnels(html: &str, dir: &Path, options: &ReportOptions) {
    let doc = parse(html);
    let svgs = chart_svgs(&doc, "funnel");
    let catalog = cypdash::catalog::Catalog::embedded().unwrap();
    // A chart that needs items the data lacks (issue 13: `needs_items`)
    // draws no funnel but says why in its block.
    let without_items = |id: &str| {
        doc.descendants().any(|n| {
            n.has_tag_name("section")
                && n.attribute("data-chart") == Some(id)
                && n.descendants().any(|p| {
                    has_class(&p, "note-text")
                        && p.text()
                            .is_some_and(|t| t.starts_with("No rows: this chart reads"))
                })
        })
    };
    let funnel_charts: Vec<String> = catalog
        .charts()
        .filter(|c| cypdash::report::ChartKind::of(c) == cypdash::report::ChartKind::Funnel)
        .filter(|c| c.header.needs_items.is_empty() || !without_items(&c.id))
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(
        ids(&svgs),
        {
            let mut f = funnel_charts.clone();
            f.sort();
            f
        },
        "a drawing for every funnel chart"
    );
    let frames = run_charts(dir, options, &funnel_charts);
    let highlight = options.highlight().map(|h| h.to_string());
    let mut checked = 0;
    for svg in &svgs {
        let chart = svg.attribute("data-chart").unwrap();
        let metric = svg.attribute("data-metric");
        let frame = &frames.iter().find(|(id, _)| id == chart).unwrap().1;
        let rows: Vec<Row> = frame
            .iter()
            .filter(|r| r.i64("partnership_id").is_some())
            .filter(|r| metric.is_none() || r.str("metric") == metric)
            .collect();
        let plot = svg
            .descendants()
            .find(|n| has_class(n, "plot"))
            .expect("plot area");
        let (xs, ys) = (Axis::read(&plot, "x"), Axis::read(&plot, "y"));
        let marks: Vec<Node> = plot
            .descendants()
            .filter(|n| n.has_tag_name("circle") && has_class(n, "mark"))
            .collect();
        let expected: Vec<&Row> = rows.iter().filter(|r| r.f64("value").is_some()).collect();
        assert_eq!(
            marks.len(),
            expected.len(),
            "{chart} {metric:?}: one dot per non-suppressed row"
        );
        let figure = svg.parent().unwrap();
        for r in &rows {
            let label = unit_label(r, options.level);
            // n itself may be withheld (disclosure control); a shown value
            // always has its n.
            let n = r.f64("n");
            let Some(value) = r.f64("value") else {
                assert!(
                    r.get("suppressed") != &cypdash::report::frame::Value::Bool(false)
                        || n == Some(0.0),
                    "{chart}: a NULL value on a row that is not suppressed"
                );
                let listed = figure.descendants().any(|s| {
                    has_class(&s, "suppressed") && s.attribute("data-unit") == Some(label.as_str())
                });
                assert!(
                    listed,
                    "{chart} {metric:?}: suppressed unit {label} is not listed"
                );
                assert!(!marks
                    .iter()
                    .any(|m| m.attribute("data-unit") == Some(label.as_str())));
                continue;
            };
            let mark = marks
                .iter()
                .find(|m| m.attribute("data-unit") == Some(label.as_str()))
                .unwrap_or_else(|| panic!("{chart} {metric:?}: no dot for unit {label}"));
            let n = n.unwrap_or_else(|| panic!("{chart} {label}: a value without its n"));
            let (cx, cy) = (num(mark, "cx"), num(mark, "cy"));
            assert!(
                (xs.invert(cx) - n).abs() <= xs.tolerance(),
                "{chart} {label}: x {cx} is n {}, expected {n}",
                xs.invert(cx)
            );
            assert!(
                (ys.invert(cy) - value).abs() <= ys.tolerance(),
                "{chart} {label}: y {cy} is {}, expected {value}",
                ys.invert(cy)
            );
            // The report runs the chart in its own session: parallel float
            // sums may differ from this run's in the last bit.
            let dv = num(mark, "data-value");
            assert!(
                (dv - value).abs() <= 1e-12 * value.abs().max(1.0),
                "{chart} {label}: data-value {dv}, expected {value}"
            );
            assert_eq!(num(mark, "data-n"), n, "{chart} {label}");
            assert_eq!(
                mark.attribute("data-position"),
                r.str("position").or(Some("")),
                "{chart} {label}"
            );
            let is_hl = has_class(mark, "highlight");
            assert_eq!(
                is_hl,
                highlight.as_deref() == Some(label.as_str()),
                "{chart} {label}: highlight"
            );
            // The limit lines pass through the unit's own limits.
            for (class, column) in [
                ("inner upper", "upper_95"),
                ("inner lower", "lower_95"),
                ("outer upper", "upper_998"),
                ("outer lower", "lower_998"),
            ] {
                let Some(limit) = r.f64(column) else { continue };
                if limit < ys.d0.min(ys.d1) || limit > ys.d0.max(ys.d1) {
                    continue;
                }
                let path = plot
                    .descendants()
                    .find(|p| p.has_tag_name("path") && class.split(' ').all(|c| has_class(p, c)))
                    .unwrap_or_else(|| panic!("{chart}: no {class} limit line"));
                let pts = path_points(path.attribute("d").unwrap());
                let at = pts
                    .iter()
                    .find(|(x, _)| (x - cx).abs() < 0.006)
                    .unwrap_or_else(|| {
                        panic!("{chart} {label}: the {class} line has no point at n = {n}")
                    });
                assert!(
                    (ys.invert(at.1) - limit).abs() <= ys.tolerance(),
                    "{chart} {label}: {class} line at {} but the unit's limit is {limit}",
                    ys.invert(at.1)
                );
            }
            checked += 1;
        }
    }
    let _ = checked;
}

/// Category bars: a segment per non-withheld share, of the right width;
/// withheld shares named, never drawn.
pub fn check_categories(html: &str, dir: &Path, options: &ReportOptions) {
    let doc = parse(html);
    let svgs = chart_svgs(&doc, "categories");
    assert!(!svgs.is_empty());
    let charts = ids(&svgs);
    let frames = run_charts(dir, options, &charts);
    // A long chart comes as several drawings (pages of units, the All row
    // on each): every row is drawn on one of them.
    for chart in &charts {
        let frame = &frames.iter().find(|(id, _)| id == chart).unwrap().1;
        let pages: Vec<&Node> = svgs
            .iter()
            .filter(|s| s.attribute("data-chart") == Some(chart.as_str()))
            .collect();
        for r in frame.iter() {
            let label = unit_label(&r, options.level);
            let cat = r.str("category").unwrap();
            let on_page = |n: &Node| {
                n.attribute("data-unit") == Some(label.as_str())
                    && (has_class(n, "unit") || has_class(n, "seg") || has_class(n, "suppressed"))
            };
            let svg = pages
                .iter()
                .find(|s| s.descendants().any(|n| on_page(&n)))
                .unwrap_or_else(|| panic!("{chart}: unit {label} is on no page"));
            let plot = svg.descendants().find(|n| has_class(n, "plot")).unwrap();
            let xs = Axis::read(&plot, "x");
            let seg = plot.descendants().find(|n| {
                has_class(n, "seg")
                    && n.attribute("data-unit") == Some(label.as_str())
                    && n.attribute("data-category") == Some(cat)
            });
            match r.f64("pct") {
                Some(pct) => {
                    let seg = seg.unwrap_or_else(|| panic!("{chart} {label} {cat}: no segment"));
                    assert_eq!(num(&seg, "data-value"), pct);
                    let width = num(&seg, "width");
                    assert!(
                        (width - (xs.map(pct) - xs.map(0.0))).abs() < 0.011,
                        "{chart} {label} {cat}: width"
                    );
                }
                None => {
                    assert!(
                        seg.is_none(),
                        "{chart} {label} {cat}: a withheld share is drawn"
                    );
                    let named = plot.descendants().any(|n| {
                        has_class(&n, "suppressed")
                            && n.attribute("data-unit") == Some(label.as_str())
                            && (n.attribute("data-suppressed-categories").is_none()
                                || n.attribute("data-suppressed-categories")
                                    .unwrap()
                                    .split('|')
                                    .any(|c| c == cat))
                    });
                    assert!(
                        named,
                        "{chart} {label} {cat}: the withheld share is not named"
                    );
                }
            }
        }
    }
}

/// Change charts: a T1-T2 mark per row with both means, at their scores;
/// a suppressed note otherwise.
pub fn check_changes(html: &str, dir: &Path, options: &ReportOptions) {
    let doc = parse(html);
    let svgs = chart_svgs(&doc, "change");
    assert!(!svgs.is_empty());
    let charts = ids(&svgs);
    let frames = run_charts(dir, options, &charts);
    for chart in &charts {
        let frame = &frames.iter().find(|(id, _)| id == chart).unwrap().1;
        let panels: Vec<Node> = svgs
            .iter()
            .filter(|s| s.attribute("data-chart") == Some(chart.as_str()))
            .flat_map(|s| s.descendants().filter(|n| has_class(n, "panel")))
            .collect();
        for r in frame.iter() {
            let label = unit_label(&r, options.level);
            let scale = r.str("scale");
            // The panel of the scale on the page that holds the unit.
            let panel = panels
                .iter()
                .find(|n| {
                    n.attribute("data-scale") == scale
                        && n.descendants()
                            .any(|t| has_class(&t, "row-label") && t.text() == Some(label.as_str()))
                })
                .unwrap_or_else(|| panic!("{chart}: no panel for {scale:?} with {label}"));
            let xs = Axis::read(panel, "x");
            let mark = panel.descendants().find(|n| {
                has_class(n, "change") && n.attribute("data-unit") == Some(label.as_str())
            });
            match (r.f64("mean_t1"), r.f64("mean_t2")) {
                (Some(t1), Some(t2)) => {
                    let mark = mark.unwrap_or_else(|| panic!("{chart} {scale:?} {label}: no mark"));
                    assert_eq!(num(&mark, "data-t1"), t1);
                    assert_eq!(num(&mark, "data-t2"), t2);
                    let c1 = mark.descendants().find(|n| has_class(n, "t1")).unwrap();
                    let c2 = mark.descendants().find(|n| has_class(n, "t2")).unwrap();
                    assert!((xs.invert(num(&c1, "cx")) - t1).abs() <= xs.tolerance());
                    assert!((xs.invert(num(&c2, "cx")) - t2).abs() <= xs.tolerance());
                }
                _ => {
                    assert!(
                        mark.is_none(),
                        "{chart} {label}: a suppressed change is drawn"
                    );
                    assert!(
                        panel.descendants().any(|n| has_class(&n, "suppressed")
                            && n.attribute("data-unit") == Some(label.as_str())),
                        "{chart} {scale:?} {label}: no suppressed note"
                    );
                }
            }
        }
    }
}
