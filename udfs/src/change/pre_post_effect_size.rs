//! The pre-post effect sizes of a group of paired scores, one
//! implementation keyed by estimator (as DataFusion's `regr.rs` serves nine
//! functions from one struct):
//! - `pre_post_effect_size(t1, t2)`: the standardised mean change (Morris &
//!   DeShon 2002; metafor's SMCR without the small-sample correction), as a
//!   struct {d, se, n, r};
//! - `pre_post_hedges_g(t1, t2)`: the same with Hedges' exact small-sample
//!   correction (metafor's `escalc(measure = "SMCR")`), as {g, se, n, r};
//! - `score_sd(x)`: the sample SD of one score, from the same moments (x
//!   paired with itself), so the same to the last bit in any row order for
//!   whole numbers, which DataFusion's `stddev_samp` is not.

use super::DOC_SECTION;
use crate::args::{self, ArgSpec, ArgType};
use crate::stats::ln_gamma_fn;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Field, FieldRef, Fields, Int64Type};
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
/// aggregates combine without loss of precision; and, while every score is
/// a whole number, their exact integer sums ([`IntegerSums`]).
///
/// The estimates are computed from the exact sums when there are any, so
/// for whole-number scores (every scale cypdash scores) they are the same
/// to the last bit whatever order the pairs arrive in and however the
/// partial aggregates were split and merged: a parallel plan's row order
/// varies run to run, and Welford's moments vary with it in their last
/// bits. Scores with a fraction fall back to the running moments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedMoments {
    /// Number of pairs.
    pub n: u64,
    /// Running mean of t1.
    pub mean1: f64,
    /// Running mean of t2.
    pub mean2: f64,
    /// Running sum of squared deviations of t1.
    pub m2_1: f64,
    /// Running sum of squared deviations of t2.
    pub m2_2: f64,
    /// Running sum of cross-products of deviations.
    pub c12: f64,
    /// Exact sums of the pairs; `None` once a score was not a whole number
    /// within [`EXACT_LIMIT`] (or a sum would overflow).
    pub exact: Option<IntegerSums>,
}

impl Default for PairedMoments {
    fn default() -> Self {
        Self {
            n: 0,
            mean1: 0.0,
            mean2: 0.0,
            m2_1: 0.0,
            m2_2: 0.0,
            c12: 0.0,
            exact: Some(IntegerSums::default()),
        }
    }
}

/// The largest |score| summed exactly (2^24): with n pairs the sums of
/// squares stay below n * 2^48, far inside an i128 and inside the 38
/// digits of the Decimal128 state they travel in between partial
/// aggregates.
pub const EXACT_LIMIT: f64 = 16_777_216.0;

/// Exact sums of whole-number pairs: sum t1, sum t2, sum t1^2, sum t2^2 and
/// sum t1*t2. Integer addition is associative, so they do not depend on
/// the order of the pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntegerSums {
    /// Sum of t1.
    pub s1: i128,
    /// Sum of t2.
    pub s2: i128,
    /// Sum of t1^2.
    pub s11: i128,
    /// Sum of t2^2.
    pub s22: i128,
    /// Sum of t1 * t2.
    pub s12: i128,
}

/// Means, sums of squared deviations and co-moment, as the estimates use
/// them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Central {
    mean_change: f64,
    m2_1: f64,
    m2_2: f64,
    c12: f64,
}

impl IntegerSums {
    /// The sums of one pair; `None` unless both are whole numbers within
    /// [`EXACT_LIMIT`].
    fn of(t1: f64, t2: f64) -> Option<Self> {
        let whole = |x: f64| (x.fract() == 0.0 && x.abs() <= EXACT_LIMIT).then_some(x as i128);
        let (a, b) = (whole(t1)?, whole(t2)?);
        Some(Self {
            s1: a,
            s2: b,
            s11: a * a,
            s22: b * b,
            s12: a * b,
        })
    }

    /// Both sets of sums together; `None` on overflow.
    fn add(self, o: Self) -> Option<Self> {
        Some(Self {
            s1: self.s1.checked_add(o.s1)?,
            s2: self.s2.checked_add(o.s2)?,
            s11: self.s11.checked_add(o.s11)?,
            s22: self.s22.checked_add(o.s22)?,
            s12: self.s12.checked_add(o.s12)?,
        })
    }

