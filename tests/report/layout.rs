//! The report as its readers see it (issue 14), checked on the markup's
//! geometry: axis ticks read as their values, no two labels collide, every
//! panel is titled, the benchmark carries the query's values with full
//! names and units, and every drawing fits a printed page.
//!
//! Text boxes are measured with the report's own width estimate
//! ([`cypdash::report::svg::text_width`], DejaVu Sans metrics rounded up);
//! `scripts/browser/checks.mjs` measures the same labels in Chromium.

use super::checks::*;
use super::fixture::*;
use cypdash::report::svg::{text_width, Rect};
use roxmltree::{Document, Node};

/// The reports checked: the demo (20 partnerships), 60 partnerships, and
/// their 170-odd teams.
fn reports() -> [(&'static str, &'static Demo); 3] {
    [
        ("demo", demo()),
        ("60 partnerships", sixty()),
        ("60 partnerships' teams", sixty_teams()),
    ]
}

fn text_of(n: &Node) -> String {
    n.descendants()
        .filter(|d| d.is_text())
        .map(|d| d.text().unwrap_or(""))
        .collect::<String>()
}

/// The box of an SVG text element laid out by its attributes.
fn text_box(n: &Node) -> Rect {
    let font = n
        .attribute("font-size")
        .map(|f| f.parse::<f64>().unwrap())
        .unwrap_or_else(|| panic!("label without a font-size: {}", text_of(n)));
    let bold = n.attribute("font-weight") == Some("bold");
    Rect::of_text(
        num(n, "x"),
        num(n, "y"),
        n.attribute("text-anchor").unwrap_or("start"),
        &text_of(n),
        font,
        bold,
    )
}

/// The number a tick label shows (`17.5`, `40%`, `1,000`).
fn label_value(text: &str) -> f64 {
    text.trim_end_matches('%')
        .replace(',', "")
        .parse()
        .unwrap_or_else(|e| panic!("tick label {text}: {e}"))
}

#[test]
fn tick_labels_read_as_their_values_issue_14() {
    for (name, report) in reports() {
        let doc = parse(&report.html);
        let mut axes = 0;
        for axis in doc
            .descendants()
            .filter(|n| has_class(n, "axis") || has_class(n, "panel"))
        {
            let ticks: Vec<(f64, String)> = axis
                .descendants()
                .filter(|t| t.has_tag_name("text") && t.attribute("data-tick").is_some())
                .map(|t| (num(&t, "data-tick"), text_of(&t)))
                .collect();
            if ticks.len() < 2 {
                continue;
            }
            axes += 1;
            let step = ticks[1].0 - ticks[0].0;
            let mantissa = step / 10f64.powf(step.log10().floor());
            assert!(
                [1.0, 2.0, 2.5, 5.0]
                    .iter()
                    .any(|m| (m - mantissa).abs() < 1e-6),
                "{name}: a tick step of {step}"
            );
            for (i, (t, text)) in ticks.iter().enumerate() {
                // Evenly spaced, and each label is its tick exactly (a
                // proportion axis shows percent).
                assert!(
                    (t - (ticks[0].0 + i as f64 * step)).abs() < 1e-9 * step.abs().max(1.0),
                    "{name}: uneven ticks {ticks:?}"
                );
                let shown = label_value(text);
                let is_pct_of_proportion = text.ends_with('%') && (shown - t * 100.0).abs() < 1e-6;
                assert!(
                    (shown - t).abs() < 1e-9 * t.abs().max(1.0) || is_pct_of_proportion,
                    "{name}: tick {t} is labelled {text}"
                );
            }
        }
        assert!(axes > 20, "{name}: only {axes} axes with ticks");
    }
}

