//! Sanity checks of a Parquet file's framing and metadata, run when its
//! table is registered (issue 10).
//!
//! The Parquet reader trusts the footer: a metadata length longer than the
//! file, or a column chunk whose offsets lie past the end, makes it panic
//! (`attempt to subtract with overflow` in a debug build, `range start must
//! not be greater than end` in a release build) instead of failing. So each
//! file is checked here first, and every number the reader will use to slice
//! the file is compared with the file's size:
//!
//! 1. at least 12 bytes, `PAR1` at both ends (`PARE`: encrypted, unsupported);
//! 2. the metadata length in the footer fits between the two magics;
//! 3. the metadata decodes, and so do the schema and the column statistics
//!    DataFusion derives from it when it registers and plans the table;
//! 4. every row group has a non-negative row count, and every column chunk
//!    (its pages, column index, offset index and bloom filter) lies inside
//!    the data part of the file, after the leading magic and before the
//!    metadata;
//! 5. the page indexes decode and every page they locate lies inside its
//!    column chunk.
//!
//! Corrupt page *contents* behind a valid footer are only found when the
//! pages are read: `scan.rs` names the table, file, row group and column of
//! such an error.

use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::file::metadata::{
    ColumnChunkMetaData, PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader,
};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"PAR1";
const ENCRYPTED_MAGIC: &[u8; 4] = b"PARE";
/// Leading magic + metadata length + trailing magic.
const FRAMING: u64 = 12;

/// Check one Parquet file; the error says what is wrong, where.
pub(super) fn check_file(path: &Path) -> Result<(), String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let data = check_framing(&mut file, size)?;
    let metadata = parse(|| {
        ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Skip)
            .parse_and_finish(&file)
    })
    .map_err(|e| format!("corrupt footer: the metadata does not decode: {e}"))?;
    check_chunks(&metadata, &data)?;
    let schema = parse(|| {
        parquet_to_arrow_schema(
            metadata.file_metadata().schema_descr(),
            metadata.file_metadata().key_value_metadata(),
        )
    })
    .map_err(|e| format!("corrupt footer: the schema does not decode: {e}"))?;
    parse(|| DFParquetMetadata::statistics_from_parquet_metadata(&metadata, &Arc::new(schema)))
        .map_err(|e| format!("corrupt footer: the column statistics do not decode: {e}"))?;
    let metadata = parse(|| {
        let mut reader = ParquetMetaDataReader::new_with_metadata(metadata)
            .with_page_index_policy(PageIndexPolicy::Optional);
        reader.read_page_indexes(&file)?;
        reader.finish()
    })
    .map_err(|e| format!("corrupt page index: {e}"))?;
    check_pages(&metadata)
}

/// The magics and the footer's metadata length; returns the byte range of
/// the data part (between the leading magic and the metadata).
fn check_framing(file: &mut File, size: u64) -> Result<Range<u64>, String> {
    if size < FRAMING {
        return Err(format!(
            "not a Parquet file: it is {size} bytes long, and the smallest Parquet file has {FRAMING}"
        ));
    }
    let mut head = [0u8; 4];
    let mut tail = [0u8; 8];
    let io = |e: std::io::Error| e.to_string();
    file.read_exact(&mut head).map_err(io)?;
    file.seek(SeekFrom::End(-8)).map_err(io)?;
    file.read_exact(&mut tail).map_err(io)?;
    if &head == ENCRYPTED_MAGIC || &tail[4..] == ENCRYPTED_MAGIC {
        return Err("the file is an encrypted Parquet file, which cypdash does not read".into());
    }
    if &head != MAGIC {
        return Err("not a Parquet file: it does not start with the magic bytes PAR1".into());
    }
    if &tail[4..] != MAGIC {
        return Err(
            "truncated or not a Parquet file: it does not end with the magic bytes PAR1".into(),
        );
    }
    let metadata_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    let room = size - FRAMING;
    if metadata_len > room {
        return Err(format!(
            "corrupt footer: it gives the metadata length as {metadata_len} bytes, but the file has only {room} bytes between its magic bytes"
        ));
    }
    Ok(4..size - 8 - metadata_len)
}