    /// The central moments of `n` pairs, each rounded once from its exact
    /// value: SS = (n sum x^2 - (sum x)^2) / n, the co-moment likewise, and
    /// the mean change (sum t1 - sum t2) / n. `None` on overflow.
    fn central(&self, n: u64) -> Option<Central> {
        let nn = i128::from(n);
        let ss = |sq: i128, a: i128, b: i128| -> Option<f64> {
            let num = nn.checked_mul(sq)?.checked_sub(a.checked_mul(b)?)?;
            Some(num as f64 / n as f64)
        };
        Some(Central {
            mean_change: self.s1.checked_sub(self.s2)? as f64 / n as f64,
            m2_1: ss(self.s11, self.s1, self.s1)?,
            m2_2: ss(self.s22, self.s2, self.s2)?,
            c12: ss(self.s12, self.s1, self.s2)?,
        })
    }
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
        self.exact = self
            .exact
            .zip(IntegerSums::of(t1, t2))
            .and_then(|(sums, pair)| sums.add(pair));
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
        self.exact = self.exact.zip(other.exact).and_then(|(a, b)| a.add(b));
    }

    /// The moments the estimates use: from the exact sums when there are
    /// any, else the running ones.
    fn central(&self) -> Central {
        self.exact
            .filter(|_| self.n > 0)
            .and_then(|sums| sums.central(self.n))
            .unwrap_or(Central {
                mean_change: self.mean1 - self.mean2,
                m2_1: self.m2_1,
                m2_2: self.m2_2,
                c12: self.c12,
            })
    }

    /// Sample SD of t1 (n - 1 denominator); `None` when n < 2.
    pub fn sd1(&self) -> Option<f64> {
        (self.n >= 2).then(|| (self.central().m2_1 / (self.n as f64 - 1.0)).sqrt())
    }

    /// Pearson correlation of t1 and t2; `None` when n < 2 or an SD is 0.
    pub fn correlation(&self) -> Option<f64> {
        let c = self.central();
        (self.n >= 2 && c.m2_1 > 0.0 && c.m2_2 > 0.0)
            .then(|| (c.c12 / (c.m2_1 * c.m2_2).sqrt()).clamp(-1.0, 1.0))
    }

    /// d = (mean t1 - mean t2) / sd(t1): positive when scores fell.
    pub fn d(&self) -> Option<f64> {
        self.sd1()
            .filter(|&sd| sd > 0.0)
            .map(|sd| self.central().mean_change / sd)
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
        f("s1", EXACT_STATE),
        f("s2", EXACT_STATE),
        f("s11", EXACT_STATE),
        f("s22", EXACT_STATE),
        f("s12", EXACT_STATE),
    ]
}

/// The type of the exact sums in the state (NULL once they are lost).
const EXACT_STATE: DataType = DataType::Decimal128(38, 0);

fn exact_scalar(v: Option<i128>) -> ScalarValue {
    ScalarValue::Decimal128(v, 38, 0)
}

/// What a moments aggregate reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Report {
    /// An effect size of (t1, t2) pairs.
    Effect(Estimate),
    /// The sample SD of one score (each value paired with itself).
    ScoreSd,
}

impl Report {
    fn name(self) -> &'static str {
        match self {
            Report::Effect(estimate) => estimate.name(),
            Report::ScoreSd => "score_sd",
        }
    }
}

/// The accumulator of the effect sizes and `score_sd`: the paired
/// moments, reported at the end.
#[derive(Debug)]
struct MomentsAccumulator {
    name: &'static str,
    report: Report,
    moments: PairedMoments,
}

impl MomentsAccumulator {
    fn new(report: Report) -> Self {
        Self {
            name: report.name(),
            report,
            moments: PairedMoments::default(),
        }
    }
}

