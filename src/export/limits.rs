//! The limit curves of a funnel chart, for a BI tool to draw as lines
//! (issue 17): `<section>__<chart>__limits.parquet` / `.csv` beside the
//! chart's own files.
//!
//! - Found from the chart's `[funnel]` declaration
//!   ([`crate::catalog::funnel`]), never from a list of charts.
//! - One row per group of the chart (the rows with the same values of the
//!   declared `group` columns: metric, rater, ...) and n, from 1 to the
//!   largest n of the group's units, with `centre`, `lower_95`, `upper_95`,
//!   `lower_998`, `upper_998`, and `coverage_inner`, `coverage_outer` when
//!   either level is not its default (95, 99.8).
//! - The values are those of `funnel_limits(kind, centre, n, coverage,
//!   spread, tau2)` (the same kernel, [`checked_limits`]), with the kind,
//!   centre, spread, tau2 and coverages the chart's own rows and parameters
//!   hold: so each unit's limits are the curve's at its n.
//! - Computed from the chart's result *after* disclosure control: the n are
//!   those shown, and a group whose centre (or spread, or tau2) is withheld
//!   gets no rows, since the centre could be read back from its curve.
//!   Neither does a group with no unit of n > 0 shown.
//! - The grid ([`GRID`]): every n up to [`THIN_FROM`], every n a unit of
//!   the group shows, and the largest; beyond [`THIN_FROM`], between those,
//!   only as many n as keep a straight line between written points within
//!   [`TOLERANCE`] of the funnel's half-width at every n left out (checked
//!   at each of them, for all four curves). A line chart joining the rows
//!   draws the curves to that accuracy, and every unit's n is a row.

use crate::catalog::funnel::{FunnelSpec, KindSource, COVERAGES};
use crate::catalog::QueryFile;
use crate::dashboard::Resolved;
use cypdash_udfs::funnel::funnel_limits::checked_limits;
use cypdash_udfs::funnel::FunnelKind;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, UInt32Array,
};
use datafusion::arrow::compute::{cast, concat_batches, take};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::scalar::ScalarValue;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What a limits file's name adds to its chart's: `<section>__<chart>__limits`.
pub const SUFFIX: &str = "__limits";

/// Every n up to this one is written.
pub const THIN_FROM: i64 = 100;

/// Beyond [`THIN_FROM`], the largest distance allowed between the curve and
/// a straight line between written points, as a share of the funnel's
/// half-width (upper minus lower of the same coverage, halved) at that n.
pub const TOLERANCE: f64 = 0.001;

/// The largest n a curve is computed to (as `funnel_curve`).
pub const MAX_N: i64 = cypdash_udfs::funnel::funnel_curve::MAX_ROWS;

/// The grid in words, for the manifest.
pub const GRID: &str = "every n from 1 to 100, every n a unit of the group shows, and the \
     largest; beyond 100 only the n needed for a straight line between consecutive rows to \
     stay within 0.1% of the funnel's half-width (upper minus lower limit of the same \
     coverage, halved) of the curve at every n left out, for all four limits";

#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    #[error("funnel limits of chart `{chart}`: {message}")]
    Chart { chart: String, message: String },
    #[error("funnel limits of chart `{chart}`: {source}")]
    Arrow { chart: String, source: ArrowError },
}

/// A funnel chart's limits file.
#[derive(Debug, Clone)]
pub struct Limits {
    pub schema: SchemaRef,
    pub batch: RecordBatch,
    /// How it was made, for the manifest.
    pub info: LimitsInfo,
}

/// How a limits file was made (its entry in the manifest).
#[derive(Debug, Clone, Serialize)]
pub struct LimitsInfo {
    /// The chart's file whose units these limits belong to (set by the export).
    pub limits_of: String,
    /// The `funnel_limits` kind.
    pub kind: String,
    /// The columns a funnel is drawn per.
    pub group: Vec<String>,
    pub coverage_inner: f64,
    pub coverage_outer: f64,
    /// Which n are written ([`GRID`]).
    pub grid: &'static str,
    /// Each group of the chart: its values, largest n and rows, or why it
    /// has none.
    pub groups: Vec<GroupInfo>,
}

