//! The input data contract (v1): the tables a data directory must hold, their
//! required columns and Arrow types. See `docs/data-contract.md` and
//! `shared/spec/data-contract.md`.

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

/// One required column of an input table.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub data_type: ContractType,
    pub nullable: bool,
    /// The column may be absent from the file: it then reads as NULL
    /// (MHSDS tables only; every contract column is required).
    pub optional: bool,
}

/// The logical types the contract uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractType {
    Int64,
    Int32,
    Float64,
    Utf8,
    Date,
    Boolean,
    /// A timestamp (MHSDS `AssToolCompTimestamp`): read as its date.
    Timestamp,
}

impl ContractType {
    /// The Arrow type the engine presents to SQL for this column.
    pub fn arrow(self) -> DataType {
        match self {
            ContractType::Int64 => DataType::Int64,
            ContractType::Int32 => DataType::Int32,
            ContractType::Float64 => DataType::Float64,
            ContractType::Utf8 => DataType::Utf8,
            ContractType::Date => DataType::Date32,
            ContractType::Boolean => DataType::Boolean,
            ContractType::Timestamp => {
                DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None)
            }
        }
    }

    /// Name used in error messages (the contract's own words).
    pub fn name(self) -> &'static str {
        match self {
            ContractType::Int64 => "INT64",
            ContractType::Int32 => "INT32",
            ContractType::Float64 => "FLOAT64",
            ContractType::Utf8 => "UTF8",
            ContractType::Date => "DATE",
            ContractType::Boolean => "BOOLEAN",
            ContractType::Timestamp => "TIMESTAMP",
        }
    }

    /// Whether a column found with Arrow type `found` satisfies this type
    /// (after a lossless cast the engine applies itself).
    pub fn accepts(self, found: &DataType) -> bool {
        use DataType as D;
        match self {
            ContractType::Int64 => matches!(
                found,
                D::Int64 | D::Int32 | D::Int16 | D::Int8 | D::UInt32 | D::UInt16 | D::UInt8
            ),
            ContractType::Int32 => matches!(
                found,
                D::Int32 | D::Int16 | D::Int8 | D::UInt16 | D::UInt8 | D::Int64
            ),
            ContractType::Float64 => {
                matches!(found, D::Float64 | D::Float32) || ContractType::Int64.accepts(found)
            }
            ContractType::Utf8 => match found {
                D::Utf8 | D::LargeUtf8 | D::Utf8View => true,
                D::Dictionary(key, value) => {
                    key.is_dictionary_key_type()
                        && matches!(value.as_ref(), D::Utf8 | D::LargeUtf8 | D::Utf8View)
                }
                _ => false,
            },
            ContractType::Date => matches!(found, D::Date32 | D::Date64),
            ContractType::Boolean => matches!(found, D::Boolean),
            ContractType::Timestamp => matches!(found, D::Timestamp(..) | D::Date32 | D::Date64),
        }
    }
}

/// One input table of the contract.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [ColumnSpec],
}

impl TableSpec {
    /// The Arrow schema of the required columns, in contract order.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(c.name, c.data_type.arrow(), c.nullable))
                .collect::<Vec<_>>(),
        ))
    }

    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A column that must be in the file.
pub(crate) const fn col(name: &'static str, data_type: ContractType, nullable: bool) -> ColumnSpec {
    ColumnSpec {
        name,
        data_type,
        nullable,
        optional: false,
    }
}

/// A column that may be missing from the file (read as NULL).
pub(crate) const fn optional_col(name: &'static str, data_type: ContractType) -> ColumnSpec {
    ColumnSpec {
        name,
        data_type,
        nullable: true,
        optional: true,
    }
}

use ContractType::*;

pub const PARTNERSHIP: TableSpec = TableSpec {
    name: "partnership",
    columns: &[
        col("partnership_id", Int64, false),
        col("partnership_name", Utf8, false),
        col("collaborative", Utf8, false),
    ],
};

pub const SERVICE: TableSpec = TableSpec {
    name: "service",
    columns: &[
        col("service_id", Int64, false),
        col("partnership_id", Int64, false),
        col("service_name", Utf8, false),
        col("service_type", Utf8, true),
    ],
};

pub const PERSON: TableSpec = TableSpec {
    name: "person",
    columns: &[
        col("person_id", Int64, false),
        col("birth_date", Date, true),
        col("gender", Utf8, true),
        col("ethnicity", Utf8, true),
    ],
};

pub const REFERRAL: TableSpec = TableSpec {
    name: "referral",
    columns: &[
        col("referral_id", Int64, false),
        col("person_id", Int64, false),
        col("service_id", Int64, false),
        col("referral_date", Date, false),
        col("referral_source", Utf8, true),
        col("closure_date", Date, true),
        col("closure_reason", Utf8, true),
    ],
};

pub const CONTACT: TableSpec = TableSpec {
    name: "contact",
    columns: &[
        col("contact_id", Int64, false),
        col("referral_id", Int64, false),
        col("contact_date", Date, false),
        col("attendance", Utf8, false),
        col("direct", Boolean, false),
    ],
};

