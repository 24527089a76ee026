//! `reliable_change(t1, t2, sd1, reliability, lower_is_better [, z])`:
//! Jacobson & Truax (1991) reliable change, as -1 (reliable deterioration),
//! 0 (no reliable change) or 1 (reliable improvement).

use super::DOC_SECTION;
use crate::args::{self, ArgSpec, ArgType};
use datafusion::arrow::array::Int64Builder;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::{Arc, OnceLock};

const NAME: &str = "reliable_change";

/// The conventional criterion: 1.96 standard errors of the difference.
pub const DEFAULT_Z: f64 = 1.96;

const ARGS: [ArgSpec; 6] = [
    ("t1", ArgType::Number),
    ("t2", ArgType::Number),
    ("sd1", ArgType::Number),
    ("reliability", ArgType::Number),
    ("lower_is_better", ArgType::Bool),
    ("z", ArgType::Number),
];

/// Standard error of the difference between two scores:
/// S_diff = sd1 sqrt(2) sqrt(1 - r).
pub fn s_diff(sd1: f64, reliability: f64) -> f64 {
    sd1 * std::f64::consts::SQRT_2 * (1.0 - reliability).sqrt()
}

/// Reliable change index (t2 - t1) / S_diff (positive = score rose).
pub fn rci(t1: f64, t2: f64, sd1: f64, reliability: f64) -> f64 {
    (t2 - t1) / s_diff(sd1, reliability)
}

/// Reliable change: 1 when the score moved in the better direction by more
/// than z S_diff (strictly), -1 when it moved in the worse direction by more
/// than that, else 0.
pub fn reliable_change(
    t1: f64,
    t2: f64,
    sd1: f64,
    reliability: f64,
    lower_is_better: bool,
    z: f64,
) -> i64 {
    let change = t2 - t1;
    if change.abs() > z * s_diff(sd1, reliability) {
        let improved = (change < 0.0) == lower_is_better;
        if improved {
            1
        } else {
            -1
        }
    } else {
        0
    }
}

/// Checks reference values (SD at T1 and reliability): they come from a
/// reference table, and a bad one must not silently classify every case.
pub fn check_reference(sd1: f64, reliability: f64) -> Result<(), String> {
    if !(sd1 > 0.0) || !sd1.is_finite() {
        return Err(format!("sd1 must be a finite number > 0, got {sd1}"));
    }
    if !(0.0..1.0).contains(&reliability) {
        return Err(format!("reliability must be in [0, 1), got {reliability}"));
    }
    Ok(())
}

/// Checks the scores (finite) and the criterion z (finite, > 0).
pub fn check_scores(t1: f64, t2: f64, z: f64) -> Result<(), String> {
    if !t1.is_finite() || !t2.is_finite() {
        return Err(format!("scores must be finite, got t1 = {t1}, t2 = {t2}"));
    }
    if !(z > 0.0) || !z.is_finite() {
        return Err(format!("z must be a finite number > 0, got {z}"));
    }
    Ok(())
}

/// The `reliable_change` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ReliableChange {
    signature: Signature,
}

impl Default for ReliableChange {
    fn default() -> Self {
        Self::new()
    }
}