impl Accumulator for MomentsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(first) = values.first() else {
            return exec_err!("{}: no argument", self.name);
        };
        let t1 = args::f64_array(self.name, first)?;
        let t2 = args::f64_array(self.name, values.get(1).unwrap_or(first))?;
        for row in 0..t1.len() {
            if t1.is_valid(row) && t2.is_valid(row) {
                self.moments.push(t1.value(row), t2.value(row));
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let estimate = match self.report {
            Report::Effect(estimate) => estimate,
            Report::ScoreSd => return Ok(ScalarValue::Float64(self.moments.sd1())),
        };
        let es = estimate.estimate(&self.moments);
        let fields = estimate.fields();
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
            exact_scalar(m.exact.map(|e| e.s1)),
            exact_scalar(m.exact.map(|e| e.s2)),
            exact_scalar(m.exact.map(|e| e.s11)),
            exact_scalar(m.exact.map(|e| e.s22)),
            exact_scalar(m.exact.map(|e| e.s12)),
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
        let Some(exact_states) = states.get(6..11) else {
            return exec_err!(
                "{}: expected 11 state columns, got {}",
                self.name,
                states.len()
            );
        };
        let mut sums = Vec::with_capacity(5);
        for state in exact_states {
            let Some(col) = state.as_primitive_opt::<Decimal128Type>() else {
                return exec_err!("{}: expected a Decimal128 state column", self.name);
            };
            sums.push(col);
        }
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
                exact: sums.iter().all(|c| c.is_valid(row)).then(|| IntegerSums {
                    s1: sums[0].value(row),
                    s2: sums[1].value(row),
                    s11: sums[2].value(row),
                    s22: sums[3].value(row),
                    s12: sums[4].value(row),
                }),
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
        Ok(Box::new(MomentsAccumulator::new(Report::Effect(
            self.estimate,
        ))))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(match self.estimate {
            Estimate::D => doc_d(),
            Estimate::G => doc_g(),
        })
    }
}

/// `score_sd(x)`: the sample standard deviation (n - 1) of a score, the
/// same to the last bit whatever the row order when every value is a whole
/// number.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ScoreSd {
    signature: Signature,
}

impl ScoreSd {
    /// The aggregate.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for ScoreSd {
    fn default() -> Self {
        Self::new()
    }
}

