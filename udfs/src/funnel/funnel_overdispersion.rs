//! `funnel_overdispersion(kind, value, n, target [, spread])`: the
//! overdispersion of a set of units around a funnel's target (Spiegelhalter
//! 2005, section 6; FunnelPlotR), as a struct {phi, tau2}.

use super::kind::{unknown_kind, FunnelKind};
use super::DOC_SECTION;
use crate::args::{self, ArgSpec, ArgType};
use crate::stats::quantile_type7;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::scalar::ScalarStructBuilder;
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;
use std::sync::{Arc, OnceLock};

const NAME: &str = "funnel_overdispersion";

const ARGS: [ArgSpec; 5] = [
    ("kind", ArgType::Text),
    ("value", ArgType::Number),
    ("n", ArgType::Number),
    ("target", ArgType::Number),
    ("spread", ArgType::Number),
];

/// Winsorisation fraction at each end (FunnelPlotR's default 10%).
pub const TRIM: f64 = 0.1;

// ---------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------

/// Checks one unit: the funnel parameters (as for `funnel_limits`), a value
/// in the kind's range, and a positive null SE (so z is defined).
pub fn check_unit(
    kind: FunnelKind,
    value: f64,
    n: f64,
    target: f64,
    spread: f64,
) -> Result<(), String> {
    kind.check(target, n, spread, 0.0)?;
    if !value.is_finite() {
        return Err(format!("value must be finite, got {value}"));
    }
    match kind {
        FunnelKind::Proportion | FunnelKind::ProportionExact | FunnelKind::ProportionArcsine
            if !(0.0..=1.0).contains(&value) =>
        {
            return Err(format!(
                "kind '{kind}' needs a value (proportion) in [0, 1], got {value} \
                 (numerator > denominator?)"
            ));
        }
        FunnelKind::Ratio if value < 0.0 => {
            return Err(format!("kind 'ratio' needs a value >= 0, got {value}"));
        }
        _ => {}
    }
    let s = kind.null_se(target, n, spread);
    if !(s > 0.0) || !s.is_finite() {
        return Err(format!(
            "kind '{kind}' has a null standard error of {s} at target {target} \
             (a proportion target must be strictly between 0 and 1, sigma > 0), so z is \
             undefined"
        ));
    }
    Ok(())
}

/// z-score and inverse-variance weight of one unit with n > 0 on the kind's
/// scale: z = (T(value) - T(target)) / s, w = 1 / s^2. For `ratio` this is
/// z = 2 sqrt(E) (sqrt(O/E) - sqrt(target)), i.e. 2 (sqrt(O) - sqrt(E)) for
/// target 1 (FunnelPlotR's square-root method).
pub fn unit_z(kind: FunnelKind, value: f64, n: f64, target: f64, spread: f64) -> (f64, f64) {
    let s = kind.null_se(target, n, spread);
    let z = (kind.to_scale(value) - kind.to_scale(target)) / s;
    (z, 1.0 / (s * s))
}

/// The 10th and 90th percentiles (R type 7) of `z`, sorting it in place.
/// `None` for empty input.
pub fn winsor_bounds(z: &mut [f64]) -> Option<(f64, f64)> {
    if z.is_empty() {
        return None;
    }
    z.sort_by(f64::total_cmp);
    Some((quantile_type7(z, TRIM), quantile_type7(z, 1.0 - TRIM)))
}

/// The result of [`overdispersion`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overdispersion {
    /// Overdispersion ratio: mean of the squared winsorised z-scores.
    pub phi: f64,
    /// Additive between-unit variance on the kind's scale; 0 when phi <= 1;
    /// `None` when phi > 1 but it is not estimable (a single unit).
    pub tau2: Option<f64>,
}

/// Overdispersion of N units with z-scores `z` (reordered in place) and
/// weight sums sum w, sum w^2:
/// phi = mean(z_w^2) with z winsorised at its 10th/90th percentiles;
/// tau2 = max(0, (N phi - (N - 1)) / (sum w - sum w^2 / sum w)), or 0 when
/// phi <= 1. `None` when N = 0.
pub fn overdispersion(z: &mut [f64], sum_w: f64, sum_w2: f64) -> Option<Overdispersion> {
    let (lo, hi) = winsor_bounds(z)?;
    let count = z.len() as f64;
    let phi = z
        .iter()
        .map(|&v| {
            let w = v.clamp(lo, hi);
            w * w
        })
        .sum::<f64>()
        / count;
    if phi <= 1.0 {
        return Some(Overdispersion {
            phi,
            tau2: Some(0.0),
        });
    }
    let denominator = sum_w - sum_w2 / sum_w;
    let tau2 = (denominator > 0.0)
        .then(|| ((count * phi - (count - 1.0)) / denominator).max(0.0))
        .filter(|t| t.is_finite());
    Some(Overdispersion { phi, tau2 })
}

