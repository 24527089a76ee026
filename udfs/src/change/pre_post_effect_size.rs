//! `pre_post_effect_size(t1, t2)`: the pre-post standardised mean change of
//! a group (Morris & DeShon 2002; metafor's SMCR without the small-sample
//! correction), as a struct {d, se, n, r}.

use super::DOC_SECTION;
use crate::funnel::args::{self, ArgSpec, ArgType};
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

const NAME: &str = "pre_post_effect_size";

pub(crate) const ARGS: [ArgSpec; 2] = [("t1", ArgType::Number), ("t2", ArgType::Number)];

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
pub(crate) enum Estimate {
    /// Cohen-style d (no small-sample correction).
    D,
    /// Hedges' g = J(n - 1) d with the exact gamma-function J.
    G,
}

impl Estimate {
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

/// State fields shared by the effect-size aggregates.
pub(crate) fn moment_state_fields(name: &str) -> Vec<FieldRef> {
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

/// Accumulator shared by `pre_post_effect_size` and `pre_post_hedges_g`.
#[derive(Debug)]
pub(crate) struct MomentsAccumulator {
    pub(crate) name: &'static str,
    pub(crate) estimate: Estimate,
    pub(crate) moments: PairedMoments,
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
        let es = match self.estimate {
            Estimate::D => self.moments.effect_size(),
            Estimate::G => super::pre_post_hedges_g::hedges_g(&self.moments),
        };
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

/// The `pre_post_effect_size` aggregate function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PrePostEffectSize {
    signature: Signature,
}

impl Default for PrePostEffectSize {
    fn default() -> Self {
        Self::new()
    }
}

impl PrePostEffectSize {
    /// A new instance.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for PrePostEffectSize {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        args::coerce_args(NAME, &ARGS, 2, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(Estimate::D.fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(moment_state_fields(args.name))
    }

    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(MomentsAccumulator {
            name: NAME,
            estimate: Estimate::D,
            moments: PairedMoments::default(),
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(doc())
    }
}

fn doc() -> &'static Documentation {
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
}