/// One group of a limits file.
#[derive(Debug, Clone, Serialize)]
pub struct GroupInfo {
    /// The group's values (empty for a chart that is one funnel).
    pub group: BTreeMap<String, serde_json::Value>,
    /// The largest n shown among the group's units (the curve's end).
    pub max_n: Option<i64>,
    /// Rows written (at most max_n: fewer when thinned).
    pub rows: usize,
    /// Why no rows were written, if none were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omitted: Option<&'static str>,
}

/// Why a group has no limit rows.
const WITHHELD: &str = "centre withheld by disclosure control, or undefined (no cases)";
const NO_UNITS: &str = "no unit with n > 0 shown";

/// The limits file of a chart's result (after disclosure control), or
/// `None` for a chart that declares no funnel.
pub fn limits_table(
    chart: &QueryFile,
    params: &Resolved,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<Option<Limits>, LimitsError> {
    let Some(spec) = &chart.header.funnel else {
        return Ok(None);
    };
    let fail = |message: String| LimitsError::Chart {
        chart: chart.id.clone(),
        message,
    };
    let arrow = |source| LimitsError::Arrow {
        chart: chart.id.clone(),
        source,
    };
    let kind = resolve_kind(spec, params).map_err(fail)?;
    let [inner, outer] = COVERAGES.map(|(name, default)| match params.get(name) {
        Some(ScalarValue::Float64(Some(v))) => *v,
        _ => default,
    });
    let batch = concat_batches(schema, batches).map_err(arrow)?;
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| fail(format!("the result has no column `{name}`")))
    };
    let floats = |name: &str| -> Result<Vec<Option<f64>>, LimitsError> {
        let a = cast(column(name)?, &DataType::Float64).map_err(arrow)?;
        let a = a.as_primitive::<Float64Type>();
        Ok((0..a.len())
            .map(|r| a.is_valid(r).then(|| a.value(r)))
            .collect())
    };
    let n_col = {
        let a = cast(column("n")?, &DataType::Int64).map_err(arrow)?;
        let a = a.as_primitive::<Int64Type>().clone();
        (0..a.len())
            .map(|r| a.is_valid(r).then(|| a.value(r)))
            .collect::<Vec<_>>()
    };
    let centre = floats("centre")?;
    let spread = spec.spread.as_deref().map(floats).transpose()?;
    let tau2 = spec.tau2.as_deref().map(floats).transpose()?;
    let unit_cols = chart
        .header
        .sdc
        .as_ref()
        .map(|s| s.unit.clone())
        .unwrap_or_default();
    let unit_arrays = unit_cols
        .iter()
        .map(|c| column(c))
        .collect::<Result<Vec<_>, _>>()?;
    let group_arrays = spec
        .group
        .iter()
        .map(|c| column(c).cloned())
        .collect::<Result<Vec<ArrayRef>, _>>()?;

    // The groups, in the chart's order.
    let mut order: Vec<String> = Vec::new();
    let mut rows_of: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for r in 0..batch.num_rows() {
        let key = group_key(&group_arrays, r).map_err(arrow)?;
        if !rows_of.contains_key(&key) {
            order.push(key.clone());
        }
        rows_of.entry(key).or_default().push(r);
    }

    let mut infos = Vec::new();
    let mut firsts: Vec<u32> = Vec::new();
    let mut out = Columns::default();
    for key in &order {
        let rows = &rows_of[key];
        let first = rows[0];
        let mut info = GroupInfo {
            group: spec
                .group
                .iter()
                .zip(&group_arrays)
                .map(|(name, a)| Ok((name.clone(), json_value(a, first)?)))
                .collect::<Result<_, ArrowError>>()
                .map_err(arrow)?,
            max_n: None,
            rows: 0,
            omitted: None,
        };
        // The group's centre, spread and tau2: one value on every row.
        let constant = |what: &str, values: Option<&Vec<Option<f64>>>, absent: f64| {
            let Some(values) = values else {
                return Ok(Some(absent));
            };
            let mut found: Option<f64> = None;
            for &r in rows {
                let Some(v) = values[r] else {
                    return Ok(None);
                };
                if found.is_some_and(|f| f.to_bits() != v.to_bits()) {
                    return Err(fail(format!(
                        "`{what}` differs between rows of one funnel; the [funnel] group \
                         ({}) must name every column the funnels are drawn per",
                        spec.group.join(", ")
                    )));
                }
                found = Some(v);
            }
            Ok(found)
        };
        let c = constant("centre", Some(&centre), 0.0)?;
        let s = constant("spread", spread.as_ref(), 0.0)?;
        let t = constant("tau2", tau2.as_ref(), 0.0)?;
        let (Some(c), Some(s), Some(t)) = (c, s, t) else {
            info.omitted = Some(WITHHELD);
            infos.push(info);
            continue;
        };
        // The n shown by the group's units (not the All row).
        let shown: BTreeSet<i64> = rows
            .iter()
            .filter(|&&r| !unit_arrays.iter().all(|a| a.is_null(r)))
            .filter_map(|&r| n_col[r])
            .filter(|&n| n > 0)
            .collect();
        let Some(&max_n) = shown.last() else {
            info.omitted = Some(NO_UNITS);
            infos.push(info);
            continue;
        };
        info.max_n = Some(max_n);
        if max_n > MAX_N {
            return Err(fail(format!(
                "n = {max_n} is beyond the largest curve drawn ({MAX_N})"
            )));
        }
        let curve = Curve::new(kind, c, s, t, [inner, outer], max_n).map_err(fail)?;
        let grid = curve.grid(&shown);
        info.rows = grid.len();
        for n in grid {
            let p = curve.at(n);
            firsts.push(u32::try_from(first).expect("rows fit in u32"));
            out.n.push(n);
            out.centre.push(c);
            for (i, v) in p.iter().enumerate() {
                out.limits[i].push(*v);
            }
        }
        infos.push(info);
    }

    // The batch: group columns, n, centre, the four limits, the coverages
    // when not the defaults.
    let indices = UInt32Array::from(firsts);
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (name, a) in spec.group.iter().zip(&group_arrays) {
        fields.push(Field::new(name, a.data_type().clone(), true));
        arrays.push(take(a.as_ref(), &indices, None).map_err(arrow)?);
    }
    let rows = out.n.len();
    fields.push(Field::new("n", DataType::Int64, false));
    arrays.push(Arc::new(Int64Array::from(out.n)));
    let mut float = |name: &str, values: Vec<f64>| {
        fields.push(Field::new(name, DataType::Float64, false));
        arrays.push(Arc::new(Float64Array::from(values)) as ArrayRef);
    };
    float("centre", out.centre);
    let [l95, u95, l998, u998] = out.limits;
    float("lower_95", l95);
    float("upper_95", u95);
    float("lower_998", l998);
    float("upper_998", u998);
    if [inner, outer] != COVERAGES.map(|(_, d)| d) {
        float("coverage_inner", vec![inner; rows]);
        float("coverage_outer", vec![outer; rows]);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(arrow)?;
    Ok(Some(Limits {
        schema,
        batch,
        info: LimitsInfo {
            limits_of: String::new(),
            kind: kind.name().to_string(),
            group: spec.group.clone(),
            coverage_inner: inner,
            coverage_outer: outer,
            grid: GRID,
            groups: infos,
        },
    }))
}

