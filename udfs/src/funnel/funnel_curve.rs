//! `funnel_curve(kind, target, max_n [, spread [, tau2]])`: a table of
//! 95% and 99.8% funnel limits for n = 1..max_n, for drawing the funnel's
//! limit lines.

use super::funnel_limits::{funnel_limits, Coverage};
use super::kind::{unknown_kind, FunnelKind};
use super::DOC_SECTION;
use crate::args::literal_str;
use datafusion::arrow::array::{ArrayRef, Float64Builder, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{Documentation, Expr};
use std::sync::{Arc, OnceLock};

const NAME: &str = "funnel_curve";

/// Largest max_n accepted (rows generated eagerly).
pub const MAX_ROWS: i64 = 1_000_000;

/// Rows per generated batch.
const BATCH_ROWS: usize = 8192;

/// One row of the curve: n and the 95% and 99.8% limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurveRow {
    /// Unit size.
    pub n: i64,
    /// 95% limits.
    pub limits_95: (f64, f64),
    /// 99.8% limits.
    pub limits_998: (f64, f64),
}

/// Kernel: the limits at one n for both coverages.
pub fn curve_row(kind: FunnelKind, target: f64, n: i64, spread: f64, tau2: f64) -> CurveRow {
    let (c95, c998) = coverages();
    let nf = n as f64;
    CurveRow {
        n,
        limits_95: funnel_limits(kind, target, nf, spread, c95, tau2),
        limits_998: funnel_limits(kind, target, nf, spread, c998, tau2),
    }
}

fn coverages() -> (Coverage, Coverage) {
    static C: OnceLock<(Coverage, Coverage)> = OnceLock::new();
    *C.get_or_init(|| {
        (
            Coverage::from_percent(95.0).expect("95 is a valid coverage"),
            Coverage::from_percent(99.8).expect("99.8 is a valid coverage"),
        )
    })
}

/// The output schema.
pub fn curve_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, false),
        Field::new("lower_95", DataType::Float64, false),
        Field::new("upper_95", DataType::Float64, false),
        Field::new("lower_998", DataType::Float64, false),
        Field::new("upper_998", DataType::Float64, false),
    ]))
}

/// The `funnel_curve` table function.
#[derive(Debug, Default)]
pub struct FunnelCurve;

impl FunnelCurve {
    /// The SQL name.
    pub const NAME: &'static str = NAME;

    /// Documentation (table functions have no `documentation()` hook in
    /// DataFusion; the crate's doc-example test reads this).
    pub fn documentation(&self) -> &'static Documentation {
        doc()
    }
}

/// Argument `i` as f64: `Ok(None)` for NULL, an error for a non-literal or a
/// non-number.
fn number_arg(exprs: &[Expr], i: usize, name: &str) -> Result<Option<f64>> {
    let Some(expr) = exprs.get(i) else {
        return Ok(None);
    };
    let Expr::Literal(value, _) = expr else {
        return plan_err!(
            "{NAME}: argument {} ({name}) must be a constant, got {expr}",
            i + 1
        );
    };
    if value.is_null() {
        return Ok(None);
    }
    if !value.data_type().is_numeric() {
        return plan_err!(
            "{NAME}: argument {} ({name}) must be a number, got {}",
            i + 1,
            value.data_type()
        );
    }
    match value.cast_to(&DataType::Float64)? {
        ScalarValue::Float64(v) => Ok(v),
        other => plan_err!("{NAME}: could not read argument {name} ({other})"),
    }
}

impl TableFunctionImpl for FunnelCurve {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if !(3..=5).contains(&exprs.len()) {
            return plan_err!(
                "{NAME} takes 3 to 5 arguments ({NAME}(kind, target, max_n, [spread], [tau2])), \
                 got {}",
                exprs.len()
            );
        }
        let kind_name = match &exprs[0] {
            Expr::Literal(value, _) => match literal_str(Some(value)) {
                Some(name) => name,
                None => {
                    return plan_err!(
                        "{NAME}: argument 1 (kind) must be a string, got {}",
                        value.data_type()
                    )
                }
            },
            other => return plan_err!("{NAME}: argument 1 (kind) must be a constant, got {other}"),
        };
        let target = number_arg(exprs, 1, "target")?;
        let max_n = number_arg(exprs, 2, "max_n")?;
        let spread = number_arg(exprs, 3, "spread")?;
        let tau2 = number_arg(exprs, 4, "tau2")?;
        let schema = curve_schema();
        let empty = || -> Result<Arc<dyn TableProvider>> {
            Ok(Arc::new(MemTable::try_new(curve_schema(), vec![vec![]])?))
        };
        let Some(kind_name) = kind_name else {
            return empty();
        };
        let Some(kind) = FunnelKind::parse(kind_name) else {
            return plan_err!("{}", unknown_kind(NAME, kind_name));
        };
        if kind.uses_spread() && exprs.len() < 4 {
            return plan_err!(
                "{NAME}: kind '{kind}' needs argument 4 {}",
                kind.spread_name()
            );
        }
        // NULL arguments give an empty table, as generate_series does.
        let (Some(target), Some(max_n)) = (target, max_n) else {
            return empty();
        };
        let spread = if kind.uses_spread() {
            match spread {
                Some(s) => s,
                None => return empty(),
            }
        } else {
            0.0
        };
        let tau2 = match (exprs.len() > 4, tau2) {
            (false, _) => 0.0,
            (true, Some(t)) => t,
            (true, None) => return empty(),
        };
        if max_n.fract() != 0.0 || max_n > MAX_ROWS as f64 {
            return plan_err!("{NAME}: max_n must be a whole number up to {MAX_ROWS}, got {max_n}");
        }
        if let Err(msg) = kind.check(target, 1.0, spread, tau2) {
            return plan_err!("{NAME}: {msg}");
        }
        let max_n = max_n.max(0.0) as i64;
        let batches = curve_batches(&schema, kind, target, max_n, spread, tau2)?;
        Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
    }
}