#[test]
fn funnel_labels_never_collide_and_the_highlight_is_always_labelled_issue_14() {
    for (name, report) in reports() {
        let doc = parse(&report.html);
        for svg in chart_svgs(&doc, "funnel") {
            let chart = svg.attribute("data-chart").unwrap();
            let labels: Vec<Node> = svg
                .descendants()
                .filter(|n| n.has_tag_name("text") && has_class(n, "label"))
                .collect();
            let boxes: Vec<(String, Rect)> = labels
                .iter()
                .map(|n| (n.attribute("data-unit").unwrap().to_string(), text_box(n)))
                .collect();
            for (i, (a, ra)) in boxes.iter().enumerate() {
                for (b, rb) in &boxes[i + 1..] {
                    assert!(
                        !ra.overlaps(rb),
                        "{name} {chart}: labels {a} and {b} overlap"
                    );
                }
            }
            // No label over a dot (its own included).
            for dot in svg.descendants().filter(|n| {
                n.has_tag_name("circle") && has_class(n, "mark") && !has_class(n, "key")
            }) {
                let r = Rect::around(num(&dot, "cx"), num(&dot, "cy"), num(&dot, "r") * 0.9);
                for (unit, rb) in &boxes {
                    assert!(
                        !rb.overlaps(&r),
                        "{name} {chart}: the label of {unit} covers the dot of {}",
                        dot.attribute("data-unit").unwrap()
                    );
                }
            }
            // Every dot is labelled or listed under the plot.
            let figure = svg.parent().unwrap();
            let listed: Vec<&str> = figure
                .descendants()
                .filter(|n| {
                    n.has_tag_name("span")
                        && n.parent().is_some_and(|p| has_class(&p, "unlabelled"))
                })
                .filter_map(|n| n.attribute("data-unit"))
                .collect();
            for dot in svg.descendants().filter(|n| {
                n.has_tag_name("circle") && has_class(n, "mark") && !has_class(n, "key")
            }) {
                let unit = dot.attribute("data-unit").unwrap();
                let labelled = boxes.iter().any(|(u, _)| u == unit);
                assert!(
                    labelled || listed.contains(&unit),
                    "{name} {chart}: dot {unit} is neither labelled nor listed"
                );
                if has_class(&dot, "highlight") {
                    assert!(labelled, "{name} {chart}: the highlighted dot has no label");
                    let label = labels.iter().find(|l| has_class(l, "highlight")).unwrap();
                    // On a background: lines cannot strike it through.
                    let bg = label
                        .prev_sibling_element()
                        .filter(|b| has_class(b, "label-bg"))
                        .unwrap_or_else(|| panic!("{name} {chart}: no background"));
                    let bg = Rect::new(
                        num(&bg, "x"),
                        num(&bg, "y"),
                        num(&bg, "x") + num(&bg, "width"),
                        num(&bg, "y") + num(&bg, "height"),
                    );
                    assert!(bg.contains(&text_box(label)), "{name} {chart}");
                }
            }
            // The drawing's text fits its viewBox.
            let vb: Vec<f64> = svg
                .attribute("viewBox")
                .unwrap()
                .split(' ')
                .map(|v| v.parse().unwrap())
                .collect();
            let frame = Rect::new(0.0, 0.0, vb[2], vb[3]);
            for (unit, b) in &boxes {
                assert!(
                    frame.contains(b),
                    "{name} {chart}: label {unit} outside the drawing"
                );
            }
        }
    }
}

#[test]
fn tick_and_row_labels_do_not_overlap_issue_14() {
    for (name, report) in reports() {
        let doc = parse(&report.html);
        for axis in doc
            .descendants()
            .filter(|n| has_class(n, "axis") || has_class(n, "panel"))
        {
            let ticks: Vec<Rect> = axis
                .descendants()
                .filter(|t| t.has_tag_name("text") && t.attribute("data-tick").is_some())
                .map(|t| {
                    Rect::of_text(
                        num(&t, "x"),
                        num(&t, "y"),
                        t.attribute("text-anchor").unwrap_or("start"),
                        &text_of(&t),
                        10.5,
                        false,
                    )
                })
                .collect();
            for (i, a) in ticks.iter().enumerate() {
                for b in &ticks[i + 1..] {
                    assert!(!a.overlaps(b), "{name}: tick labels overlap: {a:?} {b:?}");
                }
            }
        }
    }
}

