//! Funnel plots: a dot per unit at (n, value), the centre line and the two
//! pairs of limit curves.
//!
//! The curves come from the SQL function `funnel_limits`, evaluated at many
//! n with the chart's own centre, kind and coverages. A funnel chart does
//! not output its spread (sigma for means, r for effect sizes), but for
//! those kinds the limits are centre +- z S / sqrt(n) with one constant S
//! per chart; S is read back from the chart's own limits at the largest
//! unit, again through `funnel_limits`. Every curve is then checked against
//! the limits the chart reported for each unit; if they disagree (for
//! example with overdispersion, whose tau2 the chart does not output), the
//! lines join the units' own limits instead, and the plot says so.

use super::bars::TABLE_ROWS;
use super::frame::Row;
use super::svg::{
    chunks, data_num, el, nice_ticks, num, text_width, PathData, Placer, Rect, Scale, Writer,
};
use super::{Format, Ran, ReportError, Units};
use crate::dashboard::Dashboard;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};

/// The limit lines of one funnel.
#[derive(Debug, Clone)]
pub(crate) struct Curve {
    /// The metric (None: the chart has no metric column).
    pub metric: Option<String>,
    /// (n, lower inner, upper inner, lower outer, upper outer), by n.
    pub points: Vec<[f64; 5]>,
    /// How the lines were obtained.
    pub method: CurveMethod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CurveMethod {
    /// `funnel_limits` at every n, matching the chart's limits.
    Exact,
    /// Straight lines between the units' own limits.
    Joined,
    /// No unit with limits: nothing to draw.
    None,
}

impl CurveMethod {
    fn as_str(self) -> &'static str {
        match self {
            CurveMethod::Exact => "exact",
            CurveMethod::Joined => "joined",
            CurveMethod::None => "none",
        }
    }
}

/// The metrics of a funnel chart to draw as funnels.
pub(crate) fn headline_metrics(chart: &Ran) -> Vec<Option<String>> {
    if !chart.frame.has("metric") {
        return vec![None];
    }
    let mut present: Vec<String> = Vec::new();
    for row in chart.frame.iter() {
        if let Some(m) = row.str("metric") {
            if !present.iter().any(|p| p == m) {
                present.push(m.to_string());
            }
        }
    }
    // The headline metrics the header declares, in its order; none
    // declared or present: the first metric of the result.
    let chosen: Vec<Option<String>> = chart
        .file
        .header
        .metrics
        .iter()
        .filter(|m| m.headline && present.contains(&m.code))
        .map(|m| Some(m.code.clone()))
        .collect();
    if !chosen.is_empty() {
        chosen
    } else {
        present.into_iter().take(1).map(Some).collect()
    }
}

/// The rows of one metric (all rows when `metric` is None).
pub(crate) fn metric_rows<'a>(chart: &'a Ran, metric: Option<&str>) -> Vec<Row<'a>> {
    chart
        .frame
        .iter()
        .filter(|r| metric.is_none() || r.str("metric") == metric)
        .collect()
}

/// Compute the limit lines of every headline metric of a funnel chart.
pub(crate) async fn curves(dashboard: &Dashboard, chart: &Ran) -> Result<Vec<Curve>, ReportError> {
    let mut out = Vec::new();
    for metric in headline_metrics(chart) {
        let rows = metric_rows(chart, metric.as_deref());
        let curve =
            curve_for(dashboard, chart, &rows)
                .await
                .map_err(|source| ReportError::Curve {
                    chart: chart.file.id.clone(),
                    source,
                })?;
        out.push(Curve {
            metric,
            points: curve.0,
            method: curve.1,
        });
    }
    Ok(out)
}

/// A unit with limits: (n, [lower inner, upper inner, lower outer, upper outer]).
fn units_with_limits(rows: &[Row]) -> Vec<(f64, [f64; 4])> {
    rows.iter()
        .filter_map(|r| {
            let n = r.f64("n")?;
            let l = [
                r.f64("lower_95")?,
                r.f64("upper_95")?,
                r.f64("lower_998")?,
                r.f64("upper_998")?,
            ];
            (n > 0.0).then_some((n, l))
        })
        .collect()
}