fn curve_batches(
    schema: &SchemaRef,
    kind: FunnelKind,
    target: f64,
    max_n: i64,
    spread: f64,
    tau2: f64,
) -> Result<Vec<RecordBatch>> {
    let mut batches = Vec::new();
    let mut start = 1;
    while start <= max_n {
        let end = (start + BATCH_ROWS as i64 - 1).min(max_n);
        let len = (end - start + 1) as usize;
        let mut cols = [
            Float64Builder::with_capacity(len),
            Float64Builder::with_capacity(len),
            Float64Builder::with_capacity(len),
            Float64Builder::with_capacity(len),
        ];
        for n in start..=end {
            let row = curve_row(kind, target, n, spread, tau2);
            cols[0].append_value(row.limits_95.0);
            cols[1].append_value(row.limits_95.1);
            cols[2].append_value(row.limits_998.0);
            cols[3].append_value(row.limits_998.1);
        }
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter_values(start..=end))];
        arrays.extend(cols.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        batches.push(RecordBatch::try_new(Arc::clone(schema), arrays)?);
        start = end + 1;
    }
    Ok(batches)
}

fn doc() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
            DOC_SECTION,
            "Table function: one row per n = 1..max_n with the 95% and 99.8% limits of \
             funnel_limits (columns n, lower_95, upper_95, lower_998, upper_998), for \
             drawing a funnel's limit lines. Arguments must be constants; NULL arguments \
             give an empty table; max_n is at most 1000000.",
            "funnel_curve(kind, target, max_n [, spread [, tau2]])",
        )
        .with_sql_example(
            r#"```sql
> SELECT n, round(lower_95, 6) AS lower_95, round(upper_95, 6) AS upper_95 FROM funnel_curve('proportion', 0.35, 3) ORDER BY n;
+---+----------+----------+
| n | lower_95 | upper_95 |
+---+----------+----------+
| 1 | 0.0      | 1.0      |
| 2 | 0.0      | 1.0      |
| 3 | 0.0      | 0.889732 |
+---+----------+----------+
```"#,
        )
        .with_argument("kind", "As for funnel_limits.")
        .with_argument("target", "The funnel's centre line theta0.")
        .with_argument("max_n", "Largest unit size (expected count for 'ratio').")
        .with_argument("spread", "'mean': sigma; 'effect_size': r; ignored otherwise.")
        .with_argument("tau2", "Additive between-unit variance (default 0).")
        .with_related_udf("funnel_limits")
        .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_rows_match_funnel_limits() {
        // Mean funnel at n = 25 (statistics.md vector).
        let row = curve_row(FunnelKind::Mean, 15.0, 25, 6.0, 0.0);
        assert!((row.limits_95.0 - 12.648043).abs() < 1e-6);
        assert!((row.limits_998.1 - 18.708279).abs() < 1e-6);
        // FunnelPlotR E = 20.
        let row = curve_row(FunnelKind::Ratio, 1.0, 20, 0.0, 0.0);
        assert!((row.limits_95.0 - 0.6108260).abs() < 1e-6);
        assert!((row.limits_998.1 - 1.902094).abs() < 1e-6);
    }

    #[test]
    fn batches_cover_every_n() {
        let schema = curve_schema();
        let batches =
            curve_batches(&schema, FunnelKind::Proportion, 0.3, 20_000, 0.0, 0.0).unwrap();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 20_000);
        assert!(
            curve_batches(&schema, FunnelKind::Proportion, 0.3, 0, 0.0, 0.0)
                .unwrap()
                .is_empty()
        );
    }
}
