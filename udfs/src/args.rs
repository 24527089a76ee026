//! Argument plumbing shared by the change and funnel functions: type
//! coercion with errors that name the function, and zero-copy accessors that
//! read a `ColumnarValue` argument row by row whether it is a scalar or an
//! array (so a scalar argument is never expanded into an array).

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, LargeStringArray, StringArray,
    StringViewArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::ColumnarValue;

/// What an argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgType {
    /// Any numeric type (or NULL), coerced to Float64.
    Number,
    /// A string (Utf8, LargeUtf8 or Utf8View; NULL becomes Utf8).
    Text,
    /// A boolean (or NULL).
    Bool,
}

impl ArgType {
    fn describe(self) -> &'static str {
        match self {
            ArgType::Number => "a number",
            ArgType::Text => "a string",
            ArgType::Bool => "a boolean",
        }
    }
}

/// One declared argument: its name (for messages) and type.
pub(crate) type ArgSpec = (&'static str, ArgType);

/// `coerce_types` for a user-defined signature: checks the argument count
/// (`required` up to `spec.len()`) and each type, and returns the types to
/// cast to. Errors are planning errors naming `func` and the argument.
pub(crate) fn coerce_args(
    func: &str,
    spec: &[ArgSpec],
    required: usize,
    arg_types: &[DataType],
) -> Result<Vec<DataType>> {
    if arg_types.len() < required || arg_types.len() > spec.len() {
        let names = spec
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                if i < required {
                    (*name).to_string()
                } else {
                    format!("[{name}]")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let count = if required == spec.len() {
            format!("{required}")
        } else {
            format!("{required} to {}", spec.len())
        };
        let noun = if spec.len() == 1 {
            "argument"
        } else {
            "arguments"
        };
        return plan_err!(
            "{func} takes {count} {noun} ({func}({names})), got {}",
            arg_types.len()
        );
    }
    arg_types
        .iter()
        .zip(spec)
        .enumerate()
        .map(|(i, (dt, (name, want)))| {
            let ok = match want {
                ArgType::Number if dt.is_numeric() || dt.is_null() => Some(DataType::Float64),
                ArgType::Text => match dt {
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(dt.clone()),
                    DataType::Null => Some(DataType::Utf8),
                    _ => None,
                },
                ArgType::Bool if matches!(dt, DataType::Boolean | DataType::Null) => {
                    Some(DataType::Boolean)
                }
                _ => None,
            };
            match ok {
                Some(t) => Ok(t),
                None => plan_err!(
                    "{func}: argument {} ({name}) must be {}, got {dt}",
                    i + 1,
                    want.describe()
                ),
            }
        })
        .collect()
}

/// A Float64 argument: a scalar (applies to every row) or an array.
#[derive(Debug)]
pub(crate) enum F64Arg<'a> {
    Scalar(Option<f64>),
    Array(&'a Float64Array),
}

impl F64Arg<'_> {
    /// The value at `row`, `None` when NULL.
    #[inline]
    pub(crate) fn get(&self, row: usize) -> Option<f64> {
        match self {
            F64Arg::Scalar(v) => *v,
            F64Arg::Array(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// Reads a coerced Float64 argument.
pub(crate) fn f64_arg<'a>(func: &str, value: &'a ColumnarValue) -> Result<F64Arg<'a>> {
    match value {
        ColumnarValue::Scalar(ScalarValue::Float64(v)) => Ok(F64Arg::Scalar(*v)),
        ColumnarValue::Scalar(ScalarValue::Null) => Ok(F64Arg::Scalar(None)),
        ColumnarValue::Array(a) => match a.as_primitive_opt() {
            Some(a) => Ok(F64Arg::Array(a)),
            None => exec_err!("{func}: expected a Float64 array, got {}", a.data_type()),
        },
        ColumnarValue::Scalar(s) => {
            exec_err!("{func}: expected a Float64 value, got {}", s.data_type())
        }
    }
}

/// Reads a Float64 column of an aggregate's input or state.
pub(crate) fn f64_array<'a>(func: &str, array: &'a ArrayRef) -> Result<&'a Float64Array> {
    match array.as_primitive_opt() {
        Some(a) => Ok(a),
        None => exec_err!(
            "{func}: expected a Float64 array, got {}",
            array.data_type()
        ),
    }
}

/// A Boolean argument.
#[derive(Debug)]
pub(crate) enum BoolArg<'a> {
    Scalar(Option<bool>),
    Array(&'a BooleanArray),
}

impl BoolArg<'_> {
    #[inline]
    pub(crate) fn get(&self, row: usize) -> Option<bool> {
        match self {
            BoolArg::Scalar(v) => *v,
            BoolArg::Array(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// Reads a coerced Boolean argument.
pub(crate) fn bool_arg<'a>(func: &str, value: &'a ColumnarValue) -> Result<BoolArg<'a>> {
    match value {
        ColumnarValue::Scalar(ScalarValue::Boolean(v)) => Ok(BoolArg::Scalar(*v)),
        ColumnarValue::Scalar(ScalarValue::Null) => Ok(BoolArg::Scalar(None)),
        ColumnarValue::Array(a) => match a.as_boolean_opt() {
            Some(a) => Ok(BoolArg::Array(a)),
            None => exec_err!("{func}: expected a Boolean array, got {}", a.data_type()),
        },
        ColumnarValue::Scalar(s) => {
            exec_err!("{func}: expected a Boolean value, got {}", s.data_type())
        }
    }
}

/// A string argument (any of Arrow's three string layouts).
#[derive(Debug)]
pub(crate) enum StrArg<'a> {
    Scalar(Option<&'a str>),
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> StrArg<'a> {
    #[inline]
    pub(crate) fn get(&self, row: usize) -> Option<&'a str> {
        match self {
            StrArg::Scalar(v) => *v,
            StrArg::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            StrArg::Large(a) => a.is_valid(row).then(|| a.value(row)),
            StrArg::View(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// Reads a string argument.
pub(crate) fn str_arg<'a>(func: &str, value: &'a ColumnarValue) -> Result<StrArg<'a>> {
    match value {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v),
        ) => Ok(StrArg::Scalar(v.as_deref())),
        ColumnarValue::Scalar(ScalarValue::Null) => Ok(StrArg::Scalar(None)),
        ColumnarValue::Array(a) => str_array(func, a),
        ColumnarValue::Scalar(s) => {
            exec_err!("{func}: expected a string value, got {}", s.data_type())
        }
    }
}

/// Reads a string column (of any layout).
pub(crate) fn str_array<'a>(func: &str, a: &'a ArrayRef) -> Result<StrArg<'a>> {
    match a.data_type() {
        DataType::Utf8 => Ok(StrArg::Utf8(a.as_string::<i32>())),
        DataType::LargeUtf8 => Ok(StrArg::Large(a.as_string::<i64>())),
        DataType::Utf8View => Ok(StrArg::View(a.as_string_view())),
        DataType::Null => Ok(StrArg::Scalar(None)),
        other => exec_err!("{func}: expected a string array, got {other}"),
    }
}

/// The string value of a scalar literal argument, if it is one: `Some(None)`
/// for a NULL literal, `None` when the argument is not a string literal.
pub(crate) fn literal_str(value: Option<&ScalarValue>) -> Option<Option<&str>> {
    match value? {
        ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => {
            Some(v.as_deref())
        }
        ScalarValue::Null => Some(None),
        _ => None,
    }
}

/// Number of rows to produce: 1 when every argument is a scalar (the result
/// is then returned as a scalar), else the batch size.
pub(crate) fn output_len(args: &[ColumnarValue], number_rows: usize) -> (usize, bool) {
    let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    if all_scalar {
        (1, true)
    } else {
        (number_rows, false)
    }
}

/// Wraps a computed array as the UDF result, turning a one-row result of
/// all-scalar arguments back into a scalar.
pub(crate) fn finish(array: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    if scalar {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &array, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}