async fn curve_for(
    dashboard: &Dashboard,
    chart: &Ran,
    rows: &[Row<'_>],
) -> Result<(Vec<[f64; 5]>, CurveMethod), datafusion::error::DataFusionError> {
    let with_limits = units_with_limits(rows);
    let centre = rows.iter().find_map(|r| r.f64("centre"));
    let (Some(centre), false) = (centre, with_limits.is_empty()) else {
        return Ok((Vec::new(), CurveMethod::None));
    };
    let inner = chart.param_f64("coverage_inner").unwrap_or(95.0);
    let outer = chart.param_f64("coverage_outer").unwrap_or(99.8);
    let max_n = with_limits.iter().map(|(n, _)| *n).fold(0.0, f64::max);
    let ((_, x_max), _) = nice_ticks(0.0, (max_n * 1.05).max(1.0), 6);
    let ns = sample_ns(x_max, with_limits.iter().map(|(n, _)| *n));

    // kind and spread for funnel_limits.
    let (kind, spread) = match chart.param_text("funnel_kind") {
        Some(kind) => {
            if chart.params.get("overdispersion")
                == Some(&datafusion::scalar::ScalarValue::Boolean(Some(true)))
            {
                // tau2 is not in the chart's output: join the units' limits.
                return Ok((joined(&with_limits), CurveMethod::Joined));
            }
            (kind, 0.0)
        }
        None => {
            // centre +- z S / sqrt(n): read S back from the largest unit.
            let (n, l) = with_limits
                .iter()
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .copied()
                .expect("not empty");
            let half = l[1] - centre;
            if half.abs() < 1e-12 {
                return Ok((joined(&with_limits), CurveMethod::Joined));
            }
            let sql = format!(
                "SELECT lim['upper'] AS u FROM (SELECT funnel_limits('mean', {c}, {n}, {cov}, 1.0) AS lim)",
                c = sql_num(centre),
                n = sql_num(n),
                cov = sql_num(inner),
            );
            let batches = dashboard.engine().sql(&sql).await?;
            let unit = first_f64(&batches, 0).unwrap_or(f64::NAN);
            let s = half / (unit - centre);
            if !s.is_finite() || s <= 0.0 {
                return Ok((joined(&with_limits), CurveMethod::Joined));
            }
            ("mean".to_string(), s)
        }
    };
    let values = ns
        .iter()
        .map(|n| format!("({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT n, i['lower'] AS l1, i['upper'] AS u1, o['lower'] AS l2, o['upper'] AS u2 FROM ( \
           SELECT n, \
             funnel_limits('{kind}', {c}, n, {inner}, {s}, 0.0) AS i, \
             funnel_limits('{kind}', {c}, n, {outer}, {s}, 0.0) AS o \
           FROM (SELECT column1 AS n FROM (VALUES {values}))) ORDER BY n",
        kind = kind.replace('\'', "''"),
        c = sql_num(centre),
        inner = sql_num(inner),
        outer = sql_num(outer),
        s = sql_num(spread),
    );
    let batches = dashboard.engine().sql(&sql).await?;
    let mut points = Vec::new();
    for b in &batches {
        let n = b.column(0).as_primitive::<Int64Type>();
        let cols: Vec<_> = (1..5)
            .map(|i| b.column(i).as_primitive::<Float64Type>())
            .collect();
        for r in 0..b.num_rows() {
            if cols.iter().any(|c| c.is_null(r)) {
                continue;
            }
            points.push([
                n.value(r) as f64,
                cols[0].value(r),
                cols[1].value(r),
                cols[2].value(r),
                cols[3].value(r),
            ]);
        }
    }
    // The curve must pass through every unit's reported limits.
    let agrees = with_limits.iter().all(|(n, l)| {
        points
            .iter()
            .find(|p| p[0] == *n)
            .is_some_and(|p| (0..4).all(|k| (p[k + 1] - l[k]).abs() <= 1e-6 * (1.0 + l[k].abs())))
    });
    if agrees {
        Ok((points, CurveMethod::Exact))
    } else {
        Ok((joined(&with_limits), CurveMethod::Joined))
    }
}

fn first_f64(batches: &[datafusion::arrow::array::RecordBatch], col: usize) -> Option<f64> {
    let b = batches.iter().find(|b| b.num_rows() > 0)?;
    let a = b.column(col).as_primitive::<Float64Type>();
    (!a.is_null(0)).then(|| a.value(0))
}

/// A number as a SQL literal of type double.
fn sql_num(x: f64) -> String {
    let s = format!("{x:?}");
    format!("CAST({s} AS DOUBLE)")
}

/// Whole n at which to evaluate the curves: every n up to 200, then 200
/// evenly spaced up to `x_max`, plus every unit's n.
fn sample_ns(x_max: f64, unit_ns: impl Iterator<Item = f64>) -> Vec<i64> {
    let top = x_max.max(1.0).ceil() as i64;
    let mut ns: Vec<i64> = (1..=top.min(200)).collect();
    if top > 200 {
        let step = (top - 200) as f64 / 200.0;
        ns.extend((1..=200).map(|i| 200 + (i as f64 * step).round() as i64));
    }
    ns.extend(
        unit_ns
            .filter(|n| n.fract() == 0.0 && *n >= 1.0)
            .map(|n| n as i64),
    );
    ns.sort_unstable();
    ns.dedup();
    ns
}

/// Lines through the units' own limits, by n.
fn joined(with_limits: &[(f64, [f64; 4])]) -> Vec<[f64; 5]> {
    let mut pts: Vec<[f64; 5]> = with_limits
        .iter()
        .map(|(n, l)| [*n, l[0], l[1], l[2], l[3]])
        .collect();
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
    pts.dedup_by(|a, b| a[0] == b[0]);
    pts
}

/// Plot geometry: the plot area runs from `LEFT` to `RIGHT` and, below the
/// legend (and the panel title of a multi-funnel chart), `PLOT_H` tall.
const W: f64 = 720.0;
const LEFT: f64 = 96.0;
const RIGHT: f64 = 704.0;
const PLOT_H: f64 = 336.0;
/// Label fonts (pixels), set as attributes so the layout tests can measure.
const LABEL_PX: f64 = 11.0;
const HIGHLIGHT_PX: f64 = 12.5;
const NOTE_PX: f64 = 10.5;
const DOT_R: f64 = 4.5;
const HIGHLIGHT_R: f64 = 7.0;

/// Draw one funnel (one metric of a chart): the SVG, then, when some dots
/// had no room for their label, a list of them.
///
/// `panel_title` names the funnel inside the drawing (charts with several).
pub(crate) fn draw(
    chart: &Ran,
    curve: &Curve,
    units: &Units,
    svg_id: &str,
    panel_title: Option<&str>,
) -> String {
    let rows = metric_rows(chart, curve.metric.as_deref());
    let fmt = Format::of_unit(chart.unit_of("value"));
    let plotted: Vec<&Row> = rows
        .iter()
        .filter(|r| !units.is_all(r) && r.f64("value").is_some() && r.f64("n").is_some())
        .collect();
    let centre = rows.iter().find_map(|r| r.f64("centre"));
    let max_n = rows
        .iter()
        .filter(|r| !units.is_all(r))
        .filter_map(|r| r.f64("n"))
        .fold(0.0, f64::max);

    // Vertical layout.
    let title_h = if panel_title.is_some() { 24.0 } else { 0.0 };
    let legend_y = title_h + 16.0;
    let top = title_h + 40.0;
    let bottom = top + PLOT_H;

    // Domains: x from 0 to past the largest unit; y fitted to the dots, the
    // centre and the limits at the largest unit (where the funnel is
    // narrowest). A dot inside its limits needs no more to show it inside,
    // and one outside lies beyond them; the funnel's mouth at small n is
    // cut at the edge, and the cut is marked.
    let ((x0, x1), x_ticks) = nice_ticks(0.0, (max_n * 1.05).max(1.0), 6);
    let mut ys: Vec<f64> = plotted.iter().filter_map(|r| r.f64("value")).collect();
    ys.extend(centre);
    if let Some(p) = curve
        .points
        .iter()
        .filter(|p| p[0] <= max_n)
        .max_by(|a, b| a[0].total_cmp(&b[0]))
    {
        ys.extend([p[3], p[4]].into_iter().filter(|v| v.is_finite()));
    }
    if ys.is_empty() {
        ys.extend([0.0, 1.0]);
    }
    let (mut lo, mut hi) = ys
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(*y), b.max(*y))
        });
    let pad = ((hi - lo) * 0.08).max(1e-6);
    lo -= pad;
    hi += pad;
    if fmt == Format::Proportion {
        lo = lo.max(0.0);
        hi = hi.min(1.0);
    }
    let ((y0, y1), y_ticks) = nice_ticks(lo, hi, 6);
    let xs = Scale::new((x0, x1), (LEFT, RIGHT));
    let ys = Scale::new((y0, y1), (bottom, top));

    let title_id = format!("{svg_id}-title");
    let desc_id = format!("{svg_id}-desc");
    let metric_text = curve
        .metric
        .as_deref()
        .map(|m| chart.metric_label(m))
        .unwrap_or_else(|| chart.file.header.title.clone());
    let highlight_row = rows.iter().find(|r| units.is_highlight(r));

    // The body first (its notes decide the height), then the <svg> around it.
    let mut w = Writer::new();
    w.open(el("defs"));
    w.open(el("clipPath").a("id", format!("{svg_id}-clip")));
    w.leaf(
        el("rect")
            .a("x", LEFT)
            .a("y", top)
            .a("width", RIGHT - LEFT)
            .a("height", bottom - top),
    );
    w.close().close();
    if let Some(t) = panel_title {
        w.text(
            el("text")
                .a("class", "panel-title")
                .a("x", 8.0)
                .a("y", 17.0)
                .a("font-size", 13.5),
            t,
        );
    }

    // Grid and axes.
    let y_labels = tick_labels(fmt, &y_ticks);
    w.open(el("g").a("class", "axis y-axis"));
    for (t, label) in y_ticks.iter().zip(&y_labels) {
        let y = ys.map(*t);
        w.leaf(
            el("line")
                .a("class", "grid")
                .a("x1", LEFT)
                .a("x2", RIGHT)
                .a("y1", y)
                .a("y2", y),
        );
        w.text(
            el("text")
                .a("class", "tick-label")
                .a("x", LEFT - 6.0)
                .a("y", y + 4.0)
                .a("text-anchor", "end")
                .a("data-tick", data_num(*t)),
            label,
        );
    }
    w.close();
    let x_labels = tick_labels(Format::Decimals(0), &x_ticks);
    w.open(el("g").a("class", "axis x-axis"));
    for (t, label) in x_ticks.iter().zip(&x_labels) {
        let x = xs.map(*t);
        w.leaf(
            el("line")
                .a("class", "tick")
                .a("x1", x)
                .a("x2", x)
                .a("y1", bottom)
                .a("y2", bottom + 5.0),
        );
        w.text(
            el("text")
                .a("class", "tick-label")
                .a("x", x)
                .a("y", bottom + 18.0)
                .a("text-anchor", "middle")
                .a("data-tick", data_num(*t)),
            label,
        );
    }
    w.leaf(
        el("line")
            .a("class", "axis-line")
            .a("x1", LEFT)
            .a("x2", RIGHT)
            .a("y1", bottom)
            .a("y2", bottom),
    );
    w.leaf(
        el("line")
            .a("class", "axis-line")
            .a("x1", LEFT)
            .a("x2", LEFT)
            .a("y1", top)
            .a("y2", bottom),
    );
    w.close();
    w.text(
        el("text")
            .a("class", "axis-title")
            .a("x", (LEFT + RIGHT) / 2.0)
            .a("y", bottom + 40.0)
            .a("text-anchor", "middle"),
        &axis_title(chart, "n"),
    );
    // The y title, on two lines when one would not fit the axis.
    let y_title = axis_title(chart, "value");
    let y_lines = wrap(&y_title, PLOT_H - 10.0, 11.5, true);
    let y_mid = num((top + bottom) / 2.0);
    w.open(
        el("text")
            .a("class", "axis-title")
            .a("transform", format!("translate(18 {y_mid}) rotate(-90)"))
            .a("text-anchor", "middle"),
    );
    for (i, line) in y_lines.iter().enumerate() {
        w.text(
            el("tspan")
                .a("x", 0.0)
                .a("dy", if i == 0 { 0.0 } else { 14.0 }),
            line,
        );
    }
    w.close();

    // Plot area: centre and limit lines, clipped; then the dots, unclipped
    // (a dot at 100% sits on the top edge, whole).
    w.open(
        el("g")
            .a("class", "plot")
            .a("data-x-domain", xs.domain_attr())
            .a("data-x-range", xs.range_attr())
            .a("data-y-domain", ys.domain_attr())
            .a("data-y-range", ys.range_attr()),
    );
    w.open(el("g").a("clip-path", format!("url(#{svg_id}-clip)")));
    if let Some(c) = centre {
        let y = ys.map(c);
        w.leaf(
            el("line")
                .a("class", "centre")
                .a("x1", LEFT)
                .a("x2", RIGHT)
                .a("y1", y)
                .a("y2", y)
                .a("data-value", data_num(c)),
        );
    }
    let mut cut = false;
    for (k, class) in [
        (1, "limit inner lower"),
        (2, "limit inner upper"),
        (3, "limit outer lower"),
        (4, "limit outer upper"),
    ] {
        let pts: Vec<&[f64; 5]> = curve.points.iter().filter(|p| p[0] <= x1).collect();
        let path = PathData::polyline(pts.iter().map(|p| {
            (
                xs.map(p[0]),
                ys.map(p[k].clamp(y0 - (y1 - y0), y1 + (y1 - y0))),
            )
        }));
        if !path.is_empty() {
            w.leaf(el("path").a("class", class).a("d", path.build()));
        }
        cut |= pts.iter().any(|p| p[k] > y1 || p[k] < y0);
    }
    w.close();
    // Where a limit line leaves the plot, a small arrow at the edge says it
    // goes on (clipping marked, not hidden).
    let mut marks = Vec::new();
    for k in 1..5 {
        let pts: Vec<&[f64; 5]> = curve.points.iter().filter(|p| p[0] <= x1).collect();
        for pair in pts.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            for (edge, up) in [(y1, true), (y0, false)] {
                let outside = |v: f64| if up { v > edge } else { v < edge };
                if outside(a[k]) != outside(b[k]) && a[k].is_finite() && b[k].is_finite() {
                    let t = (edge - a[k]) / (b[k] - a[k]);
                    let n = a[0] + t * (b[0] - a[0]);
                    marks.push((xs.map(n), up));
                }
            }
        }
    }
    for (x, up) in &marks {
        let (y, dy) = if *up { (top, -6.0) } else { (bottom, 6.0) };
        let mut p = PathData::new();
        p.move_to(x - 4.0, y)
            .line_to(*x, y + dy)
            .line_to(x + 4.0, y)
            .close();
        w.leaf(el("path").a("class", "clip-mark").a("d", p.build()));
    }
    // Dots: the highlighted unit last, so it is drawn on top.
    let mut order: Vec<&&Row> = plotted.iter().collect();
    order.sort_by_key(|r| units.is_highlight(r));
    for r in order {
        let (Some(v), Some(n)) = (r.f64("value"), r.f64("n")) else {
            continue;
        };
        let hl = units.is_highlight(r);
        let (cx, cy) = (xs.map(n), ys.map(v));
        let position = r.str("position").unwrap_or("");
        w.open(
            el("circle")
                .a("class", if hl { "mark highlight" } else { "mark" })
                .a("cx", cx)
                .a("cy", cy)
                .a("r", if hl { HIGHLIGHT_R } else { DOT_R })
                .a("data-unit", units.label(r))
                .a_opt("data-partnership", r.i64("partnership_id"))
                .a_opt("data-service", r.i64("service_id"))
                .a("data-value", data_num(v))
                .a("data-n", data_num(n))
                .a("data-position", position)
                .a_opt("data-metric", curve.metric.as_deref()),
        );
        w.text(
            el("title"),
            &format!(
                "{}: {} (n = {}){}",
                units.long_label(r),
                fmt.text(v),
                n,
                position_phrase(position)
                    .map(|p| format!(", {p}"))
                    .unwrap_or_default()
            ),
        );
        w.close();
    }
    w.close();

    // Labels, placed so that none overlaps a dot or another label: the
    // highlighted unit's always (on a background, with a leader line when
    // it had to move away), the others where there is room.
    let centre_y = centre.map(|c| ys.map(c));
    let dots: Vec<(f64, f64, f64, &Row)> = plotted
        .iter()
        .filter_map(|r| {
            let hl = units.is_highlight(r);
            Some((
                xs.map(r.f64("n")?),
                ys.map(r.f64("value")?),
                if hl { HIGHLIGHT_R } else { DOT_R },
                *r,
            ))
        })
        .collect();
    let unlabelled = place_labels(&mut w, &dots, units, centre_y, (top, bottom));

    legend(&mut w, centre, fmt, chart, legend_y);

    // Notes under the x axis title.
    let mut notes: Vec<(String, Option<&Row>)> = Vec::new();
    if curve.method == CurveMethod::Joined {
        notes.push((
            "Limit lines join the units' own limits (overdispersion, or no spread in the output)."
                .to_string(),
            None,
        ));
    }
    if cut {
        notes.push((
            "Limit lines run on beyond the plot at small n: ▲ / ▼ at the edge marks where."
                .to_string(),
            None,
        ));
    }
    if let Some(r) = highlight_row.filter(|r| r.f64("value").is_none()) {
        notes.push((
            format!(
                "{}: {}: not plotted.",
                units.long_label(r),
                super::withheld_text(r.i64("n"))
            ),
            Some(r),
        ));
    }
    let mut y = bottom + 60.0;
    for (text, row) in &notes {
        let class = if row.is_some() {
            "suppressed highlight"
        } else {
            "note"
        };
        w.text(
            el("text")
                .a("class", class)
                .a("x", 8.0)
                .a("y", y)
                .a("font-size", NOTE_PX)
                .a_opt("data-unit", row.map(|r| units.label(r)))
                .a_opt("data-n", row.and_then(|r| r.i64("n"))),
            text,
        );
        y += 15.0;
    }
    let height = y + 2.0;

    let mut svg = Writer::new();
    svg.open(
        el("svg")
            .a("xmlns", "http://www.w3.org/2000/svg")
            .a("id", svg_id)
            .a("class", "chart funnel")
            .a("viewBox", format!("0 0 {W} {}", num(height)))
            .a("role", "img")
            .a("aria-labelledby", format!("{title_id} {desc_id}"))
            .a("data-chart", &chart.file.id)
            .a_opt("data-metric", curve.metric.as_deref())
            .a("data-curve", curve.method.as_str()),
    );
    svg.text(
        el("title").a("id", &title_id),
        &format!(
            "Funnel plot: {}",
            panel_title.map(str::to_string).unwrap_or(metric_text)
        ),
    );
    svg.text(
        el("desc").a("id", &desc_id),
        &describe(&rows, &plotted, centre, fmt, units, highlight_row),
    );
    svg.raw(&w.finish());
    svg.close();
    let mut out = svg.finish();
    if !unlabelled.is_empty() {
        let mut p = Writer::new();
        p.open(
            el("p")
                .a("class", "unlabelled")
                .a_opt("data-metric", curve.metric.as_deref()),
        );
        p.content(&format!(
            "Dots without their number (no room beside them), by {}: ",
            units.level.noun()
        ));
        for (i, r) in unlabelled.iter().enumerate() {
            if i > 0 {
                p.content("; ");
            }
            let text = match (r.f64("value"), r.i64("n")) {
                (Some(v), Some(n)) => format!("{} {} (n = {n})", units.label(r), fmt.text(v)),
                _ => units.label(r),
            };
            p.text(el("span").a("data-unit", units.label(r)), &text);
        }
        p.content(".");
        p.close();
        out.push_str(&p.finish());
    }
    out
}

