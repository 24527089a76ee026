//! The benchmark grid: one row per partnership, one column per headline
//! metric, each cell coloured and marked by the value's funnel position.

use super::frame::Row;
use super::svg::{data_num, el, num, Writer};
use super::{metric_label, Format, Ran, Units};

/// Fill, ink and mark of a funnel position (Okabe-Ito blues above, orange
/// and vermillion below; the marks carry the meaning without colour).
pub(crate) fn position_style(position: Option<&str>) -> (&'static str, &'static str, &'static str) {
    match position {
        Some("above_998") => ("#0072B2", "#ffffff", "▲▲"),
        Some("above_95") => ("#56B4E9", "#000000", "▲"),
        Some("inside") => ("#f2f2f2", "#000000", ""),
        Some("below_95") => ("#E69F00", "#000000", "▼"),
        Some("below_998") => ("#D55E00", "#ffffff", "▼▼"),
        _ => ("#ffffff", "#555555", ""),
    }
}

pub(crate) fn benchmark_chart(chart: &Ran, all: &[Ran], units: &Units, svg_id: &str) -> String {
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
    let mut partnerships: Vec<Row> = Vec::new();
    for r in chart.frame.iter() {
        if !partnerships
            .iter()
            .any(|p| p.i64("partnership_id") == r.i64("partnership_id"))
        {
            partnerships.push(r);
        }
    }
    partnerships.sort_by_key(|r| r.i64("partnership_id"));
    let format_of = |chart_id: &str| {
        all.iter()
            .find(|c| c.file.id == chart_id)
            .map(|c| Format::of_unit(c.unit_of("value")))
            .unwrap_or(Format::Decimals(2))
    };
    let column_title = |(chart_id, metric): &(String, String)| {
        let chart_title = all
            .iter()
            .find(|c| c.file.id == *chart_id)
            .map(|c| c.file.header.title.clone())
            .unwrap_or_else(|| chart_id.clone());
        if metric.is_empty() || chart_id.ends_with(metric.as_str()) {
            chart_title
        } else {
            metric_label(metric)
        }
    };

    let (label_w, cell_w, cell_h, head_h) = (170.0, 70.0, 20.0, 130.0);
    let width = label_w + columns.len() as f64 * cell_w + 40.0;
    let top = head_h + 30.0;
    let height = top + (partnerships.len() + 1) as f64 * cell_h + 60.0;
    let title_id = format!("{svg_id}-title");
    let desc_id = format!("{svg_id}-desc");
    let mut w = Writer::new();
    w.open(
        el("svg")
            .a("xmlns", "http://www.w3.org/2000/svg")
            .a("id", svg_id)
            .a("class", "chart benchmark")
            .a("viewBox", format!("0 0 {} {}", num(width), num(height)))
            .a("role", "img")
            .a("aria-labelledby", format!("{title_id} {desc_id}"))
            .a("data-chart", &chart.file.id),
    );
    w.text(
        el("title").a("id", &title_id),
        "Benchmarking: headline values and funnel positions",
    );
    w.text(
        el("desc").a("id", &desc_id),
        &format!(
            "A grid of {} partnerships by {} headline measures. Each cell gives the partnership's value; cells above the collaborative's funnel limits are blue and marked with up triangles, cells below are orange and marked with down triangles, suppressed cells are blank and say so. The first row gives the national value.",
            partnerships.len(),
            columns.len()
        ),
    );
    // Legend.
    w.open(el("g").a("class", "legend"));
    let legend = [
        (Some("above_998"), "above outer limit"),
        (Some("above_95"), "above inner limit"),
        (Some("inside"), "inside"),
        (Some("below_95"), "below inner limit"),
        (Some("below_998"), "below outer limit"),
    ];
    let mut x = 10.0;
    for (pos, text) in legend {
        let (fill, ink, mark) = position_style(pos);
        w.leaf(
            el("rect")
                .a("class", "cell")
                .a("x", x)
                .a("y", 6.0)
                .a("width", 26.0)
                .a("height", 14.0)
                .a("fill", fill),
        );
        w.text(
            el("text")
                .a("x", x + 13.0)
                .a("y", 17.0)
                .a("text-anchor", "middle")
                .a("fill", ink)
                .a("class", "cell-text"),
            mark,
        );
        w.text(el("text").a("x", x + 31.0).a("y", 17.0), text);
        x += 40.0 + text.len() as f64 * 6.0;
    }
    w.close();
    // Column heads, rotated.
    for (i, col) in columns.iter().enumerate() {
        let cx = label_w + i as f64 * cell_w + cell_w / 2.0;
        w.text(
            el("text").a("class", "col-head").a(
                "transform",
                format!("translate({} {}) rotate(-40)", num(cx), num(top - 6.0)),
            ),
            &column_title(col),
        );
    }
    // National row.
    w.text(
        el("text")
            .a("class", "row-label")
            .a("x", label_w - 8.0)
            .a("y", top + cell_h * 0.7)
            .a("text-anchor", "end"),
        "National",
    );
    for (i, (chart_id, metric)) in columns.iter().enumerate() {
        let value = chart
            .frame
            .iter()
            .find(|r| {
                r.str("chart") == Some(chart_id.as_str())
                    && r.str("metric") == Some(metric.as_str())
            })
            .and_then(|r| r.f64("national_value"));
        let x = label_w + i as f64 * cell_w;
        w.text(
            el("text")
                .a("class", "national")
                .a("x", x + cell_w / 2.0)
                .a("y", top + cell_h * 0.7)
                .a("text-anchor", "middle"),
            &value
                .map(|v| format_of(chart_id).text(v))
                .unwrap_or_else(|| "none".to_string()),
        );
    }
    w.open(el("g").a("class", "plot"));
    for (j, p) in partnerships.iter().enumerate() {
        let y = top + (j + 1) as f64 * cell_h;
        let hl = units.is_highlight(p);
        let label = match (p.i64("partnership_id"), p.str("partnership_name")) {
            (Some(id), Some(name)) => {
                let name: String = name.chars().take(18).collect();
                format!("{id} {name}")
            }
            (Some(id), None) => id.to_string(),
            _ => String::new(),
        };
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
                .a("x", label_w - 8.0)
                .a("y", y + cell_h * 0.7)
                .a("text-anchor", "end"),
            &label,
        );
        for (i, (chart_id, metric)) in columns.iter().enumerate() {
            let x = label_w + i as f64 * cell_w;
            let Some(r) = chart.frame.iter().find(|r| {
                r.i64("partnership_id") == p.i64("partnership_id")
                    && r.str("chart") == Some(chart_id.as_str())
                    && r.str("metric") == Some(metric.as_str())
            }) else {
                continue;
            };
            let fmt = format_of(chart_id);
            let position = r.str("position");
            let (fill, ink, mark) = position_style(position);
            let n = r.i64("n");
            let value = r.f64("value");
            w.open(
                el("g")
                    .a(
                        "class",
                        if hl {
                            "mark cell highlight"
                        } else {
                            "mark cell"
                        },
                    )
                    .a("data-unit", units.label(&r))
                    .a("data-chart", chart_id)
                    .a("data-metric", metric)
                    .a("data-value", value.map(data_num).unwrap_or_default())
                    .a_opt("data-n", n)
                    .a("data-position", position.unwrap_or("")),
            );
            let tip = match value {
                Some(v) => format!(
                    "{}, {}: {} ({}); collaborative {}, national {}{}",
                    units.long_label(&r),
                    column_title(&(chart_id.clone(), metric.clone())),
                    fmt.text(v),
                    super::n_text(n),
                    r.f64("collaborative_value")
                        .map(|c| fmt.text(c))
                        .unwrap_or_else(|| "none".to_string()),
                    r.f64("national_value")
                        .map(|c| fmt.text(c))
                        .unwrap_or_else(|| "none".to_string()),
                    position
                        .and_then(super::funnel::position_phrase)
                        .map(|p| format!("; {p}"))
                        .unwrap_or_default()
                ),
                None => format!("{}: {}", units.long_label(&r), super::withheld_text(n)),
            };
            w.text(el("title"), &tip);
            w.leaf(
                el("rect")
                    .a("x", x + 1.0)
                    .a("y", y + 1.0)
                    .a("width", cell_w - 2.0)
                    .a("height", cell_h - 2.0)
                    .a("fill", fill)
                    .a(
                        "class",
                        if value.is_none() {
                            "cell-bg suppressed"
                        } else {
                            "cell-bg"
                        },
                    ),
            );
            let text = match value {
                Some(v) => format!(
                    "{}{}{}",
                    fmt.text(v),
                    if mark.is_empty() { "" } else { " " },
                    mark
                ),
                None => "suppressed".to_string(),
            };
            w.text(
                el("text")
                    .a(
                        "class",
                        if value.is_none() {
                            "cell-text suppressed"
                        } else {
                            "cell-text"
                        },
                    )
                    .a("x", x + cell_w / 2.0)
                    .a("y", y + cell_h * 0.7)
                    .a("text-anchor", "middle")
                    .a("fill", ink),
                &text,
            );
            w.close();
        }
        if hl {
            w.leaf(
                el("rect")
                    .a("class", "highlight-frame")
                    .a("x", 4.0)
                    .a("y", y)
                    .a("width", label_w + columns.len() as f64 * cell_w)
                    .a("height", cell_h),
            );
        }
    }
    w.close();
    w.close();
    w.finish()
}