/// The output columns being built.
#[derive(Debug, Default)]
struct Columns {
    n: Vec<i64>,
    centre: Vec<f64>,
    limits: [Vec<f64>; 4],
}

/// The kind a chart ran with: written in its declaration, or the value of
/// the parameter it names.
pub fn resolve_kind(spec: &FunnelSpec, params: &Resolved) -> Result<FunnelKind, String> {
    match spec.kind_source()? {
        KindSource::Fixed(kind) => Ok(kind),
        KindSource::Param(p) => match params.get(p) {
            Some(ScalarValue::Utf8(Some(name))) => FunnelKind::parse(name).ok_or_else(|| {
                format!(
                    "parameter `{p}` = `{name}` is not a funnel_limits kind ({})",
                    FunnelKind::names()
                )
            }),
            other => Err(format!(
                "[funnel] kind is parameter `{p}`, which the chart ran with as {other:?}"
            )),
        },
    }
}

/// A row's group as text (NULL distinct from any text).
fn group_key(arrays: &[ArrayRef], r: usize) -> Result<String, ArrowError> {
    let mut key = String::new();
    for a in arrays {
        if a.is_null(r) {
            key.push('\u{0}');
        } else {
            key.push_str(&datafusion::arrow::util::display::array_value_to_string(
                a, r,
            )?);
        }
        key.push('\u{1}');
    }
    Ok(key)
}

