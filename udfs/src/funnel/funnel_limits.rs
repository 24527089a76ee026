//! `funnel_limits(kind, target, n, coverage [, spread [, tau2]])`: the
//! control limits of a funnel plot at one unit size.

use super::kind::{unknown_kind, FunnelKind};
use super::DOC_SECTION;
use crate::args::{self, ArgSpec, ArgType};
use crate::stats;
use datafusion::arrow::array::{ArrayRef, Float64Builder, StructArray};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use std::sync::{Arc, OnceLock};

const NAME: &str = "funnel_limits";

const ARGS: [ArgSpec; 6] = [
    ("kind", ArgType::Text),
    ("target", ArgType::Number),
    ("n", ArgType::Number),
    ("coverage", ArgType::Number),
    ("spread", ArgType::Number),
    ("tau2", ArgType::Number),
];

// ---------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------

/// The normal multiplier and tail area of a coverage level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coverage {
    /// Two-sided normal multiplier, e.g. 1.959964 for 95%.
    pub z: f64,
    /// Tail area on each side, e.g. 0.025 for 95%.
    pub tail: f64,
}

impl Coverage {
    /// Coverage from a percentage in (0, 100); `None` outside.
    pub fn from_percent(percent: f64) -> Option<Coverage> {
        Some(Coverage {
            z: stats::z_for_coverage(percent)?,
            tail: stats::tail_for_coverage(percent)?,
        })
    }
}

/// z x sqrt(se^2 + tau2) without squaring se (no overflow for extreme
/// inputs), and 0 for z = 0 whatever se is.
fn half_width(z: f64, se: f64, tau2: f64) -> f64 {
    if z == 0.0 {
        0.0
    } else {
        z * se.hypot(tau2.sqrt())
    }
}

/// Mean funnel: theta0 +- z sqrt(sigma^2 / n + tau2).
pub fn mean_limits(target: f64, sigma: f64, n: f64, z: f64, tau2: f64) -> (f64, f64) {
    let half = half_width(z, sigma / n.sqrt(), tau2);
    (target - half, target + half)
}

/// Proportion funnel, normal approximation (PHE's "Wilson" funnel):
/// theta0 +- z sqrt(theta0 (1 - theta0) / n + tau2), clamped to [0, 1].
pub fn proportion_limits(theta0: f64, n: f64, z: f64, tau2: f64) -> (f64, f64) {
    let half = z * (theta0 * (1.0 - theta0) / n + tau2).sqrt();
    (
        (theta0 - half).clamp(0.0, 1.0),
        (theta0 + half).clamp(0.0, 1.0),
    )
}

/// Proportion funnel, Spiegelhalter (2005, appendix) interpolated exact
/// binomial limits: (r_p - a) / n for p = tail and 1 - tail, clamped to
/// [0, 1]. For small n theta0 these are quantiles of a very discrete
/// distribution and need not contain theta0.
pub fn proportion_exact_limits(theta0: f64, n: f64, tail: f64) -> (f64, f64) {
    let lower = stats::binomial_interpolated_quantile(n, theta0, tail) / n;
    let upper = stats::binomial_interpolated_quantile(n, theta0, 1.0 - tail) / n;
    (lower.clamp(0.0, 1.0), upper.clamp(0.0, 1.0))
}

/// Proportion funnel on FunnelPlotR's arcsine scale:
/// sin^2(asin(sqrt(theta0)) +- z sqrt(1/(4n) + tau2)), the lower limit 0 once
/// the inner term is <= 0 and the upper 1 once it is >= pi/2.
pub fn proportion_arcsine_limits(theta0: f64, n: f64, z: f64, tau2: f64) -> (f64, f64) {
    let centre = theta0.sqrt().asin();
    let half = z * (1.0 / (4.0 * n) + tau2).sqrt();
    let (lo, hi) = (centre - half, centre + half);
    let lower = if lo <= 0.0 { 0.0 } else { lo.sin().powi(2) };
    let upper = if hi >= std::f64::consts::FRAC_PI_2 {
        1.0
    } else {
        hi.sin().powi(2)
    };
    (lower, upper)
}

