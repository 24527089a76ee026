//! The pre-post effect sizes of a group of paired scores, one
//! implementation keyed by estimator (as DataFusion's `regr.rs` serves nine
//! functions from one struct):
//! - `pre_post_effect_size(t1, t2)`: the standardised mean change (Morris &
//!   DeShon 2002; metafor's SMCR without the small-sample correction), as a
//!   struct {d, se, n, r};
//! - `pre_post_hedges_g(t1, t2)`: the same with Hedges' exact small-sample
//!   correction (metafor's `escalc(measure = "SMCR")`), as {g, se, n, r}.

use super::DOC_SECTION;
use crate::args::{self, ArgSpec, ArgType};
use crate::stats::ln_gamma_fn;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::common::scalar::ScalarStructBuilder;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, Signature, Volatility,
};
use std::sync::{Arc, OnceLock};

const ARGS: [ArgSpec; 2] = [("t1", ArgType::Number), ("t2", ArgType::Number)];

// ---------------------------------------------------------------------------
// Kernel
// ---------------------------------------------------------------------------

/// Running means, sums of squared deviations and co-moment of (t1, t2)
/// pairs (Welford; merged with Chan et al.'s pairwise formulas), so partial
/// aggregates combine without loss of precision.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PairedMoments {
    /// Number of pairs.
    pub n: u64,
    /// Mean of t1.
    pub mean1: f64,
    /// Mean of t2.
    pub mean2: f64,
    /// Sum of squared deviations of t1.
    pub m2_1: f64,
    /// Sum of squared deviations of t2.
    pub m2_2: f64,
    /// Sum of cross-products of deviations.
    pub c12: f64,
}

/// A pre-post effect size with its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectSize {
    /// The effect size (d, or g for Hedges' correction); `None` when n < 2
    /// or the T1 SD is 0.
    pub estimate: Option<f64>,
    /// Its standard error; `None` when the estimate or r is undefined.
    pub se: Option<f64>,
    /// Number of pairs used.
    pub n: u64,
    /// Pearson correlation of t1 and t2; `None` when n < 2 or either SD is 0.
    pub r: Option<f64>,
}

impl PairedMoments {
    /// Adds one pair.
    pub fn push(&mut self, t1: f64, t2: f64) {
        self.n += 1;
        let n = self.n as f64;
        let d1 = t1 - self.mean1;
        let d2 = t2 - self.mean2;
        self.mean1 += d1 / n;
        self.mean2 += d2 / n;
        self.m2_1 += d1 * (t1 - self.mean1);
        self.m2_2 += d2 * (t2 - self.mean2);
        self.c12 += d1 * (t2 - self.mean2);
    }

    /// Combines another set of moments into this one.
    pub fn merge(&mut self, other: &PairedMoments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let d1 = other.mean1 - self.mean1;
        let d2 = other.mean2 - self.mean2;
        let f = na * nb / n;
        self.mean1 += d1 * nb / n;
        self.mean2 += d2 * nb / n;
        self.m2_1 += other.m2_1 + d1 * d1 * f;
        self.m2_2 += other.m2_2 + d2 * d2 * f;
        self.c12 += other.c12 + d1 * d2 * f;
        self.n += other.n;
    }

    /// Sample SD of t1 (n - 1 denominator); `None` when n < 2.
    pub fn sd1(&self) -> Option<f64> {
        (self.n >= 2).then(|| (self.m2_1 / (self.n as f64 - 1.0)).sqrt())
    }

    /// Pearson correlation of t1 and t2; `None` when n < 2 or an SD is 0.
    pub fn correlation(&self) -> Option<f64> {
        (self.n >= 2 && self.m2_1 > 0.0 && self.m2_2 > 0.0)
            .then(|| (self.c12 / (self.m2_1 * self.m2_2).sqrt()).clamp(-1.0, 1.0))
    }