// ---------------------------------------------------------------------------
// SQL function
// ---------------------------------------------------------------------------

fn result_fields() -> Fields {
    Fields::from(vec![
        Field::new("phi", DataType::Float64, true),
        Field::new("tau2", DataType::Float64, true),
    ])
}

/// The `funnel_overdispersion` aggregate function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FunnelOverdispersion {
    signature: Signature,
}

impl Default for FunnelOverdispersion {
    fn default() -> Self {
        Self::new()
    }
}

impl FunnelOverdispersion {
    /// A new instance.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for FunnelOverdispersion {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        args::coerce_args(NAME, &ARGS, 4, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(result_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new_list(
                format_state_name(args.name, "z"),
                Field::new_list_field(DataType::Float64, true),
                true,
            )),
            Arc::new(Field::new_list(
                format_state_name(args.name, "w"),
                Field::new_list_field(DataType::Float64, true),
                true,
            )),
        ])
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let has_spread = acc_args.exprs.len() > 4;
        // A literal kind is checked once, before any data is read.
        let literal = acc_args
            .exprs
            .first()
            .and_then(|e| e.downcast_ref::<Literal>())
            .map(|l| l.value());
        let kind = match args::literal_str(literal) {
            Some(Some(name)) => {
                let Some(kind) = FunnelKind::parse(name) else {
                    return plan_err!("{}", unknown_kind(NAME, name));
                };
                if kind.uses_spread() && !has_spread {
                    return plan_err!(
                        "{NAME}: kind '{kind}' needs argument 5 {}",
                        kind.spread_name()
                    );
                }
                Some(kind)
            }
            _ => None,
        };
        Ok(Box::new(OverdispersionAccumulator {
            kind,
            has_spread,
            z: Vec::new(),
            w: Vec::new(),
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(doc())
    }
}

#[derive(Debug)]
struct OverdispersionAccumulator {
    /// The kind when it is a literal.
    kind: Option<FunnelKind>,
    has_spread: bool,
    /// Each unit's z-score and weight 1/s^2. Kept (not summed as they
    /// come) so that the result is summed in one order, whatever order
    /// the units arrive and partial states merge in: the same units give
    /// the same bits in every run and every evaluation of a query.
    z: Vec<f64>,
    w: Vec<f64>,
}

impl OverdispersionAccumulator {
    fn row_kind(&self, name: &str) -> Result<FunnelKind> {
        let Some(kind) = FunnelKind::parse(name) else {
            return exec_err!("{}", unknown_kind(NAME, name));
        };
        if kind.uses_spread() && !self.has_spread {
            return exec_err!(
                "{NAME}: kind '{kind}' needs argument 5 {}",
                kind.spread_name()
            );
        }
        Ok(kind)
    }
}

impl Accumulator for OverdispersionAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let kinds = args::str_array(NAME, &values[0])?;
        let value = args::f64_array(NAME, &values[1])?;
        let n = args::f64_array(NAME, &values[2])?;
        let target = args::f64_array(NAME, &values[3])?;
        let spread = match values.get(4) {
            Some(a) => Some(args::f64_array(NAME, a)?),
            None => None,
        };
        let get = |a: &datafusion::arrow::array::Float64Array, i: usize| {
            a.is_valid(i).then(|| a.value(i))
        };
        // Parsed kind of the previous row, reused while the name repeats.
        let mut last: Option<(&str, FunnelKind)> = None;
        for row in 0..value.len() {
            let kind = match self.kind {
                Some(k) => k,
                None => {
                    let Some(name) = kinds.get(row) else { continue };
                    match last {
                        Some((prev, k)) if prev == name => k,
                        _ => {
                            let k = self.row_kind(name)?;
                            last = Some((name, k));
                            k
                        }
                    }
                }
            };
            let (Some(y), Some(nn), Some(t)) = (get(value, row), get(n, row), get(target, row))
            else {
                continue;
            };
            let s = if kind.uses_spread() {
                match spread.and_then(|a| get(a, row)) {
                    Some(s) => s,
                    None => continue,
                }
            } else {
                0.0
            };
            if nn == 0.0 {
                continue;
            }
            if let Err(msg) = check_unit(kind, y, nn, t, s) {
                return exec_err!("{NAME}: {msg}");
            }
            let (z, w) = unit_z(kind, y, nn, t, s);
            self.z.push(z);
            self.w.push(w);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        // z is sorted by `overdispersion`; the weights are summed sorted.
        self.w.sort_by(f64::total_cmp);
        let sum_w = self.w.iter().sum::<f64>();
        let sum_w2 = self.w.iter().map(|w| w * w).sum::<f64>();
        let result = overdispersion(&mut self.z, sum_w, sum_w2);
        ScalarStructBuilder::new()
            .with_scalar(
                Field::new("phi", DataType::Float64, true),
                ScalarValue::Float64(result.map(|r| r.phi)),
            )
            .with_scalar(
                Field::new("tau2", DataType::Float64, true),
                ScalarValue::Float64(result.and_then(|r| r.tau2)),
            )
            .build()
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + (self.z.capacity() + self.w.capacity()) * std::mem::size_of::<f64>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let list = |values: &[f64]| {
            let values: Vec<ScalarValue> = values.iter().map(|&v| ScalarValue::from(v)).collect();
            ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Float64))
        };
        Ok(vec![list(&self.z), list(&self.w)])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for (state, into) in [(&states[0], &mut self.z), (&states[1], &mut self.w)] {
            let lists = state.as_list::<i32>();
            for row in 0..lists.len() {
                if lists.is_null(row) {
                    continue;
                }
                let values = lists.value(row);
                into.extend(args::f64_array(NAME, &values)?.iter().flatten());
            }
        }
        Ok(())
    }
}