/// Tick labels: each tick with the decimals its step needs (so 12.5 is not
/// printed as 12), in the axis's unit.
pub(crate) fn tick_labels(fmt: Format, ticks: &[f64]) -> Vec<String> {
    let step = match ticks {
        [a, b, ..] => (b - a).abs(),
        _ => 1.0,
    };
    ticks.iter().map(|t| fmt.tick(*t, step)).collect()
}

/// Split a text into lines no wider than `max_px` (a word longer than the
/// width gets a line of its own).
pub(crate) fn wrap(text: &str, max_px: f64, font_px: f64, bold: bool) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && text_width(&candidate, font_px, bold) > max_px {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Place the dot labels; returns the units whose label found no room.
fn place_labels<'a>(
    w: &mut Writer,
    dots: &[(f64, f64, f64, &'a Row<'a>)],
    units: &Units,
    centre_y: Option<f64>,
    (top, bottom): (f64, f64),
) -> Vec<&'a Row<'a>> {
    let bounds = Rect::new(LEFT + 2.0, top - 2.0, RIGHT + 24.0, bottom - 2.0);
    let mut placer = Placer::new(bounds);
    for (cx, cy, r, _) in dots {
        placer.block(Rect::around(*cx, *cy, r + 1.0));
    }
    w.open(el("g").a("class", "labels"));
    // The highlighted unit first: it must have its label.
    if let Some((cx, cy, r, row)) = dots.iter().find(|d| units.is_highlight(d.3)) {
        let text = units.long_label(row);
        const RINGS: [f64; 9] = [0.0, 10.0, 22.0, 36.0, 52.0, 72.0, 96.0, 126.0, 160.0];
        let mut candidates: Vec<(Rect, f64, f64, &str)> = Vec::new();
        for ring in RINGS {
            for (dx, dy) in DIRECTIONS {
                candidates.push(label_at(
                    *cx,
                    *cy,
                    r + 4.0 + ring,
                    dx,
                    dy,
                    &text,
                    HIGHLIGHT_PX,
                    true,
                ));
            }
        }
        // First away from the centre line, then anywhere with room, then
        // (a plot crowded beyond belief) over dots, inside the plot.
        let mut strict = placer.clone();
        if let Some(y) = centre_y {
            strict.block(Rect::new(LEFT, y - 1.5, RIGHT, y + 1.5));
        }
        let chosen = *candidates
            .iter()
            .find(|c| strict.fits(&c.0.inflate(2.0)))
            .or_else(|| candidates.iter().find(|c| placer.fits(&c.0.inflate(2.0))))
            .or_else(|| {
                candidates
                    .iter()
                    .find(|c| bounds.contains(&c.0.inflate(2.0)))
            })
            .unwrap_or(&candidates[0]);
        let (bx, x, y, anchor) = chosen;
        let bg = bx.inflate(2.0);
        placer.block(bg);
        let (nx, ny) = bg.nearest(*cx, *cy);
        let dist = ((nx - cx).powi(2) + (ny - cy).powi(2)).sqrt();
        if dist > r + 8.0 {
            let (ux, uy) = ((nx - cx) / dist, (ny - cy) / dist);
            // No other label on the leader line: block small boxes along it.
            let steps = (dist / 4.0).ceil() as usize;
            for i in 0..=steps {
                let t = i as f64 / steps as f64;
                placer.block(Rect::around(cx + ux * dist * t, cy + uy * dist * t, 1.5));
            }
            w.leaf(
                el("line")
                    .a("class", "leader")
                    .a("x1", cx + ux * (r + 1.0))
                    .a("y1", cy + uy * (r + 1.0))
                    .a("x2", nx)
                    .a("y2", ny),
            );
        }
        w.leaf(
            el("rect")
                .a("class", "label-bg")
                .a("x", bg.x0)
                .a("y", bg.y0)
                .a("width", bg.width())
                .a("height", bg.height())
                .a("rx", 3.0),
        );
        w.text(
            el("text")
                .a("class", "label highlight")
                .a("x", x)
                .a("y", y)
                .a("text-anchor", anchor)
                .a("font-size", HIGHLIGHT_PX)
                .a("font-weight", "bold")
                .a("data-unit", units.label(row)),
            &text,
        );
    }
    // The others: units outside the limits first, then the larger ones.
    let mut rest: Vec<&(f64, f64, f64, &Row)> =
        dots.iter().filter(|d| !units.is_highlight(d.3)).collect();
    rest.sort_by(|a, b| {
        let outside =
            |d: &(f64, f64, f64, &Row)| !matches!(d.3.str("position"), Some("inside") | None);
        outside(b).cmp(&outside(a)).then(
            b.3.f64("n")
                .unwrap_or(0.0)
                .total_cmp(&a.3.f64("n").unwrap_or(0.0)),
        )
    });
    let mut unlabelled = Vec::new();
    for (cx, cy, r, row) in rest {
        let text = units.label(row);
        let spot = placer.place(
            LABEL_SPOTS
                .iter()
                .map(|(dx, dy)| label_at(*cx, *cy, r + 1.5, *dx, *dy, &text, LABEL_PX, false).0),
        );
        match spot {
            Some(b) => {
                let (_, x, y, anchor) = LABEL_SPOTS
                    .iter()
                    .map(|(dx, dy)| label_at(*cx, *cy, r + 1.5, *dx, *dy, &text, LABEL_PX, false))
                    .find(|c| c.0 == b)
                    .expect("the placed box is a candidate");
                w.text(
                    el("text")
                        .a("class", "label")
                        .a("x", x)
                        .a("y", y)
                        .a("text-anchor", anchor)
                        .a("font-size", LABEL_PX)
                        .a("data-unit", &text),
                    &text,
                );
            }
            None => unlabelled.push(*row),
        }
    }
    w.close();
    unlabelled.sort_by_key(|r| units.id(r));
    unlabelled
}

