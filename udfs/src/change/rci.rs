//! `rci(t1, t2, sd1, reliability)`: the Jacobson & Truax reliable change
//! index (t2 - t1) / S_diff.

use super::reliable_change::{check_reference, rci};
use super::DOC_SECTION;
use crate::args::{self, ArgSpec, ArgType};
use datafusion::arrow::array::Float64Builder;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::{Arc, OnceLock};

const NAME: &str = "rci";

const ARGS: [ArgSpec; 4] = [
    ("t1", ArgType::Number),
    ("t2", ArgType::Number),
    ("sd1", ArgType::Number),
    ("reliability", ArgType::Number),
];

/// The `rci` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Rci {
    signature: Signature,
}

impl Default for Rci {
    fn default() -> Self {
        Self::new()
    }
}

impl Rci {
    /// A new instance.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Rci {
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
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = &args.args;
        let (len, scalar) = args::output_len(a, args.number_rows);
        let t1 = args::f64_arg(NAME, &a[0])?;
        let t2 = args::f64_arg(NAME, &a[1])?;
        let sd1 = args::f64_arg(NAME, &a[2])?;
        let rel = args::f64_arg(NAME, &a[3])?;
        let mut out = Float64Builder::with_capacity(len);
        for row in 0..len {
            let (Some(t1), Some(t2), Some(sd1), Some(r)) =
                (t1.get(row), t2.get(row), sd1.get(row), rel.get(row))
            else {
                out.append_null();
                continue;
            };
            if let Err(msg) = check_reference(sd1, r) {
                return exec_err!("{NAME}: {msg}");
            }
            out.append_value(rci(t1, t2, sd1, r));
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
            "Reliable change index (Jacobson & Truax 1991): (t2 - t1) / S_diff with S_diff \
             = sd1 * sqrt(2) * sqrt(1 - reliability). Positive when the score rose; compare \
             |rci| with 1.96. NULL when any argument is NULL; sd1 <= 0 or reliability \
             outside [0, 1) is an error.",
            "rci(t1, t2, sd1, reliability)",
        )
        .with_sql_example(
            r#"```sql
> SELECT round(rci(20, 12, 5, 0.8), 6) AS rci;
+-----------+
| rci       |
+-----------+
| -2.529822 |
+-----------+
```"#,
        )
        .with_argument("t1", "Score at T1.")
        .with_argument("t2", "Score at T2.")
        .with_argument("sd1", "Reference standard deviation at T1 (> 0).")
        .with_argument("reliability", "Reference reliability r in [0, 1).")
        .with_related_udf("reliable_change")
        .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobson_truax_vector() {
        // statistics.md: SD1 5, r 0.80: changes -8, -4, 0, 4, 8 give RCI
        // -2.529822, -1.264911, 0, 1.264911, 2.529822.
        let expected = [-2.529822, -1.264911, 0.0, 1.264911, 2.529822];
        for (change, want) in [-8.0, -4.0, 0.0, 4.0, 8.0].into_iter().zip(expected) {
            let got = rci(10.0, 10.0 + change, 5.0, 0.8);
            assert!(
                (got - want).abs() < 1e-6,
                "change {change}: {got} != {want}"
            );
        }
    }
}