fn json_value(a: &ArrayRef, r: usize) -> Result<serde_json::Value, ArrowError> {
    if a.is_null(r) {
        return Ok(serde_json::Value::Null);
    }
    if let Some(i) = a.as_primitive_opt::<Int64Type>() {
        return Ok(serde_json::Value::from(i.value(r)));
    }
    Ok(serde_json::Value::String(
        datafusion::arrow::util::display::array_value_to_string(a, r)?,
    ))
}

/// A funnel's four limits at every n from 1 to its largest.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Index n - 1: lower inner, upper inner, lower outer, upper outer.
    points: Vec<[f64; 4]>,
}

impl Curve {
    /// `funnel_limits` at n = 1 ..= max_n for both coverages.
    pub fn new(
        kind: FunnelKind,
        centre: f64,
        spread: f64,
        tau2: f64,
        coverages: [f64; 2],
        max_n: i64,
    ) -> Result<Self, String> {
        let mut points = Vec::with_capacity(usize::try_from(max_n).unwrap_or(0));
        for n in 1..=max_n {
            let mut p = [0.0; 4];
            for (i, coverage) in coverages.into_iter().enumerate() {
                let (lo, hi) = checked_limits(kind, centre, n as f64, spread, coverage, tau2)?
                    .expect("n > 0 has limits");
                p[2 * i] = lo;
                p[2 * i + 1] = hi;
            }
            points.push(p);
        }
        Ok(Self { points })
    }

    /// The largest n.
    pub fn max_n(&self) -> i64 {
        self.points.len() as i64
    }

    /// The four limits at n (1 ..= max_n).
    pub fn at(&self, n: i64) -> [f64; 4] {
        self.points[(n - 1) as usize]
    }

    /// Whether straight lines from a to b stay within [`TOLERANCE`] of the
    /// curve at every n strictly between them.
    pub fn straight_between(&self, a: i64, b: i64) -> bool {
        let (pa, pb) = (self.at(a), self.at(b));
        ((a + 1)..b).all(|m| {
            let pm = self.at(m);
            let t = (m - a) as f64 / (b - a) as f64;
            (0..4).all(|i| {
                let line = pa[i] + (pb[i] - pa[i]) * t;
                let pair = i / 2 * 2;
                let half = (pm[pair + 1] - pm[pair]).abs() / 2.0;
                (line - pm[i]).abs() <= TOLERANCE * half
            })
        })
    }