/// Directions a highlighted label may move in, in order of preference.
const DIRECTIONS: [(f64, f64); 8] = [
    (1.0, -1.0),
    (1.0, 0.0),
    (-1.0, -1.0),
    (-1.0, 0.0),
    (1.0, 1.0),
    (-1.0, 1.0),
    (0.0, -1.0),
    (0.0, 1.0),
];

/// Where a dot's number may go: right, left, above, below, diagonals.
const LABEL_SPOTS: [(f64, f64); 8] = [
    (1.0, 0.0),
    (-1.0, 0.0),
    (0.0, -1.0),
    (0.0, 1.0),
    (1.0, -1.0),
    (1.0, 1.0),
    (-1.0, -1.0),
    (-1.0, 1.0),
];

/// A label `gap` px from a dot in direction (dx, dy): its box, x, baseline
/// y and text anchor.
#[allow(clippy::too_many_arguments)] // reason: a point, a direction and a font
fn label_at(
    cx: f64,
    cy: f64,
    gap: f64,
    dx: f64,
    dy: f64,
    text: &str,
    font_px: f64,
    bold: bool,
) -> (Rect, f64, f64, &'static str) {
    let (x, anchor) = if dx > 0.0 {
        (cx + gap, "start")
    } else if dx < 0.0 {
        (cx - gap, "end")
    } else {
        (cx, "middle")
    };
    let y = if dy < 0.0 {
        cy - gap * if dx == 0.0 { 1.0 } else { 0.6 } - 0.24 * font_px
    } else if dy > 0.0 {
        cy + gap * if dx == 0.0 { 1.0 } else { 0.6 } + 0.93 * font_px
    } else {
        cy + 0.35 * font_px
    };
    (
        Rect::of_text(x, y, anchor, text, font_px, bold),
        x,
        y,
        anchor,
    )
}