impl ReliableChange {
    /// A new instance.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ReliableChange {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        args::coerce_args(NAME, &ARGS, 5, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = &args.args;
        let (len, scalar) = args::output_len(a, args.number_rows);
        let t1 = args::f64_arg(NAME, &a[0])?;
        let t2 = args::f64_arg(NAME, &a[1])?;
        let sd1 = args::f64_arg(NAME, &a[2])?;
        let rel = args::f64_arg(NAME, &a[3])?;
        let lower = args::bool_arg(NAME, &a[4])?;
        let z = match a.get(5) {
            Some(v) => Some(args::f64_arg(NAME, v)?),
            None => None,
        };
        let mut out = Int64Builder::with_capacity(len);
        for row in 0..len {
            let z = match &z {
                None => Some(DEFAULT_Z),
                Some(arg) => arg.get(row),
            };
            let (Some(t1), Some(t2), Some(sd1), Some(r), Some(lower), Some(z)) = (
                t1.get(row),
                t2.get(row),
                sd1.get(row),
                rel.get(row),
                lower.get(row),
                z,
            ) else {
                out.append_null();
                continue;
            };
            if let Err(msg) = check_reference(sd1, r).and_then(|()| check_scores(t1, t2, z)) {
                return exec_err!("{NAME}: {msg}");
            }
            out.append_value(reliable_change(t1, t2, sd1, r, lower, z));
        }
        args::finish(Arc::new(out.finish()), scalar)
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
            "Reliable change (Jacobson & Truax 1991) between a T1 and a T2 score: 1 = \
             reliable improvement, -1 = reliable deterioration, 0 = no reliable change. \
             S_diff = sd1 * sqrt(2) * sqrt(1 - reliability); the change is reliable when \
             |t2 - t1| > z * S_diff (strictly), z = 1.96 by default. NULL when any argument \
             is NULL. sd1 <= 0, reliability outside [0, 1), z <= 0 or a non-finite score is \
             an error: these come from reference data and must not pass silently.",
            "reliable_change(t1, t2, sd1, reliability, lower_is_better [, z])",
        )
        .with_sql_example(
            r#"```sql
> SELECT reliable_change(20, 12, 5, 0.8, true) AS improved, reliable_change(20, 26, 5, 0.8, true) AS no_change, reliable_change(20, 12, 5, 0.8, false) AS deteriorated;
+----------+-----------+--------------+
| improved | no_change | deteriorated |
+----------+-----------+--------------+
| 1        | 0         | -1           |
+----------+-----------+--------------+
```"#,
        )
        .with_argument("t1", "Score at T1 (first questionnaire).")
        .with_argument("t2", "Score at T2 (last questionnaire).")
        .with_argument("sd1", "Reference standard deviation at T1 (> 0).")
        .with_argument("reliability", "Reference reliability r in [0, 1).")
        .with_argument(
            "lower_is_better",
            "true when a fall is an improvement (SDQ difficulties, RCADS), false when a \
             rise is (GBO, prosocial).",
        )
        .with_argument("z", "Criterion in S_diff units, default 1.96.")
        .with_related_udf("rci")
        .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobson_truax_vector() {
        // statistics.md: SD1 5, r 0.80 -> S_diff = 3.162278; criterion
        // 1.96 * 3.162278 = 6.198. Changes of 6 are not reliable, 7 are.
        assert!((s_diff(5.0, 0.8) - 3.162278).abs() < 1e-6);
        assert_eq!(reliable_change(20.0, 14.0, 5.0, 0.8, true, 1.96), 0);
        assert_eq!(reliable_change(20.0, 13.0, 5.0, 0.8, true, 1.96), 1);
        assert_eq!(reliable_change(20.0, 27.0, 5.0, 0.8, true, 1.96), -1);
        assert_eq!(reliable_change(20.0, 27.0, 5.0, 0.8, false, 1.96), 1);
        assert_eq!(reliable_change(20.0, 13.0, 5.0, 0.8, false, 1.96), -1);
        assert_eq!(reliable_change(20.0, 20.0, 5.0, 0.8, false, 1.96), 0);
    }

    #[test]
    fn criterion_is_strict() {
        // sd1 = 1/sqrt(2), r = 0 -> S_diff = 1 (to rounding); with z = 2 a
        // change of exactly 2 * S_diff is not reliable.
        let sd1 = std::f64::consts::FRAC_1_SQRT_2;
        let limit = 2.0 * s_diff(sd1, 0.0);
        assert_eq!(reliable_change(0.0, limit, sd1, 0.0, false, 2.0), 0);
        assert_eq!(
            reliable_change(0.0, limit * (1.0 + 1e-12), sd1, 0.0, false, 2.0),
            1
        );
    }

    #[test]
    fn reference_checks() {
        assert!(check_reference(5.0, 0.8).is_ok());
        assert!(check_reference(5.0, 0.0).is_ok());
        assert!(check_reference(0.0, 0.8).is_err());
        assert!(check_reference(-5.0, 0.8).is_err());
        assert!(check_reference(5.0, 1.0).is_err());
        assert!(check_reference(5.0, -0.1).is_err());
        assert!(check_reference(f64::NAN, 0.8).is_err());
        assert!(check_scores(1.0, f64::NAN, 1.96).is_err());
        assert!(check_scores(1.0, 2.0, 0.0).is_err());
    }
}