/// Ratio (observed / expected) funnel with E = `expected`.
///
/// Without overdispersion (tau2 = 0): FunnelPlotR's exact Poisson limits,
/// target * chi2_tail(2E) / (2E) and target * chi2_{1-tail}(2(E + 1)) / (2E).
/// With tau2 > 0 there is no exact distribution; the limits are those of
/// FunnelPlotR's square-root ("CQC") scale, back-transformed:
/// (sqrt(target) +- z sqrt(1/(4E) + tau2))^2, the lower 0 once the inner
/// term is <= 0.
pub fn ratio_limits(target: f64, expected: f64, cov: Coverage, tau2: f64) -> (f64, f64) {
    if tau2 == 0.0 {
        let (lower, upper) = stats::poisson_ratio_limits(expected, cov.tail);
        return (target * lower, target * upper);
    }
    let centre = target.sqrt();
    let half = cov.z * (1.0 / (4.0 * expected) + tau2).sqrt();
    let lo = centre - half;
    let lower = if lo <= 0.0 { 0.0 } else { lo * lo };
    (lower, (centre + half).powi(2))
}

/// Pre-post effect size funnel (Morris & DeShon 2002 variance of d):
/// theta0 +- z sqrt(2(1 - r)/n + theta0^2/(2n) + tau2).
pub fn effect_size_limits(theta0: f64, r: f64, n: f64, z: f64, tau2: f64) -> (f64, f64) {
    // theta0 / sqrt(2n) squared rather than theta0^2 / 2n, so an extreme
    // theta0 does not overflow to infinity (and z = 0 then gives 0, not NaN).
    let t = theta0 / (2.0 * n).sqrt();
    let var = 2.0 * (1.0 - r) / n + t * t;
    let half = half_width(z, var.sqrt(), tau2);
    (theta0 - half, theta0 + half)
}

/// Limits of any kind. `spread` is sigma for `mean`, r for `effect_size`
/// and ignored otherwise. `proportion_exact` with tau2 > 0 uses the normal
/// approximation (there is no exact overdispersed binomial).
pub fn funnel_limits(
    kind: FunnelKind,
    target: f64,
    n: f64,
    spread: f64,
    cov: Coverage,
    tau2: f64,
) -> (f64, f64) {
    match kind {
        FunnelKind::Mean => mean_limits(target, spread, n, cov.z, tau2),
        FunnelKind::Proportion => proportion_limits(target, n, cov.z, tau2),
        FunnelKind::ProportionExact if tau2 == 0.0 => proportion_exact_limits(target, n, cov.tail),
        FunnelKind::ProportionExact => proportion_limits(target, n, cov.z, tau2),
        FunnelKind::ProportionArcsine => proportion_arcsine_limits(target, n, cov.z, tau2),
        FunnelKind::Ratio => ratio_limits(target, n, cov, tau2),
        FunnelKind::EffectSize => effect_size_limits(target, spread, n, cov.z, tau2),
    }
}

/// Checked limits for one row: `Ok(None)` for n = 0 (no limits), an error
/// message for bad parameters.
pub fn checked_limits(
    kind: FunnelKind,
    target: f64,
    n: f64,
    spread: f64,
    coverage: f64,
    tau2: f64,
) -> Result<Option<(f64, f64)>, String> {
    kind.check(target, n, spread, tau2)?;
    let Some(cov) = Coverage::from_percent(coverage) else {
        return Err(format!(
            "coverage must be a percentage strictly between 0 and 100, got {coverage}"
        ));
    };
    if n == 0.0 {
        return Ok(None);
    }
    Ok(Some(funnel_limits(kind, target, n, spread, cov, tau2)))
}

/// The `{lower, upper}` struct fields shared by the funnel functions.
pub(crate) fn limit_fields() -> Fields {
    Fields::from(vec![
        Field::new("lower", DataType::Float64, true),
        Field::new("upper", DataType::Float64, true),
    ])
}