fn legend(w: &mut Writer, centre: Option<f64>, fmt: Format, chart: &Ran, y: f64) {
    let inner = chart.param_f64("coverage_inner").unwrap_or(95.0);
    let outer = chart.param_f64("coverage_outer").unwrap_or(99.8);
    let items = [
        (
            "centre",
            match centre {
                Some(c) => format!("Centre: all compared cases ({})", fmt.text(c)),
                None => "Centre".to_string(),
            },
        ),
        ("limit inner", format!("{inner}% limits")),
        ("limit outer", format!("{outer}% limits")),
    ];
    w.open(el("g").a("class", "legend"));
    let mut x = LEFT - 20.0;
    for (class, text) in items {
        w.leaf(
            el("line")
                .a("class", class)
                .a("x1", x)
                .a("x2", x + 26.0)
                .a("y1", y)
                .a("y2", y),
        );
        w.text(el("text").a("x", x + 31.0).a("y", y + 4.0), &text);
        x += 46.0 + text_width(&text, 11.0, false);
    }
    w.leaf(
        el("circle")
            .a("class", "mark key")
            .a("cx", x + 4.0)
            .a("cy", y)
            .a("r", DOT_R),
    );
    w.text(
        el("text").a("x", x + 13.0).a("y", y + 4.0),
        "a unit (its number)",
    );
    w.close();
}

