//! The sort order a table's Parquet files declare (issue 18, item 2).
//!
//! A Parquet writer may record, in each row group's metadata, the columns
//! its rows are sorted by (`sorting_columns`). When every row group of
//! every file of a table declares the same order, the engine registers the
//! table with that `file_sort_order`, so DataFusion can aggregate in order
//! (streaming, no hash table) and merge instead of sorting. DataFusion
//! trusts the declaration within a file and checks the order between the
//! files of one scan partition from their min/max statistics, dropping the
//! ordering where files overlap; a declaration that lies within a file
//! gives wrong results, which is why `validate` reads the key columns and
//! checks it ([`verify`]).
//!
//! `generate` and `cypdash sort` write files sorted by the table's key
//! ([`crate::contract::sort_key`]) with the declaration ([`sorting_columns`]).

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch};
use datafusion::arrow::compute::{cast, SortOptions};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::row::{OwnedRow, RowConverter, SortField};
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::SortExpr;
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::arrow::{ArrowSchemaConverter, ProjectionMask};
use datafusion::parquet::file::metadata::{ParquetMetaData, SortingColumn};
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use datafusion::prelude::ident;
use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One column of a sort order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortColumn {
    pub name: String,
    pub descending: bool,
    pub nulls_first: bool,
}

impl SortColumn {
    /// Ascending, NULLs last: what `ORDER BY name` gives.
    pub fn ascending(name: &str) -> Self {
        Self {
            name: name.to_string(),
            descending: false,
            nulls_first: false,
        }
    }

    fn options(&self) -> SortOptions {
        SortOptions {
            descending: self.descending,
            nulls_first: self.nulls_first,
        }
    }
}

impl fmt::Display for SortColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        // Only what differs from ascending, NULLs last.
        match (self.descending, self.nulls_first) {
            (false, false) => Ok(()),
            (false, true) => f.write_str(" NULLS FIRST"),
            (true, true) => f.write_str(" DESC"),
            (true, false) => f.write_str(" DESC NULLS LAST"),
        }
    }
}

