//! A chart's result as plain values, read by column name.
//!
//! The report reads a handful of rows per chart; turning Arrow arrays into
//! [`Value`]s once keeps the drawing code free of Arrow downcasts.

use crate::catalog::format_date;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) if f.is_finite() => Some(*f),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.is_finite() && f.fract() == 0.0 => Some(*f as i64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The cell as table text (`NULL` as an empty string).
    pub fn display(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format!("{f:.4}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Text(s) => s.clone(),
        }
    }
}

/// A result as rows of values.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Frame {
    pub fn from_batches(batches: &[RecordBatch]) -> Self {
        let mut frame = Frame::default();
        let Some(first) = batches.first() else {
            return frame;
        };
        frame.columns = first
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        for batch in batches {
            let cols: Vec<Vec<Value>> = batch.columns().iter().map(column_values).collect();
            for r in 0..batch.num_rows() {
                frame.rows.push(cols.iter().map(|c| c[r].clone()).collect());
            }
        }
        frame
    }

    pub fn has(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }

    fn index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }

    /// Rows as [`Row`] views.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(move |values| Row {
            frame: self,
            values,
        })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// One row, read by column name; a missing column reads as NULL.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    frame: &'a Frame,
    values: &'a [Value],
}

impl<'a> Row<'a> {
    pub fn get(&self, column: &str) -> &'a Value {
        const NULL: &Value = &Value::Null;
        self.frame
            .index(column)
            .and_then(|i| self.values.get(i))
            .unwrap_or(NULL)
    }

    pub fn f64(&self, column: &str) -> Option<f64> {
        self.get(column).as_f64()
    }

    pub fn i64(&self, column: &str) -> Option<i64> {
        self.get(column).as_i64()
    }

    pub fn str(&self, column: &str) -> Option<&'a str> {
        self.get(column).as_str()
    }

    /// A boolean column; NULL reads as false.
    pub fn flag(&self, column: &str) -> bool {
        self.get(column).as_bool().unwrap_or(false)
    }

    pub fn values(&self) -> &'a [Value] {
        self.values
    }
}

fn column_values(array: &ArrayRef) -> Vec<Value> {
    macro_rules! ints {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            (0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        Value::Null
                    } else {
                        Value::Int(a.value(i) as i64)
                    }
                })
                .collect()
        }};
    }
    match array.data_type() {
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::UInt64 => ints!(UInt64Type),
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            (0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        Value::Null
                    } else {
                        Value::Float(f64::from(a.value(i)))
                    }
                })
                .collect()
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            (0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        Value::Null
                    } else {
                        Value::Float(a.value(i))
                    }
                })
                .collect()
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        Value::Null
                    } else {
                        Value::Bool(a.value(i))
                    }
                })
                .collect()
        }
        DataType::Date32 => {
            let a = array.as_primitive::<Date32Type>();
            (0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        Value::Null
                    } else {
                        Value::Text(format_date(a.value(i)))
                    }
                })
                .collect()
        }
        _ => {
            // Strings (Utf8, LargeUtf8, Utf8View) and anything else: as text.
            let options = FormatOptions::default();
            match ArrayFormatter::try_new(array.as_ref(), &options) {
                Ok(f) => (0..array.len())
                    .map(|i| {
                        if array.is_null(i) {
                            Value::Null
                        } else {
                            Value::Text(f.value(i).to_string())
                        }
                    })
                    .collect(),
                Err(_) => vec![Value::Null; array.len()],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{BooleanArray, Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    #[test]
    fn frames_read_by_column_name() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("partnership_id", DataType::Int64, true),
            Field::new("unit_name", DataType::Utf8, false),
            Field::new("value", DataType::Float64, true),
            Field::new("suppressed", DataType::Boolean, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None])),
                Arc::new(StringArray::from(vec!["North", "All"])),
                Arc::new(Float64Array::from(vec![None, Some(0.25)])),
                Arc::new(BooleanArray::from(vec![true, false])),
            ],
        )
        .unwrap();
        let frame = Frame::from_batches(&[batch.clone(), batch]);
        assert_eq!(frame.len(), 4);
        let rows: Vec<Row> = frame.iter().collect();
        assert_eq!(rows[0].i64("partnership_id"), Some(1));
        assert_eq!(rows[0].f64("value"), None);
        assert!(rows[0].flag("suppressed"));
        assert_eq!(rows[1].str("unit_name"), Some("All"));
        assert_eq!(rows[1].f64("value"), Some(0.25));
        assert_eq!(rows[1].get("no_such_column"), &Value::Null);
        assert_eq!(Value::Float(0.25).display(), "0.25");
        assert_eq!(Value::Float(2.0).display(), "2");
    }
}