impl AggregateUDFImpl for ScoreSd {
    fn name(&self) -> &str {
        Report::ScoreSd.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        args::coerce_args(self.name(), &[("x", ArgType::Number)], 1, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(moment_state_fields(args.name))
    }

    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(MomentsAccumulator::new(Report::ScoreSd)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(doc_score_sd())
    }
}

fn doc_score_sd() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
            DOC_SECTION,
            "Sample standard deviation (n - 1 denominator) of a score, as stddev_samp, but \
             the same to the last bit in any row order when every value is a whole number \
             (up to 2^24 in size): it keeps exact integer sums and rounds once at the end. A \
             value with a fraction falls back to running (Welford) moments, whose last bits \
             depend on the order, as stddev_samp's do. NULL values are skipped; NULL when \
             fewer than 2 values remain.",
            "score_sd(x)",
        )
        .with_sql_example(
            r#"```sql
> SELECT score_sd(x) AS sd FROM (VALUES (10), (12), (14), (16), (18), (NULL)) AS s(x);
+--------------------+
| sd                 |
+--------------------+
| 3.1622776601683795 |
+--------------------+
```"#,
        )
        .with_argument("x", "The score.")
        .with_related_udf("pre_post_effect_size")
        .build()
    })
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

    /// Whole-number pairs from a fixed linear congruential sequence: SDQ
    /// total difficulties range (0-40), 997 pairs.
    fn whole_pairs() -> Vec<(f64, f64)> {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 33) % 41) as f64
        };
        (0..997).map(|_| (next(), next())).collect()
    }

    fn moments_of(pairs: &[(f64, f64)]) -> PairedMoments {
        let mut m = PairedMoments::default();
        pairs.iter().for_each(|&(a, b)| m.push(a, b));
        m
    }

    fn bits(es: EffectSize) -> (Option<u64>, Option<u64>, u64, Option<u64>) {
        (
            es.estimate.map(f64::to_bits),
            es.se.map(f64::to_bits),
            es.n,
            es.r.map(f64::to_bits),
        )
    }

    #[test]
    fn whole_scores_give_the_same_bits_in_any_order_and_split() {
        let pairs = whole_pairs();
        let forward = moments_of(&pairs);
        let reversed: Vec<_> = pairs.iter().rev().copied().collect();
        let backward = moments_of(&reversed);
        // The data is order-sensitive for the running moments: Welford's
        // sums differ between the two orders in their last bits, which is
        // what made the effect-size charts differ between runs.
        assert_ne!(
            (forward.m2_1.to_bits(), forward.c12.to_bits()),
            (backward.m2_1.to_bits(), backward.c12.to_bits())
        );
        let expected = bits(forward.effect_size());
        assert_eq!(bits(backward.effect_size()), expected);
        assert_eq!(bits(hedges_g(&backward)), bits(hedges_g(&forward)));
        // Partial aggregates of 7 uneven chunks merged in two orders.
        let chunks: Vec<PairedMoments> = pairs.chunks(150).map(moments_of).collect();
        let mut up = PairedMoments::default();
        chunks.iter().for_each(|c| up.merge(c));
        let mut down = PairedMoments::default();
        chunks.iter().rev().for_each(|c| down.merge(c));
        assert_eq!(bits(up.effect_size()), expected);
        assert_eq!(bits(down.effect_size()), expected);
        // And the same value as the running moments, to 1e-12 relative.
        let d = forward.effect_size().estimate.unwrap();
        let welford = (forward.mean1 - forward.mean2) / (forward.m2_1 / 996.0).sqrt();
        assert!(
            (d - welford).abs() <= 1e-12 * d.abs().max(1e-300),
            "{d} against {welford}"
        );
    }

    #[test]
    fn exact_sums_are_the_hand_sums() {
        // The hand example: sum t1 = 70, sum t2 = 55, sum t1^2 = 1020,
        // sum t2^2 = 635, sum t1 t2 = 802 (80 + 108 + 168 + 176 + 270).
        // SS1 = (5 * 1020 - 70^2) / 5 = 40, SS2 = (3175 - 3025) / 5 = 30,
        // co-moment (4010 - 3850) / 5 = 32: the deviations worked above.
        let m = hand_example();
        assert_eq!(
            m.exact,
            Some(IntegerSums {
                s1: 70,
                s2: 55,
                s11: 1020,
                s22: 635,
                s12: 802
            })
        );
        let c = m.central();
        assert_eq!(
            (c.mean_change, c.m2_1, c.m2_2, c.c12),
            (3.0, 40.0, 30.0, 32.0)
        );
    }

    #[test]
    fn a_score_with_a_fraction_falls_back_to_the_running_moments() {
        let mut m = hand_example();
        m.push(7.5, 2.0);
        assert_eq!(m.exact, None);
        let d = m.effect_size().estimate.unwrap();
        assert_eq!(d, (m.mean1 - m.mean2) / (m.m2_1 / 5.0).sqrt());
        // A merge with lost sums loses them too; beyond 2^24 likewise.
        let mut whole = hand_example();
        whole.merge(&m);
        assert_eq!(whole.exact, None);
        let mut big = PairedMoments::default();
        big.push(EXACT_LIMIT * 2.0, 1.0);
        assert_eq!(big.exact, None);
        let mut edge = PairedMoments::default();
        edge.push(-EXACT_LIMIT, EXACT_LIMIT);
        assert!(edge.exact.is_some());
    }

    #[test]
    fn the_state_carries_the_exact_sums_between_partial_aggregates() {
        use datafusion::arrow::array::Float64Array;
        let pairs = whole_pairs();
        let column = |f: fn(&(f64, f64)) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from(pairs.iter().map(f).collect::<Vec<_>>()))
        };
        let (t1, t2) = (column(|p| p.0), column(|p| p.1));
        let accumulator = || MomentsAccumulator::new(Report::Effect(Estimate::D));
        let (mut first, mut second) = (accumulator(), accumulator());
        first
            .update_batch(&[t1.slice(0, 400), t2.slice(0, 400)])
            .unwrap();
        second
            .update_batch(&[t1.slice(400, 597), t2.slice(400, 597)])
            .unwrap();
        let mut merged = accumulator();
        for partial in [&mut second, &mut first] {
            let state: Vec<ArrayRef> = partial
                .state()
                .unwrap()
                .into_iter()
                .map(|v| v.to_array().unwrap())
                .collect();
            merged.merge_batch(&state).unwrap();
        }
        assert_eq!(merged.moments.exact, moments_of(&pairs).exact);
        assert_eq!(merged.evaluate().unwrap(), {
            let mut whole = accumulator();
            whole.update_batch(&[t1, t2]).unwrap();
            whole.evaluate().unwrap()
        });
    }
}
