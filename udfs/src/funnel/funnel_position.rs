//! `funnel_position(value, lower_95, upper_95, lower_998, upper_998)`: where
//! a unit sits relative to its funnel limits.

use super::DOC_SECTION;
use crate::args::{self, ArgSpec, ArgType};
use datafusion::arrow::array::StringBuilder;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::{Arc, OnceLock};

const NAME: &str = "funnel_position";

const ARGS: [ArgSpec; 5] = [
    ("value", ArgType::Number),
    ("lower_95", ArgType::Number),
    ("upper_95", ArgType::Number),
    ("lower_998", ArgType::Number),
    ("upper_998", ArgType::Number),
];

/// Position of a unit in a funnel plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunnelPosition {
    /// Above the upper 99.8% limit.
    Above998,
    /// Above the upper 95% limit, within 99.8%.
    Above95,
    /// Within the 95% limits (inclusive).
    Inside,
    /// Below the lower 95% limit, within 99.8%.
    Below95,
    /// Below the lower 99.8% limit.
    Below998,
}

impl FunnelPosition {
    /// The SQL label.
    pub fn as_str(self) -> &'static str {
        match self {
            FunnelPosition::Above998 => "above_998",
            FunnelPosition::Above95 => "above_95",
            FunnelPosition::Inside => "inside",
            FunnelPosition::Below95 => "below_95",
            FunnelPosition::Below998 => "below_998",
        }
    }
}

/// Classifies `value` against the limits; a value on a limit is inside it.
/// 99.8% is tested before 95%.
pub fn funnel_position(
    value: f64,
    lower_95: f64,
    upper_95: f64,
    lower_998: f64,
    upper_998: f64,
) -> FunnelPosition {
    if value > upper_998 {
        FunnelPosition::Above998
    } else if value < lower_998 {
        FunnelPosition::Below998
    } else if value > upper_95 {
        FunnelPosition::Above95
    } else if value < lower_95 {
        FunnelPosition::Below95
    } else {
        FunnelPosition::Inside
    }
}

/// Checks that the inputs are numbers and the limits nest:
/// lower_998 <= lower_95 <= upper_95 <= upper_998 (catches swapped arguments).
pub fn check_position_inputs(
    value: f64,
    lower_95: f64,
    upper_95: f64,
    lower_998: f64,
    upper_998: f64,
) -> Result<(), String> {
    if [value, lower_95, upper_95, lower_998, upper_998]
        .iter()
        .any(|v| v.is_nan())
    {
        return Err("value and limits must not be NaN".to_string());
    }
    if !(lower_998 <= lower_95 && lower_95 <= upper_95 && upper_95 <= upper_998) {
        return Err(format!(
            "limits must nest as lower_998 <= lower_95 <= upper_95 <= upper_998, got \
             {lower_998}, {lower_95}, {upper_95}, {upper_998} (argument order is value, \
             lower_95, upper_95, lower_998, upper_998)"
        ));
    }
    Ok(())
}

/// The `funnel_position` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FunnelPositionFunc {
    signature: Signature,
}

impl Default for FunnelPositionFunc {
    fn default() -> Self {
        Self::new()
    }
}

impl FunnelPositionFunc {
    /// A new instance.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FunnelPositionFunc {
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
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = &args.args;
        let (len, scalar) = args::output_len(a, args.number_rows);
        let cols = [
            args::f64_arg(NAME, &a[0])?,
            args::f64_arg(NAME, &a[1])?,
            args::f64_arg(NAME, &a[2])?,
            args::f64_arg(NAME, &a[3])?,
            args::f64_arg(NAME, &a[4])?,
        ];
        let mut out = StringBuilder::with_capacity(len, len * 8);
        for row in 0..len {
            let (Some(v), Some(l95), Some(u95), Some(l998), Some(u998)) = (
                cols[0].get(row),
                cols[1].get(row),
                cols[2].get(row),
                cols[3].get(row),
                cols[4].get(row),
            ) else {
                out.append_null();
                continue;
            };
            if let Err(msg) = check_position_inputs(v, l95, u95, l998, u998) {
                return exec_err!("{NAME}: {msg}");
            }
            out.append_value(funnel_position(v, l95, u95, l998, u998).as_str());
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
            "Where a unit's value sits relative to its 95% and 99.8% funnel limits: \
             'above_998', 'above_95', 'inside', 'below_95' or 'below_998'. Limits are \
             inclusive (inside when lower <= value <= upper); 99.8% is tested first. NULL \
             when any argument is NULL. NaN, or limits that do not nest (lower_998 <= \
             lower_95 <= upper_95 <= upper_998), is an error.",
            "funnel_position(value, lower_95, upper_95, lower_998, upper_998)",
        )
        .with_sql_example(
            r#"```sql
> SELECT funnel_position(0.62, 0.40, 0.60, 0.33, 0.67) AS position;
+----------+
| position |
+----------+
| above_95 |
+----------+
```"#,
        )
        .with_argument("value", "The unit's indicator value.")
        .with_argument("lower_95", "Lower 95% limit.")
        .with_argument("upper_95", "Upper 95% limit.")
        .with_argument("lower_998", "Lower 99.8% limit.")
        .with_argument("upper_998", "Upper 99.8% limit.")
        .with_related_udf("funnel_limits")
        .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use FunnelPosition::*;

    #[test]
    fn classifies_with_inclusive_limits() {
        let p = |v| funnel_position(v, 0.4, 0.6, 0.3, 0.7);
        assert_eq!(p(0.75), Above998);
        assert_eq!(p(0.7), Above95, "on the 99.8% limit is within it");
        assert_eq!(p(0.65), Above95);
        assert_eq!(p(0.6), Inside, "on the 95% limit is inside");
        assert_eq!(p(0.5), Inside);
        assert_eq!(p(0.4), Inside);
        assert_eq!(p(0.35), Below95);
        assert_eq!(p(0.3), Below95);
        assert_eq!(p(0.2), Below998);
        assert_eq!(p(f64::INFINITY), Above998);
    }

    #[test]
    fn degenerate_limits() {
        // All limits equal (e.g. a proportion funnel with theta0 = 0).
        assert_eq!(funnel_position(0.0, 0.0, 0.0, 0.0, 0.0), Inside);
        assert_eq!(funnel_position(0.1, 0.0, 0.0, 0.0, 0.0), Above998);
    }

    #[test]
    fn rejects_nan_and_swapped_limits() {
        assert!(check_position_inputs(f64::NAN, 0.4, 0.6, 0.3, 0.7).is_err());
        assert!(check_position_inputs(0.5, 0.3, 0.7, 0.4, 0.6).is_err());
        assert!(check_position_inputs(0.5, 0.6, 0.4, 0.3, 0.7).is_err());
        assert!(check_position_inputs(0.5, 0.4, 0.6, 0.3, 0.7).is_ok());
    }
}