/// Axis title from a column's description and unit.
fn axis_title(chart: &Ran, column: &str) -> String {
    let desc = chart
        .description_of(column)
        .unwrap_or_else(|| super::code_in_words(column));
    let unit = chart.unit_of(column);
    let desc = desc.trim_end_matches('.');
    match unit {
        Some(u) if u.starts_with("proportion") => format!("{desc} (%)"),
        // "score (0-40)" reads "(score 0-40)", not "(score (0-40))".
        Some(u) => format!("{desc} ({})", u.replace(['(', ')'], "")),
        None => desc.to_string(),
    }
}

/// Words for a funnel position.
pub(crate) fn position_phrase(position: &str) -> Option<&'static str> {
    match position {
        "above_998" => Some("above the outer upper limit"),
        "above_95" => Some("above the inner upper limit"),
        "inside" => Some("inside the limits"),
        "below_95" => Some("below the inner lower limit"),
        "below_998" => Some("below the outer lower limit"),
        _ => None,
    }
}

/// The text alternative of a funnel.
fn describe(
    rows: &[Row],
    plotted: &[&Row],
    centre: Option<f64>,
    fmt: Format,
    units: &Units,
    highlight: Option<&Row>,
) -> String {
    let noun = units.level.noun();
    let mut s = format!(
        "Funnel plot of {} {}s; {} plotted, {} suppressed.",
        rows.iter().filter(|r| !units.is_all(r)).count(),
        noun,
        plotted.len(),
        rows.iter()
            .filter(|r| !units.is_all(r) && r.f64("value").is_none())
            .count()
    );
    if let Some(c) = centre {
        s.push_str(&format!(" Centre line {}.", fmt.text(c)));
    }
    let outside: Vec<String> = plotted
        .iter()
        .filter(|r| matches!(r.str("position"), Some(p) if p != "inside"))
        .map(|r| {
            format!(
                "{} ({})",
                units.label(r),
                position_phrase(r.str("position").unwrap_or("")).unwrap_or("")
            )
        })
        .collect();
    if outside.is_empty() {
        s.push_str(" Every plotted unit lies inside the limits.");
    } else {
        s.push_str(&format!(
            " Outside the inner limits: {}.",
            outside.join("; ")
        ));
    }
    if let Some(r) = highlight {
        match r.f64("value") {
            Some(v) => s.push_str(&format!(
                " {}: {} with {}, {}.",
                units.long_label(r),
                fmt.text(v),
                super::n_text(r.i64("n")),
                position_phrase(r.str("position").unwrap_or("")).unwrap_or("position unknown")
            )),
            None => s.push_str(&format!(" {}: suppressed.", units.long_label(r))),
        }
    }
    s
}