    /// The n to write ([`GRID`]): every n up to [`THIN_FROM`], each of
    /// `keep` (within 1 ..= max_n) and max_n, and beyond [`THIN_FROM`] the
    /// fewest found from each written n (its step doubled while the line
    /// holds, then halved back) for lines that stay within the tolerance.
    pub fn grid(&self, keep: &BTreeSet<i64>) -> Vec<i64> {
        let max_n = self.max_n();
        let mut fixed: BTreeSet<i64> = (1..=THIN_FROM.min(max_n)).collect();
        fixed.extend(keep.iter().copied().filter(|n| (1..=max_n).contains(n)));
        fixed.insert(max_n);
        let fixed: Vec<i64> = fixed.into_iter().collect();
        let mut out = vec![fixed[0]];
        for pair in fixed.windows(2) {
            let (mut k, b) = (pair[0], pair[1]);
            while k < b {
                k = self.next(k, b);
                out.push(k);
            }
        }
        out
    }

    /// The furthest n after k (at most b) found by doubling the step while
    /// the line from k holds, then bisecting.
    fn next(&self, k: i64, b: i64) -> i64 {
        let limit = b - k;
        let (mut good, mut step) = (1, 2);
        let bad = loop {
            let s = step.min(limit);
            if s <= good {
                return k + good;
            }
            if !self.straight_between(k, k + s) {
                break s;
            }
            good = s;
            step *= 2;
        };
        let mut bad = bad;
        while bad - good > 1 {
            let mid = (good + bad) / 2;
            if self.straight_between(k, k + mid) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        k + good
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_grid(curve: &Curve, keep: &BTreeSet<i64>) -> Vec<i64> {
        let grid = curve.grid(keep);
        let max_n = curve.max_n();
        assert_eq!(grid.first(), Some(&1));
        assert_eq!(grid.last(), Some(&max_n));
        assert!(grid.windows(2).all(|w| w[0] < w[1]), "increasing");
        for n in 1..=THIN_FROM.min(max_n) {
            assert!(grid.contains(&n), "n = {n} up to 100");
        }
        for n in keep {
            assert!(grid.contains(n), "kept n = {n}");
        }
        for w in grid.windows(2) {
            assert!(curve.straight_between(w[0], w[1]), "{w:?}");
        }
        grid
    }

    #[test]
    fn a_smooth_curve_thins_to_a_few_points_within_the_tolerance() {
        // Mean funnel (statistics.md: target 15, sigma 6).
        let curve = Curve::new(FunnelKind::Mean, 15.0, 6.0, 0.0, [95.0, 99.8], 5000).unwrap();
        let grid = check_grid(&curve, &BTreeSet::from([137, 2000]));
        assert!(grid.len() < 100 + 60, "{} rows", grid.len());
        // The written values are funnel_limits' (statistics.md vector at n = 25).
        let p = curve.at(25);
        assert!((p[0] - 12.648043).abs() < 1e-6 && (p[3] - 18.708279).abs() < 1e-6);
    }

    #[test]
    fn a_jagged_exact_binomial_curve_keeps_what_the_tolerance_needs() {
        let curve = Curve::new(
            FunnelKind::ProportionExact,
            0.35,
            0.0,
            0.0,
            [95.0, 99.8],
            3000,
        )
        .unwrap();
        let grid = check_grid(&curve, &BTreeSet::new());
        assert!(grid.len() < 3000, "{} rows", grid.len());
        // Overdispersion and other coverages thin the same way.
        let curve = Curve::new(FunnelKind::Proportion, 0.2, 0.0, 0.004, [90.0, 99.0], 800).unwrap();
        check_grid(&curve, &BTreeSet::from([101, 799]));
    }

    #[test]
    fn short_curves_are_written_whole() {
        let curve = Curve::new(FunnelKind::EffectSize, 0.6, 0.5, 0.0, [95.0, 99.8], 60).unwrap();
        assert_eq!(
            curve.grid(&BTreeSet::from([7])),
            (1..=60).collect::<Vec<_>>()
        );
        let one = Curve::new(FunnelKind::Mean, 1.0, 0.0, 0.0, [95.0, 99.8], 1).unwrap();
        assert_eq!(one.grid(&BTreeSet::new()), vec![1]);
    }
}