    /// d = (mean t1 - mean t2) / sd(t1): positive when scores fell.
    pub fn d(&self) -> Option<f64> {
        self.sd1()
            .filter(|&sd| sd > 0.0)
            .map(|sd| (self.mean1 - self.mean2) / sd)
    }

    /// d with se = sqrt(2(1 - r)/n + d^2/(2n)) (Morris & DeShon 2002).
    pub fn effect_size(&self) -> EffectSize {
        with_se(self.d(), self.correlation(), self.n)
    }
}

/// Hedges' exact correction factor J(m) = Gamma(m/2) / (sqrt(m/2)
/// Gamma((m - 1)/2)) for m = n - 1 degrees of freedom (metafor's
/// `.cmicalc`). `None` for m <= 1, where it is undefined.
pub fn hedges_j(m: f64) -> Option<f64> {
    (m > 1.0 && m.is_finite())
        .then(|| (ln_gamma_fn(m / 2.0) - ln_gamma_fn((m - 1.0) / 2.0)).exp() / (m / 2.0).sqrt())
}

/// g = J(n - 1) d with se = sqrt(2(1 - r)/n + g^2/(2n)) (metafor plugs the
/// corrected estimate into the variance). g is `None` when n < 3.
pub fn hedges_g(m: &PairedMoments) -> EffectSize {
    let g = m
        .d()
        .and_then(|d| hedges_j(m.n as f64 - 1.0).map(|j| j * d));
    with_se(g, m.correlation(), m.n)
}

/// Attaches the SMCR standard error sqrt(2(1 - r)/n + es^2/(2n)) to an
/// estimate (metafor's `escalc(measure = "SMCR")` variance).
pub(crate) fn with_se(estimate: Option<f64>, r: Option<f64>, n: u64) -> EffectSize {
    let nf = n as f64;
    let se = match (estimate, r) {
        (Some(es), Some(r)) => Some((2.0 * (1.0 - r) / nf + es * es / (2.0 * nf)).sqrt()),
        _ => None,
    };
    EffectSize { estimate, se, n, r }
}

// ---------------------------------------------------------------------------
// SQL function
// ---------------------------------------------------------------------------

/// Which estimate an effect-size aggregate reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Estimate {
    /// Cohen-style d (no small-sample correction).
    D,
    /// Hedges' g = J(n - 1) d with the exact gamma-function J.
    G,
}

impl Estimate {
    /// The SQL function's name.
    pub fn name(self) -> &'static str {
        match self {
            Estimate::D => "pre_post_effect_size",
            Estimate::G => "pre_post_hedges_g",
        }
    }

    /// The estimate of a set of paired moments.
    pub fn estimate(self, m: &PairedMoments) -> EffectSize {
        match self {
            Estimate::D => m.effect_size(),
            Estimate::G => hedges_g(m),
        }
    }

    fn field(self) -> &'static str {
        match self {
            Estimate::D => "d",
            Estimate::G => "g",
        }
    }

    pub(crate) fn fields(self) -> Fields {
        Fields::from(vec![
            Field::new(self.field(), DataType::Float64, true),
            Field::new("se", DataType::Float64, true),
            Field::new("n", DataType::Int64, true),
            Field::new("r", DataType::Float64, true),
        ])
    }
}

/// State fields of the effect-size aggregates.
fn moment_state_fields(name: &str) -> Vec<FieldRef> {
    let f = |suffix: &str, dt: DataType| {
        Arc::new(Field::new(format_state_name(name, suffix), dt, true))
    };
    vec![
        f("n", DataType::Int64),
        f("mean1", DataType::Float64),
        f("mean2", DataType::Float64),
        f("m2_1", DataType::Float64),
        f("m2_2", DataType::Float64),
        f("c12", DataType::Float64),
    ]
}

/// The accumulator of both estimators: the paired moments, estimated at
/// the end.
#[derive(Debug)]
struct MomentsAccumulator {
    name: &'static str,
    estimate: Estimate,
    moments: PairedMoments,
}