#[test]
fn every_panel_of_a_multi_panel_chart_is_titled_issue_14() {
    for (name, report) in reports() {
        let doc = parse(&report.html);
        for section in doc
            .descendants()
            .filter(|n| n.has_tag_name("section") && has_class(n, "chart"))
        {
            let chart = section.attribute("data-chart").unwrap();
            let svgs: Vec<Node> = section
                .descendants()
                .filter(|n| n.has_tag_name("svg"))
                .collect();
            if svgs.len() > 1 {
                for svg in &svgs {
                    let title = svg.descendants().find(|n| {
                        n.has_tag_name("text")
                            && (has_class(n, "panel-title") || has_class(n, "group-title"))
                    });
                    assert!(
                        title.is_some_and(|t| text_of(&t).len() > 3),
                        "{name} {chart}: {} has no visible title",
                        svg.attribute("id").unwrap()
                    );
                }
            }
            for panel in section.descendants().filter(|n| has_class(n, "panel")) {
                assert!(
                    panel.descendants().any(|n| has_class(&n, "panel-title")),
                    "{name} {chart}: an untitled panel"
                );
            }
        }
        // The two satisfaction funnels say whose they are.
        let titles: Vec<String> = doc
            .descendants()
            .filter(|n| {
                n.has_tag_name("svg")
                    && n.attribute("data-chart") == Some("experience/esq_satisfaction")
            })
            .map(|s| {
                text_of(
                    &s.descendants()
                        .find(|n| has_class(n, "panel-title"))
                        .unwrap(),
                )
            })
            .collect();
        assert_eq!(titles.len(), 2, "{name}");
        assert!(
            titles[0].starts_with("Parents") && titles[1].starts_with("Children"),
            "{titles:?}"
        );
    }
}

/// Print: every drawing fits an A4 landscape page at a legible size. Wide
/// drawings print at the page's width (277 mm) below the chart's title,
/// funnels at five eighths of it beside the discussion: no more than about
/// 150 mm tall either way, and long charts come as pages of at most 22 rows.
#[test]
fn every_drawing_fits_a_printed_page_issue_14() {
    for (name, report) in reports() {
        let doc = parse(&report.html);
        for svg in doc.descendants().filter(|n| n.has_tag_name("svg")) {
            let vb: Vec<f64> = svg
                .attribute("viewBox")
                .unwrap()
                .split(' ')
                .map(|v| v.parse().unwrap())
                .collect();
            let (width_mm, max_ratio) = if has_class(&svg, "funnel") {
                (168.0, 150.0 / 168.0)
            } else {
                (277.0, 150.0 / 277.0)
            };
            let ratio = vb[3] / vb[2];
            assert!(
                ratio <= max_ratio,
                "{name} {}: {:.0} x {:.0} prints {:.0} mm tall at {width_mm} mm wide",
                svg.attribute("id").unwrap(),
                vb[2],
                vb[3],
                width_mm * ratio
            );
            // Fonts print at 7 pt or more: the drawing is scaled by at most
            // width_mm / (its width in px at 96 dpi).
            let scale = (width_mm / 25.4 * 96.0 / vb[2]).min(1.0);
            for t in svg.descendants().filter(|n| n.has_tag_name("text")) {
                if let Some(f) = t.attribute("font-size") {
                    let pt = f.parse::<f64>().unwrap() * scale * 0.75;
                    assert!(pt >= 6.9, "{name}: {} at {pt:.1} pt", text_of(&t));
                }
            }
        }
        let style = doc.descendants().find(|n| n.has_tag_name("style")).unwrap();
        let css = style.text().unwrap();
        assert!(css.contains("figure { break-inside: avoid; }"), "{name}");
        assert!(
            css.contains(".chart .highlighted { break-after: avoid; }"),
            "{name}"
        );
    }
}