/// The other metrics of a multi-metric funnel chart, as an HTML table.
pub(crate) fn other_metrics_table(chart: &Ran, units: &Units) -> Option<String> {
    if !chart.frame.has("metric") {
        return None;
    }
    let headline: Vec<String> = chart
        .curves
        .iter()
        .filter_map(|c| c.metric.clone())
        .collect();
    let mut metrics: Vec<String> = Vec::new();
    for r in chart.frame.iter() {
        if let Some(m) = r.str("metric") {
            if !headline.iter().any(|h| h == m) && !metrics.iter().any(|x| x == m) {
                metrics.push(m.to_string());
            }
        }
    }
    if metrics.is_empty() {
        return None;
    }
    let fmt = Format::of_unit(chart.unit_of("value"));
    // Units in first-seen order, the All row first.
    let mut unit_rows: Vec<Row> = Vec::new();
    for r in chart.frame.iter() {
        if !unit_rows.iter().any(|u| units.label(u) == units.label(&r)) {
            unit_rows.push(r);
        }
    }
    unit_rows.sort_by_key(|r| !units.is_all(r));
    let (all_rows, others): (Vec<Row>, Vec<Row>) =
        unit_rows.into_iter().partition(|r| units.is_all(r));
    // Pages of at most MAX_ROWS rows (the All row on each), each kept
    // whole when printed: no page holds a table's last row alone.
    let mut w = Writer::new();
    for range in chunks(others.len(), TABLE_ROWS - 1) {
        let unit_rows: Vec<Row> = all_rows.iter().chain(&others[range]).copied().collect();
        w.open(el("table").a("class", "metrics metrics-page"));
        w.text(
        el("caption"),
        "The chart's other measures: value (n); ▲ above or ▼ below the inner limits, ▲▲ / ▼▼ beyond the outer limits.",
    );
        w.open(el("thead")).open(el("tr"));
        w.text(el("th").a("scope", "col"), units.level.noun());
        for m in &metrics {
            w.text(el("th").a("scope", "col"), &chart.metric_label(m));
        }
        w.close().close();
        w.open(el("tbody"));
        for u in &unit_rows {
            let hl = units.is_highlight(u);
            w.open(el("tr").a_opt("class", hl.then_some("highlight")));
            w.text(el("th").a("scope", "row"), &units.label(u));
            for m in &metrics {
                let cell = chart.frame.iter().find(|r| {
                    r.str("metric") == Some(m.as_str()) && units.label(r) == units.label(u)
                });
                let text = match cell {
                    Some(r) => match (r.f64("value"), r.i64("n")) {
                        (Some(v), Some(n)) => format!(
                            "{} ({n}){}",
                            fmt.text(v),
                            match r.str("position") {
                                Some("above_998") => " ▲▲",
                                Some("above_95") => " ▲",
                                Some("below_95") => " ▼",
                                Some("below_998") => " ▼▼",
                                _ => "",
                            }
                        ),
                        (None, Some(n)) => format!("suppressed ({n})"),
                        _ => "suppressed".to_string(),
                    },
                    None => String::new(),
                };
                let suppressed = cell.is_some_and(|r| r.f64("value").is_none());
                w.text(
                    el("td")
                        .a_opt("class", suppressed.then_some("suppressed"))
                        .a("data-metric", m),
                    &text,
                );
            }
            w.close();
        }
        w.close().close();
    }
    Some(w.finish())
}