impl Accumulator for MomentsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let t1 = args::f64_array(self.name, &values[0])?;
        let t2 = args::f64_array(self.name, &values[1])?;
        for row in 0..t1.len() {
            if t1.is_valid(row) && t2.is_valid(row) {
                self.moments.push(t1.value(row), t2.value(row));
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let es = self.estimate.estimate(&self.moments);
        let fields = self.estimate.fields();
        let n = i64::try_from(es.n).unwrap_or(i64::MAX);
        ScalarStructBuilder::new()
            .with_scalar(Arc::clone(&fields[0]), ScalarValue::Float64(es.estimate))
            .with_scalar(Arc::clone(&fields[1]), ScalarValue::Float64(es.se))
            .with_scalar(Arc::clone(&fields[2]), ScalarValue::Int64(Some(n)))
            .with_scalar(Arc::clone(&fields[3]), ScalarValue::Float64(es.r))
            .build()
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let m = &self.moments;
        Ok(vec![
            ScalarValue::Int64(Some(i64::try_from(m.n).unwrap_or(i64::MAX))),
            ScalarValue::from(m.mean1),
            ScalarValue::from(m.mean2),
            ScalarValue::from(m.m2_1),
            ScalarValue::from(m.m2_2),
            ScalarValue::from(m.c12),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(n) = states[0].as_primitive_opt::<Int64Type>() else {
            return exec_err!("{}: expected an Int64 state column", self.name);
        };
        let cols = [
            args::f64_array(self.name, &states[1])?,
            args::f64_array(self.name, &states[2])?,
            args::f64_array(self.name, &states[3])?,
            args::f64_array(self.name, &states[4])?,
            args::f64_array(self.name, &states[5])?,
        ];
        for row in 0..n.len() {
            if n.is_null(row) || n.value(row) <= 0 {
                continue;
            }
            let other = PairedMoments {
                n: n.value(row).unsigned_abs(),
                mean1: cols[0].value(row),
                mean2: cols[1].value(row),
                m2_1: cols[2].value(row),
                m2_2: cols[3].value(row),
                c12: cols[4].value(row),
            };
            self.moments.merge(&other);
        }
        Ok(())
    }
}

/// A pre-post effect-size aggregate: `pre_post_effect_size` or
/// `pre_post_hedges_g`, by its [`Estimate`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PrePostEffectSize {
    estimate: Estimate,
    signature: Signature,
}

impl PrePostEffectSize {
    /// The aggregate reporting `estimate`.
    pub fn new(estimate: Estimate) -> Self {
        Self {
            estimate,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for PrePostEffectSize {
    fn name(&self) -> &str {
        self.estimate.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        args::coerce_args(self.estimate.name(), &ARGS, 2, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(self.estimate.fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(moment_state_fields(args.name))
    }

    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(MomentsAccumulator {
            name: self.estimate.name(),
            estimate: self.estimate,
            moments: PairedMoments::default(),
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(match self.estimate {
            Estimate::D => doc_d(),
            Estimate::G => doc_g(),
        })
    }
}

fn doc_d() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
            DOC_SECTION,
            "Pre-post effect size of a group of paired scores (Morris & DeShon 2002; \
             metafor SMCR without the small-sample correction), as a struct {d, se, n, r}: \
             d = (mean t1 - mean t2) / SD(t1) with the sample SD (n - 1), positive when \
             scores fell (an improvement on measures where lower is better; negate it where \
             higher is better); se = sqrt(2(1 - r)/n + d^2/(2n)); r = Pearson correlation \
             of t1 and t2; n = pairs used. Rows where either score is NULL are skipped. d \
             and se are NULL when n < 2 or SD(t1) = 0; r (and se) when either SD is 0.",
            "pre_post_effect_size(t1, t2)",
        )
        .with_sql_example(
            r#"```sql
> SELECT round(e['d'], 6) AS d, round(e['se'], 6) AS se, e['n'] AS n, round(e['r'], 6) AS r FROM (SELECT pre_post_effect_size(t1, t2) AS e FROM (VALUES (10, 8), (12, 9), (14, 12), (16, 11), (18, 15)) AS s(t1, t2));
+----------+----------+---+---------+
| d        | se       | n | r       |
+----------+----------+---+---------+
| 0.948683 | 0.347125 | 5 | 0.92376 |
+----------+----------+---+---------+
```"#,
        )
        .with_argument("t1", "Score at T1.")
        .with_argument("t2", "Score at T2.")
        .with_related_udf("pre_post_hedges_g")
        .build()
    })
}

fn doc_g() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
            DOC_SECTION,
            "Pre-post effect size with Hedges' small-sample correction (metafor SMCR), as a \
             struct {g, se, n, r}: g = J(n - 1) * d with d as in pre_post_effect_size and \
             the exact J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m - 1)/2)) (the 1 - 3/(4m - 1) \
             shortcut differs in the 3rd decimal at small n); se = sqrt(2(1 - r)/n + \
             g^2/(2n)). g and se are NULL when n < 3 or SD(t1) = 0.",
            "pre_post_hedges_g(t1, t2)",
        )
        .with_sql_example(
            r#"```sql
> SELECT round(e['g'], 6) AS g, round(e['se'], 6) AS se, e['n'] AS n FROM (SELECT pre_post_hedges_g(t1, t2) AS e FROM (VALUES (10, 8), (12, 9), (14, 12), (16, 11), (18, 15)) AS s(t1, t2));
+---------+----------+---+
| g       | se       | n |
+---------+----------+---+
| 0.75694 | 0.296296 | 5 |
+---------+----------+---+
```"#,
        )
        .with_argument("t1", "Score at T1.")
        .with_argument("t2", "Score at T2.")
        .with_related_udf("pre_post_effect_size")
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

    /// Hand-worked: t1 = 10, 12, 14, 16, 18; t2 = 8, 9, 12, 11, 15.
    /// Means 14 and 11. t1 deviations -4, -2, 0, 2, 4: SS 40, var 10,
    /// SD sqrt(10). t2 deviations -3, -2, 1, 0, 4: SS 30. Cross 12 + 4 + 0 +
    /// 0 + 16 = 32. d = 3 / sqrt(10) = 0.9486833; r = 32 / sqrt(1200) =
    /// 0.9237604; se^2 = 2(1 - r)/5 + d^2/10 = 0.0304958 + 0.09.
    fn hand_example() -> PairedMoments {
        let mut m = PairedMoments::default();
        for (a, b) in [
            (10.0, 8.0),
            (12.0, 9.0),
            (14.0, 12.0),
            (16.0, 11.0),
            (18.0, 15.0),
        ] {
            m.push(a, b);
        }
        m
    }

    #[test]
    fn hand_worked_example() {
        let es = hand_example().effect_size();
        let d = 3.0 / 10f64.sqrt();
        let r = 32.0 / 1200f64.sqrt();
        close(es.estimate.unwrap(), d, 1e-12);
        close(es.r.unwrap(), r, 1e-12);
        close(
            es.se.unwrap(),
            (2.0 * (1.0 - r) / 5.0 + d * d / 10.0).sqrt(),
            1e-12,
        );
        close(es.estimate.unwrap(), 0.948683, 1e-6);
        close(es.se.unwrap(), 0.347125, 1e-6);
        assert_eq!(es.n, 5);
    }

    #[test]
    fn merge_equals_single_pass() {
        let pairs = [
            (3.0, 1.0),
            (7.5, 2.0),
            (1.0, 1.5),
            (9.0, 4.0),
            (4.0, 4.0),
            (6.0, 0.5),
        ];
        let mut whole = PairedMoments::default();
        pairs.iter().for_each(|&(a, b)| whole.push(a, b));
        for split in 0..=pairs.len() {
            let (mut left, mut right) = (PairedMoments::default(), PairedMoments::default());
            pairs[..split].iter().for_each(|&(a, b)| left.push(a, b));
            pairs[split..].iter().for_each(|&(a, b)| right.push(a, b));
            left.merge(&right);
            assert_eq!(left.n, whole.n);
            close(left.mean1, whole.mean1, 1e-12);
            close(left.m2_1, whole.m2_1, 1e-12);
            close(left.m2_2, whole.m2_2, 1e-12);
            close(left.c12, whole.c12, 1e-12);
        }
    }

    #[test]
    fn undefined_cases_are_none() {
        let es = PairedMoments::default().effect_size();
        assert_eq!((es.estimate, es.se, es.n, es.r), (None, None, 0, None));
        let mut one = PairedMoments::default();
        one.push(5.0, 3.0);
        assert_eq!(one.effect_size().estimate, None);
        // SD(t1) = 0.
        let mut flat = PairedMoments::default();
        flat.push(5.0, 3.0);
        flat.push(5.0, 4.0);
        assert_eq!(flat.effect_size().estimate, None);
        // SD(t2) = 0: d defined, r and se not.
        let mut flat2 = PairedMoments::default();
        flat2.push(5.0, 3.0);
        flat2.push(7.0, 3.0);
        let es = flat2.effect_size();
        close(es.estimate.unwrap(), 3.0 / 2f64.sqrt(), 1e-12);
        assert_eq!((es.r, es.se), (None, None));
    }

    #[test]
    fn exact_j_closed_forms() {
        // Gamma(1) = 1, Gamma(1/2) = sqrt(pi), Gamma(3/2) = sqrt(pi)/2:
        // J(2) = 1/sqrt(pi); J(3) = sqrt(pi/6); J(4) = sqrt(2/pi).
        let pi = std::f64::consts::PI;
        close(hedges_j(2.0).unwrap(), 1.0 / pi.sqrt(), 1e-14);
        close(hedges_j(3.0).unwrap(), (pi / 6.0).sqrt(), 1e-14);
        close(hedges_j(4.0).unwrap(), (2.0 / pi).sqrt(), 1e-14);
        // The shortcut 1 - 3/(4m - 1) misses J(2) in the 2nd decimal.
        assert!((hedges_j(2.0).unwrap() - (1.0 - 3.0 / 7.0)).abs() > 5e-3);
        // Large m: J -> 1 - 3/(4m - 1), whose own error is O(m^-2). The
        // ln-Gamma difference cancels about 7 digits at m = 10^6, so 1e-9
        // (far below the 6 decimals any chart shows).
        close(hedges_j(1e6).unwrap(), 1.0 - 3.0 / (4e6 - 1.0), 1e-9);
        assert_eq!(hedges_j(1.0), None);
        assert_eq!(hedges_j(f64::NAN), None);
    }

    #[test]
    fn hedges_hand_worked_example() {
        // Same pairs as pre_post_effect_size: d = 3/sqrt(10), n = 5, m = 4:
        // g = sqrt(2/pi) * d = 0.7569398; se^2 = 2(1 - r)/5 + g^2/10.
        let mut m = PairedMoments::default();
        for (a, b) in [
            (10.0, 8.0),
            (12.0, 9.0),
            (14.0, 12.0),
            (16.0, 11.0),
            (18.0, 15.0),
        ] {
            m.push(a, b);
        }
        let es = hedges_g(&m);
        close(es.estimate.unwrap(), 0.7569398, 1e-7);
        close(es.se.unwrap(), 0.2962965, 1e-7);
        // n = 2: d exists but J(1) does not.
        let mut two = PairedMoments::default();
        two.push(1.0, 0.0);
        two.push(3.0, 1.0);
        assert!(two.d().is_some());
        assert_eq!(hedges_g(&two).estimate, None);
    }
}
