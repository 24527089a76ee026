//! `proportion_ci(x, n, coverage)`: the Wilson score confidence interval of
//! one unit's proportion x / n (the interval PHEindicatormethods reports as
//! "Wilson" for a single unit; not the same thing as its funnel limits).

use super::funnel_limits::{limit_fields, LimitsBuilder};
use super::DOC_SECTION;
use crate::args::{self, ArgSpec, ArgType};
use crate::stats;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::OnceLock;

const NAME: &str = "proportion_ci";

const ARGS: [ArgSpec; 3] = [
    ("x", ArgType::Number),
    ("n", ArgType::Number),
    ("coverage", ArgType::Number),
];

/// Wilson score interval for x successes out of n with multiplier z:
/// (2x + z^2 +- z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2)).
pub fn wilson_interval(x: f64, n: f64, z: f64) -> (f64, f64) {
    let z2 = z * z;
    let centre = 2.0 * x + z2;
    let half = z * (z2 + 4.0 * x * (1.0 - x / n)).max(0.0).sqrt();
    let denominator = 2.0 * (n + z2);
    (
        ((centre - half) / denominator).clamp(0.0, 1.0),
        ((centre + half) / denominator).clamp(0.0, 1.0),
    )
}

/// Checked interval for one row: `Ok(None)` for n = 0.
pub fn checked_wilson(x: f64, n: f64, coverage: f64) -> Result<Option<(f64, f64)>, String> {
    if !(n >= 0.0) || !n.is_finite() {
        return Err(format!("n must be a finite number >= 0, got {n}"));
    }
    if !(x >= 0.0) || x > n {
        return Err(format!("x must be between 0 and n, got x = {x}, n = {n}"));
    }
    let Some(z) = stats::z_for_coverage(coverage) else {
        return Err(format!(
            "coverage must be a percentage strictly between 0 and 100, got {coverage}"
        ));
    };
    if n == 0.0 {
        return Ok(None);
    }
    Ok(Some(wilson_interval(x, n, z)))
}

/// The `proportion_ci` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ProportionCi {
    signature: Signature,
}

impl Default for ProportionCi {
    fn default() -> Self {
        Self::new()
    }
}

impl ProportionCi {
    /// A new instance.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ProportionCi {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        args::coerce_args(NAME, &ARGS, 3, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(limit_fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = &args.args;
        let (len, scalar) = args::output_len(a, args.number_rows);
        let x = args::f64_arg(NAME, &a[0])?;
        let n = args::f64_arg(NAME, &a[1])?;
        let coverage = args::f64_arg(NAME, &a[2])?;
        let mut out = LimitsBuilder::with_capacity(len);
        for row in 0..len {
            let (Some(x), Some(n), Some(c)) = (x.get(row), n.get(row), coverage.get(row)) else {
                out.append(None);
                continue;
            };
            match checked_wilson(x, n, c) {
                Ok(ci) => out.append(ci),
                Err(msg) => return exec_err!("{NAME}: {msg}"),
            }
        }
        args::finish(out.finish(), scalar)
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
            "Wilson score confidence interval for one unit's proportion x/n, as a struct \
             {lower, upper} (PHEindicatormethods' Wilson interval). coverage in percent. \
             NULL when n = 0 or any argument is NULL; x < 0, x > n or coverage outside \
             (0, 100) is an error. For funnel limits around a target use funnel_limits.",
            "proportion_ci(x, n, coverage)",
        )
        .with_sql_example(
            r#"```sql
> SELECT round(ci['lower'], 6) AS lower, round(ci['upper'], 6) AS upper FROM (SELECT proportion_ci(65, 100, 95) AS ci);
+----------+----------+
| lower    | upper    |
+----------+----------+
| 0.552544 | 0.736358 |
+----------+----------+
```"#,
        )
        .with_argument("x", "Numerator (events).")
        .with_argument("n", "Denominator (cases).")
        .with_argument("coverage", "Coverage in percent, e.g. 95.")
        .with_related_udf("funnel_limits")
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

    #[test]
    fn phe_wilson_vectors() {
        // statistics.md: PHE Wilson interval, 95%: 65/100 and 1045/5000.
        let z = stats::z_for_coverage(95.0).unwrap();
        close(wilson_interval(65.0, 100.0, z), (0.552544, 0.736358), 1e-6);
        close(
            wilson_interval(1045.0, 5000.0, z),
            (0.197955, 0.220491),
            1e-6,
        );
    }

    #[test]
    fn edges() {
        let z = stats::z_for_coverage(95.0).unwrap();
        let (lo, hi) = wilson_interval(0.0, 10.0, z);
        assert_eq!(lo, 0.0);
        assert!(hi > 0.0 && hi < 1.0);
        let (lo, hi) = wilson_interval(10.0, 10.0, z);
        assert!(lo > 0.0 && lo < 1.0);
        assert!((hi - 1.0).abs() < 1e-15);
        assert_eq!(checked_wilson(0.0, 0.0, 95.0), Ok(None));
        assert!(checked_wilson(11.0, 10.0, 95.0).is_err());
        assert!(checked_wilson(-1.0, 10.0, 95.0).is_err());
        assert!(checked_wilson(1.0, 10.0, 100.0).is_err());
    }
}