fn doc() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
            DOC_SECTION,
            "Overdispersion of units around a funnel target (Spiegelhalter 2005 section 6, \
             FunnelPlotR), as a struct {phi, tau2}. Each unit gets z = (T(value) - \
             T(target)) / s on the kind's scale (see funnel_limits; 'ratio' uses the \
             square-root scale, z = 2 (sqrt(O) - sqrt(E)) for target 1; \
             'proportion_exact' uses the normal scale). z is winsorised at its 10th and \
             90th percentiles (R type 7); phi = mean(z_w^2); tau2 = max(0, (N phi - (N - \
             1)) / (sum w - sum w^2 / sum w)) with w = 1/s^2, and tau2 = 0 when phi <= 1 \
             (FunnelPlotR also gives a small tau2 for (N-1)/N < phi <= 1). Pass tau2 to \
             funnel_limits to widen the limits. Rows with a NULL value, n, target or \
             (where used) spread, or n = 0, are skipped; no rows give NULL fields, and a \
             single overdispersed unit a NULL tau2. A value outside the kind's range (a \
             proportion above 1), a proportion target of 0 or 1, or an unknown kind is an \
             error.",
            "funnel_overdispersion(kind, value, n, target [, spread])",
        )
        .with_sql_example(
            r#"```sql
> SELECT round(o['phi'], 6) AS phi, round(o['tau2'], 6) AS tau2 FROM (SELECT funnel_overdispersion('proportion', p, n, 0.5) AS o FROM (VALUES (0.3, 100), (0.5, 100), (0.7, 100), (0.45, 400)) AS t(p, n));
+------+--------+
| phi  | tau2   |
+------+--------+
| 5.85 | 0.0119 |
+------+--------+
```"#,
        )
        .with_argument(
            "kind",
            "'mean', 'proportion', 'proportion_exact', 'proportion_arcsine', 'ratio' or \
             'effect_size'.",
        )
        .with_argument(
            "value",
            "The unit's indicator: mean, proportion, observed/expected ratio or d.",
        )
        .with_argument("n", "Unit size (expected count for 'ratio').")
        .with_argument("target", "The funnel's centre line theta0.")
        .with_argument(
            "spread",
            "'mean': sigma; 'effect_size': r; ignored otherwise.",
        )
        .with_related_udf("funnel_limits")
        .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tol: f64) {
        assert!(
            (actual - expected).abs() <= tol,
            "expected {expected}, got {actual}"
        );
    }

    #[test]
    fn hand_computed_example() {
        // Five mean-kind units, target 0, sigma 1, n 1: z = value, w = 1.
        // z sorted: -1, 0, 1, 2, 6. R type 7: h = 4 * 0.1 = 0.4 ->
        // q10 = -1 + 0.4 * 1 = -0.6; h = 4 * 0.9 = 3.6 -> q90 = 2 + 0.6 * 4 = 4.4.
        // Winsorised: -0.6, 0, 1, 2, 4.4; squares 0.36, 0, 1, 4, 19.36 -> sum 24.72,
        // phi = 4.944. sum w = 5, sum w^2 = 5: denominator 5 - 1 = 4;
        // tau2 = (5 * 4.944 - 4) / 4 = 5.18.
        let mut z = Vec::new();
        let (mut sw, mut sw2) = (0.0, 0.0);
        for v in [2.0, -1.0, 6.0, 0.0, 1.0] {
            let (zi, w) = unit_z(FunnelKind::Mean, v, 1.0, 0.0, 1.0);
            z.push(zi);
            sw += w;
            sw2 += w * w;
        }
        let r = overdispersion(&mut z, sw, sw2).unwrap();
        close(r.phi, 4.944, 1e-12);
        close(r.tau2.unwrap(), 5.18, 1e-12);
    }

    #[test]
    fn hand_computed_proportions_with_unequal_weights() {
        // The documentation example: target 0.5; units 0.3/100, 0.5/100,
        // 0.7/100, 0.45/400. s = 0.05 (n 100) or 0.025 (n 400):
        // z = -4, 0, 4, -2. Sorted -4, -2, 0, 4: h = 0.3 -> q10 = -4 + 0.3*2 = -3.4;
        // h = 2.7 -> q90 = 0 + 0.7 * 4 = 2.8. Winsorised -3.4, -2, 0, 2.8:
        // squares 11.56 + 4 + 0 + 7.84 = 23.4 -> phi = 5.85.
        // w = 400, 400, 400, 1600: sum 2800, sum w^2 = 3 * 160000 + 2560000
        // = 3040000; denominator 2800 - 3040000/2800 = 1714.2857...
        // tau2 = (4 * 5.85 - 3) / 1714.2857 = 20.4 / 1714.2857 = 0.0119.
        let mut z = Vec::new();
        let (mut sw, mut sw2) = (0.0, 0.0);
        for (p, n) in [(0.3, 100.0), (0.5, 100.0), (0.7, 100.0), (0.45, 400.0)] {
            check_unit(FunnelKind::Proportion, p, n, 0.5, 0.0).unwrap();
            let (zi, w) = unit_z(FunnelKind::Proportion, p, n, 0.5, 0.0);
            z.push(zi);
            sw += w;
            sw2 += w * w;
        }
        let r = overdispersion(&mut z, sw, sw2).unwrap();
        close(r.phi, 5.85, 1e-9);
        close(
            r.tau2.unwrap(),
            20.4 / (2800.0 - 3_040_000.0 / 2800.0),
            1e-12,
        );
    }

    #[test]
    fn no_overdispersion_gives_zero_tau2() {
        // z = -1, 0, 1 (phi <= 1) -> tau2 = 0 even where FunnelPlotR's rule
        // (N phi >= N - 1) would give a positive value.
        let mut z = vec![-1.0, 0.0, 1.0];
        let r = overdispersion(&mut z, 3.0, 3.0).unwrap();
        assert!(r.phi <= 1.0);
        assert_eq!(r.tau2, Some(0.0));
        let mut z = vec![1.0, -1.0, 0.5, 1.0, -1.0];
        let r = overdispersion(&mut z, 5.0, 5.0).unwrap();
        assert!(r.phi <= 1.0 && 5.0 * r.phi >= 4.0);
        assert_eq!(r.tau2, Some(0.0));
    }

    #[test]
    fn empty_and_single_unit() {
        assert_eq!(overdispersion(&mut [], 0.0, 0.0), None);
        let r = overdispersion(&mut [3.0], 4.0, 16.0).unwrap();
        close(r.phi, 9.0, 0.0);
        assert_eq!(r.tau2, None, "one unit cannot estimate tau2");
        let r = overdispersion(&mut [0.5], 4.0, 16.0).unwrap();
        assert_eq!(r.tau2, Some(0.0));
    }

    #[test]
    fn ratio_and_arcsine_z_follow_funnelplotr() {
        // Ratio, O = 16, E = 9, target 1: z = 2 (sqrt(16) - sqrt(9)) = 2.
        let (z, w) = unit_z(FunnelKind::Ratio, 16.0 / 9.0, 9.0, 1.0, 0.0);
        close(z, 2.0, 1e-12);
        close(w, 36.0, 1e-12);
        // Arcsine, y = 0.5, theta0 0.25, n = 25:
        // (asin(sqrt 0.5) - asin(0.5)) / 0.1 = (pi/4 - pi/6) * 10.
        let (z, _) = unit_z(FunnelKind::ProportionArcsine, 0.5, 25.0, 0.25, 0.0);
        close(
            z,
            (std::f64::consts::FRAC_PI_4 - std::f64::consts::FRAC_PI_6) * 10.0,
            1e-12,
        );
    }

    #[test]
    fn bad_units_are_rejected() {
        assert!(check_unit(FunnelKind::Proportion, 1.2, 10.0, 0.5, 0.0).is_err());
        assert!(check_unit(FunnelKind::Proportion, 0.2, 10.0, 0.0, 0.0).is_err());
        assert!(check_unit(FunnelKind::Ratio, -1.0, 10.0, 1.0, 0.0).is_err());
        assert!(check_unit(FunnelKind::Mean, 1.0, 10.0, 0.0, 0.0).is_err());
        assert!(check_unit(FunnelKind::Mean, f64::NAN, 10.0, 0.0, 1.0).is_err());
        assert!(check_unit(FunnelKind::Mean, 1.0, 10.0, 0.0, 1.0).is_ok());
    }

    /// Issue 17: tau2 is the same bits whatever order the units arrive and
    /// partial states merge in (a query evaluating the aggregate twice, or
    /// run twice, gives one value; the funnel charts repeat it on every row).
    #[test]
    fn the_result_does_not_depend_on_the_order_of_units_or_states() {
        use datafusion::arrow::array::{Float64Array, StringArray};
        use datafusion::logical_expr::Accumulator;
        let units: Vec<(f64, f64)> = (1..=40)
            .map(|i| {
                let n = 7.0 + ((i * 37) % 200) as f64;
                let x = ((i * 13) % 7 + (n as i64) / 3) as f64;
                (x / n, n)
            })
            .collect();
        let batch = |units: &[(f64, f64)]| -> Vec<ArrayRef> {
            let len = units.len();
            vec![
                Arc::new(StringArray::from(vec!["proportion"; len])),
                Arc::new(Float64Array::from_iter_values(units.iter().map(|u| u.0))),
                Arc::new(Float64Array::from_iter_values(units.iter().map(|u| u.1))),
                Arc::new(Float64Array::from(vec![0.31; len])),
            ]
        };
        let new = || OverdispersionAccumulator {
            kind: None,
            has_spread: false,
            z: Vec::new(),
            w: Vec::new(),
        };
        let tau2 = |acc: &mut OverdispersionAccumulator| -> u64 {
            let ScalarValue::Struct(s) = acc.evaluate().unwrap() else {
                panic!("a struct")
            };
            let t = s
                .column(1)
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap()
                .value(0);
            assert!(t > 0.0, "overdispersed: {t}");
            t.to_bits()
        };
        let mut whole = new();
        whole.update_batch(&batch(&units)).unwrap();
        let expected = tau2(&mut whole);
        for split in [1, 7, 20, 33] {
            let (a, b) = units.split_at(split);
            let mut reversed: Vec<(f64, f64)> = b.to_vec();
            reversed.extend(a.iter().rev());
            let mut one = new();
            one.update_batch(&batch(&reversed)).unwrap();
            assert_eq!(tau2(&mut one), expected, "units reordered at {split}");
            // Two partial states merged either way round.
            let (mut pa, mut pb) = (new(), new());
            pa.update_batch(&batch(a)).unwrap();
            pb.update_batch(&batch(b)).unwrap();
            let (sa, sb) = (pa.state().unwrap(), pb.state().unwrap());
            for order in [[&sa, &sb], [&sb, &sa]] {
                let mut merged = new();
                for state in order {
                    let arrays: Vec<ArrayRef> =
                        state.iter().map(|s| s.to_array().unwrap()).collect();
                    merged.merge_batch(&arrays).unwrap();
                }
                assert_eq!(tau2(&mut merged), expected, "states merged at {split}");
            }
        }
    }
}