/// A sort order as text: `questionnaire_id, item`.
pub fn order_text(order: &[SortColumn]) -> String {
    order
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the files of a table declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declared {
    /// Every row group of every file declares this order (files with no
    /// row groups hold no rows and do not count).
    Sorted(Vec<SortColumn>),
    /// No row group declares an order (a CSV table never does).
    Undeclared,
    /// Files or row groups declare different orders, or some none: no
    /// order holds for the table as a whole.
    Mixed,
}

impl Declared {
    pub fn order(&self) -> Option<&[SortColumn]> {
        match self {
            Declared::Sorted(order) => Some(order),
            _ => None,
        }
    }
}

/// The order the row groups of `files` declare, read from their footers.
pub fn declared_order(files: &[PathBuf]) -> Result<Declared, String> {
    let mut found: Option<Option<Vec<SortColumn>>> = None;
    for file in files {
        let metadata = footer(file)?;
        for g in metadata.row_groups() {
            let order = g
                .sorting_columns()
                .filter(|c| !c.is_empty())
                .and_then(|c| named(&metadata, c));
            match &found {
                None => found = Some(order),
                Some(seen) if *seen == order => {}
                Some(_) => return Ok(Declared::Mixed),
            }
        }
    }
    Ok(match found.flatten() {
        Some(order) => Declared::Sorted(order),
        None => Declared::Undeclared,
    })
}

fn footer(file: &Path) -> Result<ParquetMetaData, String> {
    let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let reader = SerializedFileReader::new(f).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(reader.metadata().clone())
}

/// The declared columns by name; None when one is not a top-level column.
fn named(metadata: &ParquetMetaData, columns: &[SortingColumn]) -> Option<Vec<SortColumn>> {
    let schema = metadata.file_metadata().schema_descr();
    columns
        .iter()
        .map(|c| {
            let idx = usize::try_from(c.column_idx).ok()?;
            if idx >= schema.num_columns() {
                return None;
            }
            let path = schema.column(idx).path().parts().to_vec();
            let [name] = path.as_slice() else {
                return None;
            };
            Some(SortColumn {
                name: name.clone(),
                descending: c.descending,
                nulls_first: c.nulls_first,
            })
        })
        .collect()
}

/// The string columns `generate` and `cypdash sort` write
/// dictionary-encoded (`Dictionary(Int32, Utf8)`), by table. The item
/// codes are the one string column read at the scale of the item table (a
/// hundred million rows per million referrals, a few hundred distinct
/// codes): read as a dictionary, the scoring aggregates match each code
/// once per batch and a filter on codes tests the batch's dictionary, not
/// every row (docs/performance.md). Any writer may do the same; the engine
/// reads either form.
pub const DICTIONARY_COLUMNS: &[(&str, &str)] = &[("questionnaire_item", "item")];

/// Whether `table.column` is one of [`DICTIONARY_COLUMNS`].
pub fn is_dictionary_column(table: &str, column: &str) -> bool {
    DICTIONARY_COLUMNS.contains(&(table, column))
}

/// The schema `table`'s rows are stored with: `schema` with the columns of
/// [`DICTIONARY_COLUMNS`] dictionary-encoded.
pub fn storage_schema(table: &str, schema: &Schema) -> SchemaRef {
    let fields: Vec<FieldRef> = schema
        .fields()
        .iter()
        .map(|f| match storage_type(table, f) {
            Some(t) => Arc::new(f.as_ref().clone().with_data_type(t)),
            None => Arc::clone(f),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn storage_type(table: &str, field: &Field) -> Option<DataType> {
    let string = matches!(
        field.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    (string && is_dictionary_column(table, field.name()))
        .then(|| DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)))
}

/// `batch` of `table` as stored (see [`storage_schema`]).
pub fn for_storage(table: &str, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    if !schema
        .fields()
        .iter()
        .any(|f| storage_type(table, f).is_some())
    {
        return Ok(batch.clone());
    }
    let columns = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| match storage_type(table, f) {
            Some(t) => cast(c, &t),
            None => Ok(Arc::clone(c)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(storage_schema(table, &schema), columns)
}

/// The longest prefix of `order` that DataFusion 55 keeps as a table's
/// order: up to the first dictionary-typed column of `schema`. With a
/// dictionary column in the declared order the scan was planned with no
/// order at all (checked with `EXPLAIN`: no `output_ordering`, files split
/// into byte ranges), while a prefix of a sort order is itself a sort order
/// of the same rows, and the prefix is what the aggregates group by.
pub fn usable_order(order: &[SortColumn], schema: &Schema) -> Vec<SortColumn> {
    order
        .iter()
        .take_while(|c| {
            schema
                .field_with_name(&c.name)
                .is_ok_and(|f| !matches!(f.data_type(), DataType::Dictionary(..)))
        })
        .cloned()
        .collect()
}

/// The `file_sort_order` of a listing table for `order`.
pub fn sort_exprs(order: &[SortColumn]) -> Vec<SortExpr> {
    order
        .iter()
        .map(|c| ident(&c.name).sort(!c.descending, c.nulls_first))
        .collect()
}

/// The Parquet declaration of `order` for files of `schema` (a writer's
/// `set_sorting_columns`); None when a column is not a top-level column of
/// the schema.
pub fn sorting_columns(schema: &Schema, order: &[SortColumn]) -> Option<Vec<SortingColumn>> {
    let descr = ArrowSchemaConverter::new().convert(schema).ok()?;
    order
        .iter()
        .map(|c| {
            let idx = descr
                .columns()
                .iter()
                .position(|leaf| leaf.path().parts() == [c.name.clone()])?;
            Some(SortingColumn {
                column_idx: i32::try_from(idx).ok()?,
                descending: c.descending,
                nulls_first: c.nulls_first,
            })
        })
        .collect()
}

/// The key ranges of a table's files, when each file holds its own range.
///
/// Files written sorted by a key and cut between keys (`generate`, `cypdash
/// sort`, most extracts written by key) each hold one range of it. The
/// engine then declares the table range-partitioned by file on that
/// column (DataFusion 55's `ListingOptions::output_partitioning`), so that
/// an aggregate grouped by the column, or by columns that include it, runs
/// within each file's partition, without a repartition, and streams where
/// the files also declare the key's order. DataFusion trusts the
/// declaration and does not check it; this checks it from the files'
/// footers.
///
/// Returns the split points (each file's least value but the first's) when
/// there are at least two files and every file, read in path order, has
/// rows, statistics for the column in every row group, no NULL in it, and
/// a least value above the greatest value of the file before it. None
/// otherwise. Parquet's statistics are bounds (a truncated string's minimum
/// is below its true one, its maximum above), so bounds that do not overlap
/// mean values that do not.
pub fn file_key_splits(
    files: &[PathBuf],
    column: &str,
) -> Result<Option<Vec<ScalarValue>>, String> {
    if files.len() < 2 {
        return Ok(None);
    }
    let mut splits = Vec::with_capacity(files.len() - 1);
    let mut previous_max: Option<ScalarValue> = None;
    for file in files {
        let err = |e: &dyn fmt::Display| format!("{}: {e}", file.display());
        let metadata = footer(file)?;
        let Some((min, max)) = key_bounds(&metadata, column).map_err(|e| err(&e))? else {
            return Ok(None);
        };
        if let Some(before) = &previous_max {
            if before.partial_cmp(&min) != Some(Ordering::Less) {
                return Ok(None);
            }
            splits.push(min);
        }
        previous_max = Some(max);
    }
    Ok(Some(splits))
}

/// The least and greatest value of `column` in a file, from its row
/// groups' statistics; None when the file has no rows, the column or a
/// row group's statistics are missing, or the column holds a NULL.
fn key_bounds(
    metadata: &ParquetMetaData,
    column: &str,
) -> Result<Option<(ScalarValue, ScalarValue)>, DataFusionError> {
    let file_metadata = metadata.file_metadata();
    if metadata.num_row_groups() == 0 || file_metadata.num_rows() == 0 {
        return Ok(None);
    }
    let schema = parquet_to_arrow_schema(
        file_metadata.schema_descr(),
        file_metadata.key_value_metadata(),
    )?;
    if schema.field_with_name(column).is_err() {
        return Ok(None);
    }
    let converter = StatisticsConverter::try_new(column, &schema, file_metadata.schema_descr())?;
    let groups = metadata.row_groups();
    let mins = converter.row_group_mins(groups)?;
    let maxes = converter.row_group_maxes(groups)?;
    let nulls = converter.row_group_null_counts(groups)?;
    if mins.null_count() > 0 || maxes.null_count() > 0 || nulls.null_count() > 0 {
        return Ok(None);
    }
    if nulls.values().iter().any(|&n| n > 0) {
        return Ok(None);
    }
    // The least of the minima and the greatest of the maxima.
    let extreme = |array: &ArrayRef, beats: Ordering| {
        let mut best: Option<ScalarValue> = None;
        for i in 0..array.len() {
            let v = ScalarValue::try_from_array(array, i)?;
            if best
                .as_ref()
                .is_none_or(|b| v.partial_cmp(b) == Some(beats))
            {
                best = Some(v);
            }
        }
        Ok::<_, DataFusionError>(best)
    };
    Ok(extreme(&mins, Ordering::Less)?.zip(extreme(&maxes, Ordering::Greater)?))
}

/// Where the rows of a table are not in an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfOrder {
    pub file: PathBuf,
    /// The row (0-based, within the file) that sorts before the row before
    /// it (the previous file's last row for row 0).
    pub row: u64,
}

impl fmt::Display for OutOfOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} row {} sorts before the row before it",
            self.file.display(),
            self.row
        )
    }
}