pub const QUESTIONNAIRE: TableSpec = TableSpec {
    name: "questionnaire",
    columns: &[
        col("questionnaire_id", Int64, false),
        col("referral_id", Int64, false),
        col("contact_id", Int64, true),
        col("measure", Utf8, false),
        col("informant", Utf8, false),
        col("version", Utf8, true),
        col("completed_date", Date, false),
    ],
};

pub const QUESTIONNAIRE_ITEM: TableSpec = TableSpec {
    name: "questionnaire_item",
    columns: &[
        col("questionnaire_id", Int64, false),
        col("item", Utf8, false),
        col("value", Int32, true),
        col("text", Utf8, true),
    ],
};

/// Already-scored scales of a questionnaire (optional): for questionnaires
/// recorded as scale scores rather than items (an MHSDS extract, a service
/// that keeps only totals). A questionnaire with items is scored from its
/// items and these rows are only compared with them (`validate`).
pub const QUESTIONNAIRE_SCORE: TableSpec = TableSpec {
    name: "questionnaire_score",
    columns: &[
        col("questionnaire_id", Int64, false),
        col("scale", Utf8, false),
        col("score", Float64, true),
    ],
};

/// Tables a data directory may leave out: each is then an empty table.
pub const OPTIONAL_TABLES: &[TableSpec] = &[QUESTIONNAIRE_SCORE];

/// Every input table, required and optional, parents before children.
pub fn all_tables() -> impl Iterator<Item = &'static TableSpec> {
    TABLES.iter().chain(OPTIONAL_TABLES)
}

/// Every required input table, parents before children.
pub const TABLES: &[TableSpec] = &[
    PARTNERSHIP,
    SERVICE,
    PERSON,
    REFERRAL,
    CONTACT,
    QUESTIONNAIRE,
    QUESTIONNAIRE_ITEM,
];

/// Look a contract table up by name.
pub fn table(name: &str) -> Option<&'static TableSpec> {
    all_tables().find(|t| t.name == name)
}

/// The key each table is clustered by (issue 18): `generate` and `cypdash
/// sort` write its rows in this order, ascending, and declare it in the
/// Parquet files; a child table is clustered by its parent first, so the
/// rows the dashboard groups together (a questionnaire's items, a
/// referral's contacts and questionnaires) are next to each other.
pub const SORT_KEYS: &[(&str, &[&str])] = &[
    ("partnership", &["partnership_id"]),
    ("service", &["service_id"]),
    ("person", &["person_id"]),
    ("referral", &["referral_id"]),
    ("contact", &["referral_id", "contact_id"]),
    ("questionnaire", &["referral_id", "questionnaire_id"]),
    ("questionnaire_item", &["questionnaire_id", "item"]),
    ("questionnaire_score", &["questionnaire_id", "scale"]),
];

/// The columns a table's files may each hold one range of, in order of
/// preference: the engine declares the table range-partitioned by file on
/// the first that qualifies (`engine::range_by_file`). The first column of
/// the sort key, except for `questionnaire`, which tries `questionnaire_id`
/// first: its rows join the item table's on it, the largest exchange of
/// the dashboard (every item row), and when both tables are declared by it
/// with the same split points (files cut between the same questionnaires,
/// as `generate` writes them) DataFusion joins them file by file, with no
/// exchange. Its files must then hold disjoint questionnaire ids, which
/// they need not when cut by referral; `referral_id` is tried next.
pub fn range_columns(table: &str) -> &'static [&'static str] {
    match table {
        "questionnaire" => &["questionnaire_id", "referral_id"],
        _ => sort_key(table).get(..1).unwrap_or(&[]),
    }
}

/// The sort key of a contract table (empty for any other table).
pub fn sort_key(table: &str) -> &'static [&'static str] {
    SORT_KEYS
        .iter()
        .find(|(t, _)| *t == table)
        .map_or(&[], |(_, key)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A string column may arrive dictionary-encoded (a pandas categorical)
    /// with any integer key; a dictionary of anything but strings is a type
    /// error, as the plain type would be.
    #[test]
    fn strings_may_arrive_as_a_dictionary_of_strings_only() {
        let dictionary = |k: DataType, v: DataType| DataType::Dictionary(Box::new(k), Box::new(v));
        for key in [
            DataType::Int8,
            DataType::Int32,
            DataType::UInt16,
            DataType::UInt64,
        ] {
            for value in [DataType::Utf8, DataType::LargeUtf8, DataType::Utf8View] {
                assert!(ContractType::Utf8.accepts(&dictionary(key.clone(), value)));
            }
            assert!(!ContractType::Utf8.accepts(&dictionary(key.clone(), DataType::Int64)));
            assert!(!ContractType::Int64.accepts(&dictionary(key, DataType::Utf8)));
        }
        assert!(!ContractType::Utf8.accepts(&dictionary(DataType::Utf8, DataType::Utf8)));
    }
}