/// Builds `{lower, upper}` rows, a NULL struct for a NULL row.
#[derive(Debug)]
pub(crate) struct LimitsBuilder {
    lower: Float64Builder,
    upper: Float64Builder,
    valid: Vec<bool>,
}

impl LimitsBuilder {
    pub(crate) fn with_capacity(len: usize) -> Self {
        Self {
            lower: Float64Builder::with_capacity(len),
            upper: Float64Builder::with_capacity(len),
            valid: Vec::with_capacity(len),
        }
    }

    pub(crate) fn append(&mut self, limits: Option<(f64, f64)>) {
        match limits {
            Some((lo, hi)) => {
                self.lower.append_value(lo);
                self.upper.append_value(hi);
                self.valid.push(true);
            }
            None => {
                self.lower.append_null();
                self.upper.append_null();
                self.valid.push(false);
            }
        }
    }

    pub(crate) fn finish(mut self) -> ArrayRef {
        let nulls = NullBuffer::from(self.valid);
        let columns: Vec<ArrayRef> =
            vec![Arc::new(self.lower.finish()), Arc::new(self.upper.finish())];
        Arc::new(StructArray::new(limit_fields(), columns, Some(nulls)))
    }
}

// ---------------------------------------------------------------------------
// SQL function
// ---------------------------------------------------------------------------

/// The `funnel_limits` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FunnelLimits {
    signature: Signature,
}

impl Default for FunnelLimits {
    fn default() -> Self {
        Self::new()
    }
}