/// Run a metadata parse, turning a panic of the reader into an error.
fn parse<T, E: std::fmt::Display>(f: impl FnOnce() -> Result<T, E>) -> Result<T, String> {
    super::scan::guarded(f)?.map_err(|e| e.to_string())
}

fn check_chunks(metadata: &ParquetMetaData, data: &Range<u64>) -> Result<(), String> {
    for (g, row_group) in metadata.row_groups().iter().enumerate() {
        if row_group.num_rows() < 0 {
            return Err(format!(
                "row group {g}: negative row count {}",
                row_group.num_rows()
            ));
        }
        for chunk in row_group.columns() {
            check_chunk(chunk, data).map_err(|e| {
                format!(
                    "row group {g}, column `{}`: {e}",
                    chunk.column_path().string()
                )
            })?;
        }
    }
    Ok(())
}

fn check_chunk(chunk: &ColumnChunkMetaData, data: &Range<u64>) -> Result<(), String> {
    let start = chunk
        .dictionary_page_offset()
        .unwrap_or(chunk.data_page_offset());
    let pages = span(start, chunk.compressed_size())?;
    inside("the column chunk", &pages, data, DATA_PART)?;
    if !pages.contains(&non_negative(chunk.data_page_offset())?) {
        return Err(format!(
            "the first data page (byte {}) lies outside the column chunk (bytes {}..{})",
            chunk.data_page_offset(),
            pages.start,
            pages.end
        ));
    }
    let parts = [
        (
            "the column index",
            chunk.column_index_offset(),
            chunk.column_index_length(),
        ),
        (
            "the offset index",
            chunk.offset_index_offset(),
            chunk.offset_index_length(),
        ),
        (
            "the bloom filter",
            chunk.bloom_filter_offset(),
            chunk.bloom_filter_length(),
        ),
    ];
    for (what, offset, length) in parts {
        if let Some(offset) = offset {
            let range = span(offset, i64::from(length.unwrap_or(0)))?;
            inside(what, &range, data, DATA_PART)?;
        }
    }
    Ok(())
}

fn check_pages(metadata: &ParquetMetaData) -> Result<(), String> {
    let Some(offset_index) = metadata.offset_index() else {
        return Ok(());
    };
    for (g, (row_group, columns)) in metadata.row_groups().iter().zip(offset_index).enumerate() {
        for (chunk, index) in row_group.columns().iter().zip(columns) {
            let at = || format!("row group {g}, column `{}`", chunk.column_path().string());
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or(chunk.data_page_offset());
            let pages =
                span(start, chunk.compressed_size()).map_err(|e| format!("{}: {e}", at()))?;
            let mut first_row = -1;
            for (p, page) in index.page_locations().iter().enumerate() {
                let range = span(page.offset, i64::from(page.compressed_page_size))
                    .map_err(|e| format!("{}, page {p}: {e}", at()))?;
                inside(&format!("page {p}"), &range, &pages, "its column chunk")
                    .map_err(|e| format!("{}: {e}", at()))?;
                if page.first_row_index <= first_row || page.first_row_index >= row_group.num_rows()
                {
                    return Err(format!(
                        "{}, page {p}: the offset index gives its first row as {}, in a row group of {} rows",
                        at(),
                        page.first_row_index,
                        row_group.num_rows()
                    ));
                }
                first_row = page.first_row_index;
            }
        }
    }
    Ok(())
}

fn non_negative(n: i64) -> Result<u64, String> {
    u64::try_from(n).map_err(|_| format!("negative offset or length {n}"))
}

/// The byte range `offset..offset + length`, both non-negative.
fn span(offset: i64, length: i64) -> Result<Range<u64>, String> {
    let start = non_negative(offset)?;
    let end = start
        .checked_add(non_negative(length)?)
        .ok_or_else(|| format!("offset {offset} plus length {length} overflows"))?;
    Ok(start..end)
}

const DATA_PART: &str = "the data part of the file";

fn inside(
    what: &str,
    range: &Range<u64>,
    within: &Range<u64>,
    within_name: &str,
) -> Result<(), String> {
    if range.start < within.start || range.end > within.end {
        return Err(format!(
            "{what} claims bytes {}..{}, outside {within_name} (bytes {}..{}): the file is truncated or its metadata is corrupt",
            range.start, range.end, within.start, within.end
        ));
    }
    Ok(())
}