/// Check that the rows of `files`, read in this order, are sorted by
/// `order`, reading only the order's columns. Returns the first row out
/// of order (None: sorted).
pub fn verify(files: &[PathBuf], order: &[SortColumn]) -> Result<Option<OutOfOrder>, String> {
    let mut last: Option<OwnedRow> = None;
    let mut converter: Option<RowConverter> = None;
    for file in files {
        let err = |e: &dyn fmt::Display| format!("{}: {e}", file.display());
        let f = std::fs::File::open(file).map_err(|e| err(&e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| err(&e))?;
        let descr = builder.parquet_schema();
        let mut leaves = Vec::with_capacity(order.len());
        for c in order {
            let leaf = descr
                .columns()
                .iter()
                .position(|leaf| leaf.path().parts() == [c.name.clone()])
                .ok_or_else(|| err(&format!("no column `{}`", c.name)))?;
            leaves.push(leaf);
        }
        let mask = ProjectionMask::leaves(descr, leaves);
        let reader = builder
            .with_projection(mask)
            .with_batch_size(64 * 1024)
            .build()
            .map_err(|e| err(&e))?;
        let mut row_base = 0u64;
        for batch in reader {
            let batch = batch.map_err(|e| err(&e))?;
            let columns: Vec<ArrayRef> = order
                .iter()
                .map(|c| {
                    batch
                        .column_by_name(&c.name)
                        .cloned()
                        .ok_or_else(|| err(&format!("no column `{}`", c.name)))
                })
                .collect::<Result<_, _>>()?;
            if converter.is_none() {
                let fields = order
                    .iter()
                    .zip(&columns)
                    .map(|(c, a)| SortField::new_with_options(a.data_type().clone(), c.options()))
                    .collect();
                converter = Some(RowConverter::new(fields).map_err(|e| err(&e))?);
            }
            let conv = converter.as_ref().expect("made above");
            let rows = conv.convert_columns(&columns).map_err(|e| err(&e))?;
            for i in 0..rows.num_rows() {
                let row = rows.row(i);
                let before = if i == 0 {
                    last.as_ref().map(|r| r.row())
                } else {
                    Some(rows.row(i - 1))
                };
                if before.is_some_and(|b| row < b) {
                    return Ok(Some(OutOfOrder {
                        file: file.clone(),
                        row: row_base + i as u64,
                    }));
                }
            }
            if rows.num_rows() > 0 {
                last = Some(rows.row(rows.num_rows() - 1).owned());
            }
            row_base += batch.num_rows() as u64;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::properties::WriterProperties;
    use std::sync::Arc;

    fn write(path: &Path, ids: &[i64], items: &[&str], order: Option<&[SortColumn]>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("questionnaire_id", DataType::Int64, false),
            Field::new("item", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids.to_vec())),
                Arc::new(StringArray::from(items.to_vec())),
            ],
        )
        .unwrap();
        let props = WriterProperties::builder()
            .set_sorting_columns(order.and_then(|o| sorting_columns(&schema, o)))
            .build();
        let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, Some(props))
            .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    fn key() -> Vec<SortColumn> {
        vec![
            SortColumn::ascending("questionnaire_id"),
            SortColumn::ascending("item"),
        ]
    }

    #[test]
    fn a_declaration_reads_back_and_is_verified() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
        write(&a, &[1, 1, 2], &["x", "y", "a"], Some(&key()));
        write(&b, &[2, 3], &["b", "a"], Some(&key()));
        let files = vec![a.clone(), b.clone()];
        assert_eq!(declared_order(&files).unwrap(), Declared::Sorted(key()));
        assert_eq!(order_text(&key()), "questionnaire_id, item");
        assert_eq!(verify(&files, &key()).unwrap(), None);
        // Read the other way round, the second file's first row is out.
        assert_eq!(
            verify(&[b.clone(), a.clone()], &key()).unwrap(),
            Some(OutOfOrder { file: a, row: 0 })
        );
    }

    #[test]
    fn undeclared_mixed_and_lying_files() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a.parquet"),
            dir.path().join("b.parquet"),
            dir.path().join("c.parquet"),
        );
        write(&a, &[1, 2], &["x", "y"], None);
        write(&b, &[3, 4], &["x", "y"], Some(&key()));
        // Declares an order its rows do not have: item `b` after `c`.
        write(&c, &[5, 5, 5], &["a", "c", "b"], Some(&key()));
        assert_eq!(
            declared_order(std::slice::from_ref(&a)).unwrap(),
            Declared::Undeclared
        );
        assert_eq!(
            declared_order(&[a.clone(), b.clone()]).unwrap(),
            Declared::Mixed
        );
        assert_eq!(
            verify(std::slice::from_ref(&c), &key()).unwrap(),
            Some(OutOfOrder { file: c, row: 2 })
        );
    }

    /// A file of nullable ids only, in one row group.
    fn write_ids(path: &Path, ids: &[Option<i64>]) {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "questionnaire_id",
            DataType::Int64,
            true,
        )]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(ids.to_vec()))],
        )
        .unwrap();
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    /// The split points are each file's least key but the first's, read
    /// from the footers: files [1, 4], [5, 9] (two row groups, the second
    /// [7, 9] holding the file's greatest key) and [12, 12].
    #[test]
    fn files_each_holding_a_key_range_give_their_split_points() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        write(&p("a.parquet"), &[1, 2, 4], &["x", "y", "z"], None);
        // Two row groups: [5, 6] and [7, 9].
        let schema = Arc::new(Schema::new(vec![Field::new(
            "questionnaire_id",
            DataType::Int64,
            false,
        )]));
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .build();
        let mut w = ArrowWriter::try_new(
            std::fs::File::create(p("b.parquet")).unwrap(),
            schema.clone(),
            Some(props),
        )
        .unwrap();
        let ids = Int64Array::from(vec![6, 5, 9, 7]);
        w.write(&RecordBatch::try_new(schema, vec![Arc::new(ids)]).unwrap())
            .unwrap();
        assert_eq!(w.close().unwrap().num_row_groups(), 2);
        write(&p("c.parquet"), &[12], &["x"], None);
        let files = [p("a.parquet"), p("b.parquet"), p("c.parquet")];
        assert_eq!(
            file_key_splits(&files, "questionnaire_id").unwrap(),
            Some(vec![
                ScalarValue::Int64(Some(5)),
                ScalarValue::Int64(Some(12))
            ])
        );
        // The string column's ranges ([x, z], [x, x]) overlap.
        assert_eq!(file_key_splits(&files, "item").unwrap(), None);
        // In another order the ranges do not ascend.
        let shuffled = [p("b.parquet"), p("a.parquet"), p("c.parquet")];
        assert_eq!(
            file_key_splits(&shuffled, "questionnaire_id").unwrap(),
            None
        );
        // One file: nothing to split.
        assert_eq!(
            file_key_splits(&files[..1], "questionnaire_id").unwrap(),
            None
        );
        // A column the files do not have.
        assert_eq!(file_key_splits(&files, "referral_id").unwrap(), None);
    }

    /// A key shared by two files, a file with no rows and a NULL key each
    /// leave the table undeclared: a row could then be in the wrong
    /// partition, or its partition unknown.
    #[test]
    fn touching_empty_or_null_ranges_are_not_split() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        write_ids(&p("a.parquet"), &[Some(1), Some(3)]);
        write_ids(&p("touching.parquet"), &[Some(3), Some(5)]);
        write_ids(&p("after.parquet"), &[Some(4), Some(5)]);
        write_ids(&p("empty.parquet"), &[]);
        write_ids(&p("null.parquet"), &[Some(7), None]);
        write_ids(&p("last.parquet"), &[Some(9)]);
        let splits = |names: &[&str]| {
            let files: Vec<PathBuf> = names.iter().map(|n| p(n)).collect();
            file_key_splits(&files, "questionnaire_id").unwrap()
        };
        assert_eq!(
            splits(&["a.parquet", "after.parquet"]),
            Some(vec![ScalarValue::Int64(Some(4))])
        );
        assert_eq!(splits(&["a.parquet", "touching.parquet"]), None);
        assert_eq!(
            splits(&["a.parquet", "empty.parquet", "last.parquet"]),
            None
        );
        assert_eq!(splits(&["a.parquet", "null.parquet"]), None);
        assert_eq!(
            splits(&["a.parquet", "after.parquet", "last.parquet"]),
            Some(vec![
                ScalarValue::Int64(Some(4)),
                ScalarValue::Int64(Some(9))
            ])
        );
    }
}