#[test]
fn the_benchmark_has_full_names_units_directions_and_the_collaborative_issue_14() {
    for (name, report) in [("demo", demo()), ("60 partnerships", sixty())] {
        let doc = parse(&report.html);
        let table = doc
            .descendants()
            .find(|n| n.has_tag_name("table") && has_class(n, "benchmark"))
            .unwrap_or_else(|| panic!("{name}: no benchmark"));
        let frames = super::fixture::run_charts(
            &report.data_dir,
            &report.options,
            &[
                "data_quality/benchmark".to_string(),
                "who/severity_sdq".to_string(),
            ],
        );
        let frame = &frames[0].1;
        // Column heads: readable names with the source chart's unit.
        let heads: Vec<Node> = table
            .descendants()
            .filter(|n| n.has_tag_name("th") && n.attribute("data-metric").is_some())
            .collect();
        assert_eq!(heads.len(), 9, "{name}");
        let sdq = heads
            .iter()
            .find(|h| h.attribute("data-metric") == Some("mean_t1_sdq_total_parent"))
            .unwrap();
        let sdq_text = text_of(sdq);
        assert!(
            sdq_text.contains("score 0-40") && !sdq_text.contains('_'),
            "{sdq_text}"
        );
        assert!(sdq_text.contains("no better direction"), "{sdq_text}");
        let idle = heads
            .iter()
            .find(|h| h.attribute("data-metric") == Some("idle"))
            .unwrap();
        assert!(text_of(idle).contains("lower is better"));
        for row in frame.iter() {
            let unit = row.i64("partnership_id").unwrap().to_string();
            let tr = table
                .descendants()
                .find(|n| n.has_tag_name("tr") && n.attribute("data-unit") == Some(unit.as_str()))
                .unwrap_or_else(|| panic!("{name}: no row for {unit}"));
            // The full name, never cut.
            let th = tr.children().find(|n| n.has_tag_name("th")).unwrap();
            assert_eq!(
                text_of(&th),
                format!("{unit} {}", row.str("partnership_name").unwrap()),
                "{name}"
            );
            let metric = row.str("metric").unwrap();
            let td = tr
                .children()
                .find(|n| n.attribute("data-metric") == Some(metric))
                .unwrap();
            match row.f64("value") {
                Some(v) => assert!((num(&td, "data-value") - v).abs() <= 1e-12 * v.abs().max(1.0)),
                None => assert_eq!(text_of(&td), "withheld"),
            }
            assert_eq!(
                td.attribute("data-position"),
                row.str("position").or(Some(""))
            );
            // Colour by better or worse only where the measure has a direction.
            let verdict = td.attribute("data-verdict").unwrap();
            let position = row.str("position").unwrap_or("");
            let expected = match (metric, position) {
                (_, "") => "withheld",
                (_, "inside") => "inside",
                ("mean_t1_sdq_total_parent" | "mean_t1_rcads_total_self", _) => "unusual",
                ("idle", p) if p.starts_with("below") => "better",
                ("idle", _) => "worse",
                (_, p) if p.starts_with("above") => "better",
                _ => "worse",
            };
            let expected = if row.f64("value").is_none() {
                "withheld"
            } else {
                expected
            };
            assert_eq!(verdict, expected, "{name} {unit} {metric} {position}");
            // The collaborative's value heads its group.
            if let (Some(c), Some(collab)) =
                (row.f64("collaborative_value"), row.str("collaborative"))
            {
                let head = table
                    .descendants()
                    .find(|n| n.attribute("data-collaborative") == Some(collab))
                    .unwrap_or_else(|| panic!("{name}: no row for collaborative {collab}"));
                let cell = head
                    .children()
                    .find(|n| n.attribute("data-metric") == Some(metric))
                    .unwrap();
                assert!((num(&cell, "data-value") - c).abs() <= 1e-12 * c.abs().max(1.0));
            }
        }
    }
}

/// Every drawing describes itself, and names the highlighted unit where it
/// has one; every data table is reachable by keyboard.
#[test]
fn drawings_describe_themselves_and_tables_are_reachable_issue_14() {
    let report = sixty();
    let doc: Document = parse(&report.html);
    let id = report.options.partnership.unwrap();
    for svg in doc.descendants().filter(|n| n.has_tag_name("svg")) {
        let desc = svg.children().find(|c| c.has_tag_name("desc")).unwrap();
        let text = text_of(&desc);
        let chart = svg.attribute("data-chart").unwrap();
        let highlighted = svg.descendants().any(|n| has_class(&n, "highlight"));
        if highlighted {
            assert!(
                text.contains(&format!("Partnership {id}")),
                "{chart}: the description does not name the highlighted partnership: {text}"
            );
        }
    }
    for wrap in doc.descendants().filter(|n| {
        has_class(n, "table-wrap")
            && n.ancestors()
                .any(|a| has_class(&a, "data") || has_class(&a, "benchmark-figure"))
    }) {
        assert_eq!(wrap.attribute("tabindex"), Some("0"));
        assert_eq!(wrap.attribute("role"), Some("region"));
        assert!(
            wrap.attribute("aria-label").is_some() || wrap.attribute("aria-labelledby").is_some()
        );
    }
    let _ = text_width;
}
