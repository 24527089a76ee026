//! `cypdash generate`: deterministic synthetic data that conforms to the
//! input data contract (v1), for demos, tests and benchmarks.
//!
//! [`generate`] writes the seven contract tables (`partnership`, `service`,
//! `person`, `referral`, `contact`, `questionnaire`, `questionnaire_item`)
//! as snappy-compressed Parquet into one data directory, with the contract's
//! exact column names and Arrow types.
//!
//! # Determinism
//! The same options give the same rows, whatever the chunking or thread
//! scheduling: partnerships and services come from one stream of the seed,
//! and each referral (with its person, contacts and questionnaires) from
//! streams keyed by `(seed, referral index)` (SplitMix64 hashing into
//! xoshiro256**). Each table's rows are written sorted by its key
//! ([`contract::sort_key`]: items by questionnaire then item, contacts and
//! questionnaires by referral, ...), each file holding one range of the
//! key, and every file declares that order in its Parquet metadata
//! (`sorting_columns`), which the engine registers as the table's sort
//! order. `files_per_table` changes only how rows are spread over files. Floating-point maths uses
//! `ln`, `exp`, `cos` from the platform's libm, so bit-identical output is
//! promised on one platform, not across all.
//!
//! # The out directory
//! The out directory may be absent (it is created), empty, or hold the
//! output of a previous run: only `<table>.parquet` files and
//! `<table>/part-NNNNN.parquet` folders of the seven tables, and possibly
//! a leftover `.cypdash-generate.tmp/`. Anything else makes the run refuse
//! before writing. A run writes into `.cypdash-generate.tmp/` inside the
//! out dir and, only when every table is complete, replaces each table's
//! previous file or folder with the new one; a failed run removes its
//! temporary directory and leaves earlier tables untouched.
//!
//! # What the data look like
//! Referral dates span [`DATA_START`]..=[`DATA_END`] (three financial
//! years, fixed so output never depends on today's date). Partnerships
//! differ in size (lognormal, plus a few tiny ones with about 4-9
//! referrals), data completeness, waiting times and true treatment effect,
//! and belong to 3-6 regional collaboratives. About 60% of referrals are
//! closed 1-18 months after referral; contacts have NHS attendance codes
//! (~75% attended). Questionnaire scores come from a latent severity per
//! young person: the SDQ parent total difficulties at T1 has mean about 17
//! and SD about 6, improving about 0.4 SD by T2; RCADS self totals start
//! around 50. See the `FLAW_*` constants for the deliberate data flaws.
//!
//! # Ids
//! `partnership_id` 1..P, `service_id` 1..S, `referral_id` = index + 1,
//! `person_id` a 32-bit bijection of the first referral's index (plus 1),
//! `contact_id` = referral_id x 32 + k, `questionnaire_id` = referral_id x
//! 64 + k, so every id is unique within its table.

mod codes;
mod dates;
mod measures;
pub mod mhsds;
mod model;
mod rng;
mod rows;
mod writer;

#[cfg(test)]
mod tests;

pub use codes::{
    ATTENDANCE, CLOSURE_REASONS, ETHNICITIES, GENDERS, REFERRAL_SOURCES, SERVICE_TYPES,
};

use crate::contract;
use datafusion::arrow::error::ArrowError;
use datafusion::parquet::errors::ParquetError;
use model::World;
use rows::{Rows, CHUNK_TABLES};
use std::path::PathBuf;
use std::sync::mpsc;
use writer::TableWriter;

/// Last referral date of the generated data (2025-03-31), as `Date32`.
pub const DATA_END: i32 = dates::days_from_civil(2025, 3, 31);
/// First referral date of the generated data (2022-04-01), as `Date32`.
pub const DATA_START: i32 = dates::days_from_civil(2022, 4, 1);