/// The units of a funnel metric that are not plotted (suppressed), as HTML.
pub(crate) fn suppressed_list(chart: &Ran, metric: Option<&str>, units: &Units) -> Option<String> {
    let rows = metric_rows(chart, metric);
    let hidden: Vec<&Row> = rows
        .iter()
        .filter(|r| !units.is_all(r) && r.f64("value").is_none())
        .collect();
    if hidden.is_empty() {
        return None;
    }
    let mut w = Writer::new();
    w.open(
        el("p")
            .a("class", "suppressed-list")
            .a_opt("data-metric", metric),
    );
    w.content("Not plotted, withheld by disclosure control or without a value: ");
    for (i, r) in hidden.iter().enumerate() {
        if i > 0 {
            w.content(", ");
        }
        let n = r.i64("n");
        w.text(
            el("span")
                .a("class", "suppressed")
                .a("data-unit", units.label(r))
                .a_opt("data-n", n),
            &format!("{} ({})", units.label(r), super::n_text(n)),
        );
    }
    w.content(".");
    w.close();
    Some(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_cover_small_n_densely_and_include_units() {
        let ns = sample_ns(50.0, [7.0, 33.0].into_iter());
        assert_eq!(ns.len(), 50);
        let ns = sample_ns(1000.0, [517.0].into_iter());
        assert!(ns.contains(&517));
        assert_eq!(ns.first(), Some(&1));
        assert_eq!(ns.last(), Some(&1000));
        assert!(ns.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn joined_lines_run_by_n() {
        let pts = joined(&[
            (20.0, [1.0, 2.0, 0.5, 2.5]),
            (10.0, [0.8, 2.2, 0.3, 2.7]),
            (20.0, [1.0, 2.0, 0.5, 2.5]),
        ]);
        assert_eq!(pts.len(), 2);
        assert_eq!(pts[0][0], 10.0);
    }

    #[test]
    fn sql_numbers_round_trip() {
        assert_eq!(sql_num(0.1), "CAST(0.1 AS DOUBLE)");
        assert_eq!(sql_num(3.0), "CAST(3.0 AS DOUBLE)");
        assert_eq!(sql_num(1e-20), "CAST(1e-20 AS DOUBLE)");
    }
}