impl FunnelLimits {
    /// A new instance.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// Resolves a literal kind at planning time. `Ok(None)` when the kind is not
/// a literal (or is NULL).
pub(crate) fn planned_kind(
    func: &str,
    literal: Option<Option<&str>>,
    n_args: usize,
    spread_position: usize,
) -> Result<Option<FunnelKind>> {
    let Some(Some(name)) = literal else {
        return Ok(None);
    };
    let Some(kind) = FunnelKind::parse(name) else {
        return plan_err!("{}", unknown_kind(func, name));
    };
    if kind.uses_spread() && n_args <= spread_position {
        return plan_err!(
            "{func}: kind '{kind}' needs argument {} {}",
            spread_position + 1,
            kind.spread_name()
        );
    }
    Ok(Some(kind))
}

impl ScalarUDFImpl for FunnelLimits {
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
        Ok(DataType::Struct(limit_fields()))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let literal = args
            .scalar_arguments
            .first()
            .and_then(|s| args::literal_str(*s));
        planned_kind(NAME, literal, args.arg_fields.len(), 4)?;
        Ok(Arc::new(Field::new(
            NAME,
            DataType::Struct(limit_fields()),
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = &args.args;
        let (len, scalar) = args::output_len(a, args.number_rows);
        let kind_arg = args::str_arg(NAME, &a[0])?;
        let target = args::f64_arg(NAME, &a[1])?;
        let n = args::f64_arg(NAME, &a[2])?;
        let coverage = args::f64_arg(NAME, &a[3])?;
        let spread = match a.get(4) {
            Some(v) => Some(args::f64_arg(NAME, v)?),
            None => None,
        };
        let tau2 = match a.get(5) {
            Some(v) => Some(args::f64_arg(NAME, v)?),
            None => None,
        };
        // A scalar kind is resolved once for the whole batch.
        let scalar_kind = match &kind_arg {
            args::StrArg::Scalar(Some(name)) => Some(resolve_kind(name, spread.is_some())?),
            _ => None,
        };
        let mut out = LimitsBuilder::with_capacity(len);
        for row in 0..len {
            let kind = match scalar_kind {
                Some(k) => k,
                None => match kind_arg.get(row) {
                    Some(name) => resolve_kind(name, spread.is_some())?,
                    None => {
                        out.append(None);
                        continue;
                    }
                },
            };
            let (Some(t), Some(nn), Some(c)) = (target.get(row), n.get(row), coverage.get(row))
            else {
                out.append(None);
                continue;
            };
            // spread is only read by the kinds that use it.
            let s = if kind.uses_spread() {
                match spread.as_ref().and_then(|s| s.get(row)) {
                    Some(s) => s,
                    None => {
                        out.append(None);
                        continue;
                    }
                }
            } else {
                0.0
            };
            let tau = match &tau2 {
                None => 0.0,
                Some(arg) => match arg.get(row) {
                    Some(v) => v,
                    None => {
                        out.append(None);
                        continue;
                    }
                },
            };
            match checked_limits(kind, t, nn, s, c, tau) {
                Ok(limits) => out.append(limits),
                Err(msg) => return exec_err!("{NAME}: {msg}"),
            }
        }
        args::finish(out.finish(), scalar)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(doc())
    }
}

/// Parses a kind found at execution time (a non-literal kind argument).
fn resolve_kind(name: &str, has_spread: bool) -> Result<FunnelKind> {
    let Some(kind) = FunnelKind::parse(name) else {
        return exec_err!("{}", unknown_kind(NAME, name));
    };
    if kind.uses_spread() && !has_spread {
        return exec_err!(
            "{NAME}: kind '{kind}' needs argument 5 {}",
            kind.spread_name()
        );
    }
    Ok(kind)
}

fn doc() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
            DOC_SECTION,
            "Funnel-plot control limits for a unit of size n around a target, as a \
             struct {lower, upper}. Kinds: 'mean' (target +- z sigma/sqrt(n)), \
             'proportion' (normal approximation, clamped to [0, 1]; PHE's funnel), \
             'proportion_exact' (Spiegelhalter 2005 interpolated exact binomial; n must be \
             whole; with tau2 > 0 the normal approximation is used), \
             'proportion_arcsine' (FunnelPlotR), 'ratio' (observed/expected with n = \
             expected count: FunnelPlotR's exact Poisson limits times target; with tau2 > 0 \
             the square-root scale), 'effect_size' (pre-post d, spread = r). \
             z = Phi^-1(1 - (1 - coverage/100)/2). tau2 (additive overdispersion from \
             funnel_overdispersion) widens the limits to target +- z sqrt(s^2 + tau2) on \
             the kind's scale. NULL when n = 0 or an argument the kind uses is NULL; \
             spread is ignored (may be NULL) for kinds that do not use it. An unknown \
             kind, n < 0, coverage outside (0, 100), a target outside the kind's range, \
             sigma < 0, r outside [-1, 1] or tau2 < 0 is an error.",
            "funnel_limits(kind, target, n, coverage [, spread [, tau2]])",
        )
        .with_sql_example(
            r#"```sql
> SELECT round(l['lower'], 6) AS lower, round(l['upper'], 6) AS upper FROM (SELECT funnel_limits('mean', 15, 25, 95, 6) AS l);
+-----------+-----------+
| lower     | upper     |
+-----------+-----------+
| 12.648043 | 17.351957 |
+-----------+-----------+
> SELECT round(l['lower'], 6) AS lower, round(l['upper'], 6) AS upper FROM (SELECT funnel_limits('ratio', 1, 15, 99.8) AS l);
+----------+----------+
| lower    | upper    |
+----------+----------+
| 0.386265 | 2.082907 |
+----------+----------+
```"#,
        )
        .with_argument(
            "kind",
            "'mean', 'proportion', 'proportion_exact', 'proportion_arcsine', 'ratio' or \
             'effect_size'.",
        )
        .with_argument(
            "target",
            "Centre line theta0: overall mean, overall proportion (sum of numerators / sum \
             of denominators), ratio target (usually 1) or pooled d.",
        )
        .with_argument(
            "n",
            "Unit size: cases, denominator, or expected count for 'ratio'.",
        )
        .with_argument(
            "coverage",
            "Coverage in percent, e.g. 95 or 99.8 (any value in (0, 100)).",
        )
        .with_argument(
            "spread",
            "'mean': sigma, the SD of all individual cases; 'effect_size': r, the pooled \
             T1-T2 correlation; ignored otherwise.",
        )
        .with_argument(
            "tau2",
            "Additive between-unit variance on the kind's scale (default 0).",
        )
        .with_related_udf("funnel_position")
        .with_related_udf("funnel_overdispersion")
        .with_related_udf("funnel_curve")
        .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: (f64, f64), expected: (f64, f64), tol: f64) {
        assert!(
            (actual.0 - expected.0).abs() <= tol && (actual.1 - expected.1).abs() <= tol,
            "expected {expected:?}, got {actual:?}"
        );
    }

    fn cov(percent: f64) -> Coverage {
        Coverage::from_percent(percent).unwrap()
    }

    #[test]
    fn mean_funnel_vector() {
        // statistics.md: mean funnel, target 15, sigma 6, n = 25.
        close(
            mean_limits(15.0, 6.0, 25.0, cov(95.0).z, 0.0),
            (12.648043, 17.351957),
            1e-6,
        );
        close(
            mean_limits(15.0, 6.0, 25.0, cov(99.8).z, 0.0),
            (11.291721, 18.708279),
            1e-6,
        );
    }

    #[test]
    fn proportion_funnel_vectors() {
        // statistics.md: theta0 0.35, n = 20; normal 95% (0.14096, 0.55904),
        // Spiegelhalter exact 95% (0.11997, 0.54193) (given to 5 decimals).
        close(
            proportion_limits(0.35, 20.0, cov(95.0).z, 0.0),
            (0.14096, 0.55904),
            5e-6,
        );
        close(
            proportion_exact_limits(0.35, 20.0, cov(95.0).tail),
            (0.11997, 0.54193),
            5e-6,
        );
    }

    #[test]
    fn proportion_exact_by_hand() {
        // n = 3, theta0 0.5: F = 0.125, 0.5, 0.875, 1. p = 0.975: r = 3,
        // a = (1 - 0.975)/0.125 = 0.2, upper = 2.8/3. p = 0.025: r = 0,
        // a = (0.125 - 0.025)/0.125 = 0.8, lower = -0.8/3 -> 0.
        close(
            proportion_exact_limits(0.5, 3.0, 0.025),
            (0.0, 2.8 / 3.0),
            1e-15,
        );
        // theta0 = 0: every limit is 0. theta0 = 1: F(r) = 0 below r = n and
        // 1 at n, so r = n for both tails and a = (1 - p) / 1: lower
        // (10 - 0.975) / 10 = 0.9025, upper (10 - 0.025) / 10 = 0.9975.
        close(proportion_exact_limits(0.0, 10.0, 0.025), (0.0, 0.0), 0.0);
        close(
            proportion_exact_limits(1.0, 10.0, 0.025),
            (0.9025, 0.9975),
            1e-15,
        );
    }

    #[test]
    fn phe_wilson_funnel_is_the_normal_approximation() {
        // statistics.md: PHE's "Wilson" funnel equals theta0 +- z sqrt(theta0(1-theta0)/n).
        let (lo, hi) = proportion_limits(0.65, 100.0, cov(95.0).z, 0.0);
        let half = 1.959963985 * (0.65_f64 * 0.35 / 100.0).sqrt();
        close((lo, hi), (0.65 - half, 0.65 + half), 1e-9);
    }

    #[test]
    fn ratio_limits_at_vanishing_coverage_are_the_medians() {
        // Found by the no-panic property test: a coverage of 1e-300 % rounds
        // the tail area to exactly 0.5, which the exact limits rejected
        // (NaN). Both limits are then the gamma medians, just around 1.
        let c = Coverage::from_percent(1e-300).unwrap();
        let (lo, hi) = ratio_limits(1e15, 1e15, c, 0.0);
        assert!(lo.is_finite() && hi.is_finite() && lo <= hi, "({lo}, {hi})");
        let (lo, hi) = ratio_limits(1.0, 20.0, c, 0.0);
        // Medians of Gamma(20) and Gamma(21) over E = 20, by Choi's (1994)
        // k - 1/3 + 8/(405 k): (19.66766, 20.66761) / 20.
        close((lo, hi), (0.98342, 1.03337), 1e-4);
    }

    #[test]
    fn ratio_funnelplotr_vectors() {
        // statistics.md: FunnelPlotR exact Poisson, target 1, E = 15, 20, 30.
        let cases = [
            (15.0, (0.5596924, 1.649348), (0.3862650, 2.082907)),
            (20.0, (0.6108260, 1.544419), (0.4479107, 1.902094)),
            (30.0, (0.6746958, 1.427562), (0.5289724, 1.702771)),
        ];
        for (e, l95, l998) in cases {
            close(ratio_limits(1.0, e, cov(95.0), 0.0), l95, 1e-6);
            close(ratio_limits(1.0, e, cov(99.8), 0.0), l998, 1e-6);
        }
        // A target scales the limits (FunnelPlotR's `target *`).
        let (lo, hi) = ratio_limits(2.0, 15.0, cov(95.0), 0.0);
        close((lo, hi), (2.0 * 0.5596924, 2.0 * 1.649348), 2e-6);
    }

    #[test]
    fn arcsine_and_overdispersed_limits_by_hand() {
        let z = cov(95.0).z;
        // Arcsine: theta0 0.25 -> asin(0.5) = pi/6; n = 25 -> s = 0.1.
        let c = std::f64::consts::FRAC_PI_6;
        let expected = ((c - z * 0.1).sin().powi(2), (c + z * 0.1).sin().powi(2));
        close(
            proportion_arcsine_limits(0.25, 25.0, z, 0.0),
            expected,
            1e-15,
        );
        // With tau2 = 0.03: s^2 + tau2 = 0.04 -> half width 0.2 z.
        let expected = ((c - z * 0.2).sin().powi(2), (c + z * 0.2).sin().powi(2));
        close(
            proportion_arcsine_limits(0.25, 25.0, z, 0.03),
            expected,
            1e-15,
        );
        // Inner term beyond [0, pi/2] clamps.
        close(
            proportion_arcsine_limits(0.01, 1.0, z, 0.0),
            (0.0, (0.1_f64.asin() + z * 0.5).sin().powi(2)),
            1e-15,
        );
        assert_eq!(proportion_arcsine_limits(0.99, 1.0, z, 0.0).1, 1.0);
        // Ratio on the square-root scale: target 1, E = 25, tau2 = 0.04:
        // sqrt(0.01 + 0.04) = sqrt(0.05).
        let h = z * 0.05_f64.sqrt();
        close(
            ratio_limits(1.0, 25.0, cov(95.0), 0.04),
            ((1.0 - h).powi(2), (1.0 + h).powi(2)),
            1e-15,
        );
        // Mean with tau2: sigma 6, n 36 -> 1 + tau2 3 = 4 -> half 2z.
        close(
            mean_limits(10.0, 6.0, 36.0, z, 3.0),
            (10.0 - 2.0 * z, 10.0 + 2.0 * z),
            1e-12,
        );
        // Effect size: d 0.5, r 0.5, n 50: 2(0.5)/50 + 0.25/100 = 0.0225.
        close(
            effect_size_limits(0.5, 0.5, 50.0, z, 0.0),
            (0.5 - 0.15 * z, 0.5 + 0.15 * z),
            1e-12,
        );
    }

    #[test]
    fn checked_limits_nulls_and_errors() {
        use FunnelKind::*;
        assert_eq!(checked_limits(Mean, 15.0, 0.0, 6.0, 95.0, 0.0), Ok(None));
        assert!(checked_limits(Mean, 15.0, 25.0, 6.0, 100.0, 0.0).is_err());
        assert!(checked_limits(Mean, 15.0, 25.0, 6.0, 0.0, 0.0).is_err());
        assert!(checked_limits(Ratio, 1.0, -2.0, 0.0, 95.0, 0.0).is_err());
        assert!(checked_limits(ProportionExact, 0.3, 10.5, 0.0, 95.0, 0.0).is_err());
        // proportion_exact with tau2 > 0 falls back to the normal approximation.
        assert_eq!(
            checked_limits(ProportionExact, 0.3, 50.0, 0.0, 95.0, 0.01),
            checked_limits(Proportion, 0.3, 50.0, 0.0, 95.0, 0.01)
        );
    }
}