/// Share of referrals that re-refer a young person referred before.
pub const REREFERRAL_RATE: f64 = 0.08;
/// Per SDQ/RCADS questionnaire: one item missing (within the prorating
/// allowance; ordinary missingness, not a flaw).
pub const ITEM_MISSING_RATE: f64 = 0.03;
/// Per SDQ/RCADS questionnaire: three items of one scale missing, beyond
/// the prorating allowance, so that scale cannot be scored.
pub const FLAW_MISSING_SCALE_RATE: f64 = 0.01;
/// Per SDQ/RCADS questionnaire: one item has an out-of-range value (SDQ 3,
/// 7 or -1; RCADS 4, 9 or -1).
pub const FLAW_OUT_OF_RANGE_RATE: f64 = 0.01;
/// Per SDQ/RCADS questionnaire: one item row present with value NULL.
pub const FLAW_NULL_VALUE_RATE: f64 = 0.01;
/// Per referral with questionnaires: its T1 questionnaires are dated 1-30
/// days before the referral date (and not at a contact).
pub const FLAW_BEFORE_REFERRAL_RATE: f64 = 0.01;
/// Per referral older than 180 days at [`DATA_END`]: left open with no
/// contacts at all. (Recent referrals may also have no contact yet while
/// they wait; that is not a flaw.)
pub const FLAW_OPEN_NO_CONTACTS_RATE: f64 = 0.01;
/// Per closed referral: one extra attended contact 1-60 days after closure.
pub const FLAW_CONTACT_AFTER_CLOSURE_RATE: f64 = 0.01;
/// Per closed referral with a follow-up: the follow-up (T2) questionnaires
/// are dated 1-30 days after closure, so they do not pair. (Most unpaired
/// measures are simply T1-only: about half of T1s get no T2.)
pub const FLAW_T2_AFTER_CLOSURE_RATE: f64 = 0.01;

/// Referrals generated per chunk (one progress step, one batch per table).
const CHUNK_REFERRALS: u64 = 50_000;
/// Largest supported number of referrals (person ids are a 32-bit bijection).
pub const MAX_REFERRALS: u64 = 1 << 32;

/// The shape `generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GenerateFormat {
    // The contract's tables (docs/data-contract.md). (Plain comments:
    // value docs would switch the help to the long layout.)
    Contract,
    // An MHSDS extract of the same cases (`mhsds`, docs/mhsds.md).
    Mhsds,
}

/// What to generate and where.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// The data directory to write (see the module docs for what may be in
    /// it already).
    pub out: PathBuf,
    /// Number of referrals (cases); persons, contacts and questionnaires
    /// scale with it.
    pub referrals: u64,
    /// Number of partnerships (at least 1).
    pub partnerships: u32,
    /// Seed of the random streams.
    pub seed: u64,
    /// 1 writes `<table>.parquet`; K > 1 writes a folder per table with K
    /// files `<table>/part-00000.parquet` .. (consecutive chunks per file, so the files hold consecutive key ranges).
    pub files_per_table: u32,
}

/// Rows and files written per table, in contract order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSummary {
    /// (table, rows, files).
    pub tables: Vec<(String, u64, u64)>,
}

/// Why a generate run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    #[error("invalid generate options: {0}")]
    Options(String),
    #[error("refusing to write into {}: {reason}", dir.display())]
    OutDir { dir: PathBuf, reason: String },
    #[error("I/O error on {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Parquet error writing {}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: ParquetError,
    },
    #[error("could not build the {table} table")]
    Arrow {
        table: &'static str,
        #[source]
        source: ArrowError,
    },
    #[error("the generator thread panicked")]
    Panicked,
    #[error("could not write the MHSDS table {table}")]
    Convert {
        table: &'static str,
        #[source]
        source: datafusion::error::DataFusionError,
    },
}

/// Generate a data directory; `progress` is called with the number of
/// referrals done after each chunk is written.
pub fn generate(
    opts: &GenerateOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<GenerateSummary, GenerateError> {
    generate_chunked(opts, CHUNK_REFERRALS, progress)
}

/// [`generate`] with an explicit chunk size (tests use small chunks to show
/// that chunking does not change the rows).
pub(crate) fn generate_chunked(
    opts: &GenerateOptions,
    chunk: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<GenerateSummary, GenerateError> {
    if opts.partnerships == 0 {
        return Err(GenerateError::Options(
            "partnerships must be at least 1".into(),
        ));
    }
    if opts.files_per_table == 0 {
        return Err(GenerateError::Options(
            "files_per_table must be at least 1".into(),
        ));
    }
    if opts.referrals > MAX_REFERRALS {
        return Err(GenerateError::Options(format!(
            "referrals must be at most {MAX_REFERRALS}"
        )));
    }
    let tmp = writer::prepare_out_dir(&opts.out)?;
    let result = write_all(opts, chunk, &tmp, progress)
        .and_then(|summary| writer::publish(&tmp, &opts.out).map(|()| summary));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn write_all(
    opts: &GenerateOptions,
    chunk: u64,
    tmp: &std::path::Path,
    progress: &mut dyn FnMut(u64),
) -> Result<GenerateSummary, GenerateError> {
    let k = opts.files_per_table;
    let n = opts.referrals;
    let world = World::new(opts.seed, opts.partnerships, n);

    // Small tables: contiguous slices, one per file.
    let mut small = Vec::new();
    for (spec, len) in [
        (contract::PARTNERSHIP, world.partnerships.len()),
        (contract::SERVICE, world.services.len()),
    ] {
        let mut w = TableWriter::create(tmp, spec, k)?;
        for f in 0..k as usize {
            let lo = len * f / k as usize;
            let hi = len * (f + 1) / k as usize;
            let batch = if spec.name == "partnership" {
                world.partnership_batch(lo..hi)
            } else {
                world.service_batch(lo..hi)
            }
            .and_then(|b| writer::sort_by_key(&spec, &b))
            .map_err(|source| GenerateError::Arrow {
                table: spec.name,
                source,
            })?;
            w.write(f, &batch)?;
        }
        small.push(w.finish()?);
    }

    // Per-referral tables: chunks in referral order, each file a run of
    // consecutive chunks, so that each file holds one range of the key and
    // the files of a table do not overlap (DataFusion keeps a declared
    // order across the files of a scan only then). Use at least as many
    // chunks as files so no file is left empty needlessly.
    let chunk = chunk.min(n.div_ceil(u64::from(k))).max(1);
    let n_chunks = n.div_ceil(chunk);
    let mut writers = CHUNK_TABLES
        .iter()
        .map(|spec| TableWriter::create(tmp, *spec, k))
        .collect::<Result<Vec<_>, _>>()?;

    let mut people = Vec::new();
    let world = &world;
    std::thread::scope(|scope| -> Result<(), GenerateError> {
        // Generate chunk c+1 on a second thread while chunk c is written.
        let (tx, rx) = mpsc::sync_channel(1);
        let producer = scope.spawn(move || {
            for c in 0..n_chunks {
                let lo = c * chunk;
                let hi = (lo + chunk).min(n);
                let mut rows = Rows::with_capacity((hi - lo) as usize);
                world.generate(lo..hi, &mut rows);
                let batches = rows.finish().and_then(|batches| {
                    let mut sorted = batches.clone();
                    for ((spec, b), out) in CHUNK_TABLES.iter().zip(&batches).zip(&mut sorted) {
                        *out = writer::sort_by_key(spec, b).map_err(|e| (spec.name, e))?;
                    }
                    Ok(sorted)
                });
                let failed = batches.is_err();
                if tx.send((hi, batches)).is_err() || failed {
                    break;
                }
            }
        });
        for (c, (done, batches)) in rx.iter().enumerate() {
            let batches =
                batches.map_err(|(table, source)| GenerateError::Arrow { table, source })?;
            let file = (c as u64 * u64::from(k) / n_chunks) as usize;
            for ((spec, w), batch) in CHUNK_TABLES.iter().zip(&mut writers).zip(batches) {
                if spec.name == contract::PERSON.name {
                    people.push(batch);
                } else {
                    w.write(file, &batch)?;
                }
            }
            progress(done);
        }
        producer.join().map_err(|_| GenerateError::Panicked)
    })?;

    // Person ids are a bijection of the referral index, not in its order:
    // the people are sorted as a whole and then split over the files.
    let person_err = |source| GenerateError::Arrow {
        table: contract::PERSON.name,
        source,
    };
    let schema = contract::PERSON.schema();
    let all = datafusion::arrow::compute::concat_batches(&schema, &people).map_err(person_err)?;
    drop(people);
    let all = writer::sort_by_key(&contract::PERSON, &all).map_err(person_err)?;
    let w = writers
        .iter_mut()
        .find(|w| w.table() == contract::PERSON.name)
        .expect("a person writer");
    for f in 0..k as usize {
        let lo = all.num_rows() * f / k as usize;
        let hi = all.num_rows() * (f + 1) / k as usize;
        w.write(f, &all.slice(lo, hi - lo))?;
    }
    drop(all);

    let mut tables = small;
    for w in writers {
        tables.push(w.finish()?);
    }
    Ok(GenerateSummary { tables })
}
