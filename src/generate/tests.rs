//! Tests of the generator: determinism, the contract's schemas, and the
//! shape of the data (rates, ranges, referential integrity, score
//! distributions) on a small run.

use super::codes::{
    ATTENDANCE_WEIGHTS, CLOSURE_REASON_WEIGHTS, ETHNICITY_WEIGHTS, REFERRAL_SOURCE_WEIGHTS,
    SDQ_ITEMS,
};
use super::dates::age_years;
use super::model::STALE_DAYS;
use super::*;
use crate::engine::layout;
use datafusion::arrow::array::{Array, AsArray, RecordBatch, RecordBatchReader};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Date32Type, Int32Type, Int64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

fn opts(out: &Path, referrals: u64, partnerships: u32, seed: u64, files: u32) -> GenerateOptions {
    GenerateOptions {
        out: out.to_path_buf(),
        referrals,
        partnerships,
        seed,
        files_per_table: files,
    }
}

fn run(o: &GenerateOptions, chunk: u64) -> GenerateSummary {
    let mut last = 0;
    let summary = generate_chunked(o, chunk, &mut |done| {
        assert!(done > last, "progress must increase");
        last = done;
    })
    .unwrap();
    assert_eq!(last, o.referrals, "progress must reach the total");
    summary
}

/// The files of a table, in part order.
fn table_files(dir: &Path, table: &str) -> Vec<PathBuf> {
    let single = dir.join(format!("{table}.parquet"));
    if single.exists() {
        return vec![single];
    }
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir.join(table))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    parts
}

/// A whole table as one batch (files concatenated in part order).
fn read_table(dir: &Path, table: &str) -> RecordBatch {
    let mut batches = Vec::new();
    let mut schema = None;
    for path in table_files(dir, table) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        schema = Some(reader.schema());
        for b in reader {
            batches.push(b.unwrap());
        }
    }
    let batch = concat_batches(&schema.unwrap(), &batches).unwrap();
    // Item codes are stored dictionary-encoded: compared here as strings.
    let columns: Vec<_> = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Dictionary(_, value) => datafusion::arrow::compute::cast(c, value).unwrap(),
            _ => c.clone(),
        })
        .collect();
    RecordBatch::try_from_iter(
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .zip(columns),
    )
    .unwrap()
}

/// Rows rendered as text, sorted (to compare row multisets across layouts).
fn sorted_rows(batch: &RecordBatch) -> Vec<String> {
    let fmt = FormatOptions::default().with_null("NULL");
    let cols: Vec<ArrayFormatter> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &fmt).unwrap())
        .collect();
    let mut rows: Vec<String> = (0..batch.num_rows())
        .map(|i| {
            cols.iter()
                .map(|c| c.value(i).to_string())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    rows.sort();
    rows
}

fn i64s(b: &RecordBatch, col: &str) -> Vec<i64> {
    b.column_by_name(col)
        .unwrap()
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

fn opt_i64s(b: &RecordBatch, col: &str) -> Vec<Option<i64>> {
    b.column_by_name(col)
        .unwrap()
        .as_primitive::<Int64Type>()
        .iter()
        .collect()
}

fn dates(b: &RecordBatch, col: &str) -> Vec<Option<i32>> {
    b.column_by_name(col)
        .unwrap()
        .as_primitive::<Date32Type>()
        .iter()
        .collect()
}

fn strs(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    b.column_by_name(col)
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn same_seed_same_rows_whatever_the_chunking() {
    let a = tempdir();
    let b = tempdir();
    let c = tempdir();
    let sa = run(&opts(a.path(), 700, 8, 7, 1), CHUNK_REFERRALS);
    let sb = run(&opts(b.path(), 700, 8, 7, 1), 37);
    run(&opts(c.path(), 700, 8, 8, 1), CHUNK_REFERRALS);
    assert_eq!(sa, sb);
    for t in contract::TABLES {
        let ta = read_table(a.path(), t.name);
        assert_eq!(ta, read_table(b.path(), t.name), "table {}", t.name);
        if t.name != "partnership" {
            assert_ne!(
                ta,
                read_table(c.path(), t.name),
                "seed must matter: {}",
                t.name
            );
        }
    }
    // Same options and chunking: the files themselves are identical.
    let d = tempdir();
    run(&opts(d.path(), 700, 8, 7, 1), CHUNK_REFERRALS);
    for t in contract::TABLES {
        let fa = std::fs::read(&table_files(a.path(), t.name)[0]).unwrap();
        let fd = std::fs::read(&table_files(d.path(), t.name)[0]).unwrap();
        assert!(fa == fd, "{} differs byte-wise", t.name);
    }
}

#[test]
fn files_per_table_writes_folders_with_the_same_rows() {
    let one = tempdir();
    let three = tempdir();
    run(&opts(one.path(), 400, 6, 3, 1), CHUNK_REFERRALS);
    let s = run(&opts(three.path(), 400, 6, 3, 3), CHUNK_REFERRALS);
    for (table, _, files) in &s.tables {
        assert_eq!(*files, 3);
        let dir = three.path().join(table);
        assert!(dir.is_dir(), "{table} must be a folder");
        for k in 0..3 {
            assert!(dir.join(writer::part_name(k)).is_file());
        }
        assert!(!three.path().join(format!("{table}.parquet")).exists());
        assert_eq!(
            sorted_rows(&read_table(one.path(), table)),
            sorted_rows(&read_table(three.path(), table)),
            "{table}"
        );
    }
    assert!(!three.path().join(writer::TMP_DIR).exists());
}

#[test]
fn schemas_match_the_contract() {
    let dir = tempdir();
    let s = run(&opts(dir.path(), 200, 5, 1, 1), CHUNK_REFERRALS);
    let names: Vec<&str> = s.tables.iter().map(|(t, _, _)| t.as_str()).collect();
    let expected: Vec<&str> = contract::TABLES.iter().map(|t| t.name).collect();
    assert_eq!(names, expected);
    for spec in contract::TABLES {
        let path = dir.path().join(format!("{}.parquet", spec.name));
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        let found = builder.schema();
        // The contract's types, the item codes dictionary-encoded.
        let want = layout::storage_schema(spec.name, &spec.schema());
        assert_eq!(found.fields().len(), want.fields().len(), "{}", spec.name);
        for (f, w) in found.fields().iter().zip(want.fields()) {
            assert_eq!(f.name(), w.name(), "{}", spec.name);
            assert_eq!(f.data_type(), w.data_type(), "{}.{}", spec.name, f.name());
            assert_eq!(
                f.is_nullable(),
                w.is_nullable(),
                "{}.{}",
                spec.name,
                f.name()
            );
        }
        if spec.name == "questionnaire_item" {
            assert_eq!(
                found.field_with_name("item").unwrap().data_type(),
                &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
            );
        }
        let meta = builder.metadata();
        for rg in meta.row_groups() {
            for col in rg.columns() {
                assert_eq!(
                    col.compression(),
                    datafusion::parquet::basic::Compression::SNAPPY
                );
            }
        }
    }
}

#[test]
fn out_dir_rules() {
    let dir = tempdir();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let err = generate(&opts(dir.path(), 10, 2, 1, 1), &mut |_| {}).unwrap_err();
    assert!(matches!(err, GenerateError::OutDir { .. }), "{err}");
    assert!(err.to_string().contains("notes.txt"));
    assert!(!dir.path().join(writer::TMP_DIR).exists());

    // A previous run's output is replaced, also across layouts.
    let out = tempdir();
    run(&opts(out.path(), 50, 2, 1, 1), CHUNK_REFERRALS);
    run(&opts(out.path(), 60, 2, 1, 2), CHUNK_REFERRALS);
    assert!(!out.path().join("person.parquet").exists());
    assert!(out.path().join("person").is_dir());
    run(&opts(out.path(), 70, 2, 1, 1), CHUNK_REFERRALS);
    assert!(!out.path().join("person").exists());
    assert_eq!(read_table(out.path(), "referral").num_rows(), 70);
    let entries = std::fs::read_dir(out.path()).unwrap().count();
    assert_eq!(entries, 7);

    // A folder with a foreign file in it is not ours.
    std::fs::create_dir(out.path().join("contact")).unwrap();
    std::fs::write(out.path().join("contact").join("x.csv"), "").unwrap();
    assert!(matches!(
        generate(&opts(out.path(), 10, 2, 1, 1), &mut |_| {}),
        Err(GenerateError::OutDir { .. })
    ));

    for bad in [opts(dir.path(), 10, 0, 1, 1), opts(dir.path(), 10, 2, 1, 0)] {
        assert!(matches!(
            generate(&bad, &mut |_| {}),
            Err(GenerateError::Options(_))
        ));
    }
}

#[test]
fn code_lists_match_what_is_drawn() {
    fn codes(t: &[(&'static str, f64)]) -> Vec<&'static str> {
        t.iter().map(|(c, _)| *c).collect()
    }
    assert_eq!(codes(REFERRAL_SOURCE_WEIGHTS), REFERRAL_SOURCES);
    assert_eq!(codes(CLOSURE_REASON_WEIGHTS), CLOSURE_REASONS);
    assert_eq!(codes(ATTENDANCE_WEIGHTS), ATTENDANCE);
    assert_eq!(codes(ETHNICITY_WEIGHTS), ETHNICITIES);
}

/// Independent SDQ total difficulties scorer (domain.md rules): values
/// outside 0-2 count as missing; a scale needs 3 of 5 answered.
fn sdq_total(items: &HashMap<&str, Option<i32>>) -> Option<i32> {
    let mut total = 0;
    for scale in ["emotional", "conduct", "hyperactivity", "peer"] {
        let mut sum = 0;
        let mut n = 0;
        for (code, s, reverse) in SDQ_ITEMS {
            if format!("{s:?}").to_lowercase() != scale {
                continue;
            }
            if let Some(Some(v)) = items.get(code) {
                if (0..=2).contains(v) {
                    sum += if reverse { 2 - v } else { *v };
                    n += 1;
                }
            }
        }
        if n < 3 {
            return None;
        }
        total += (f64::from(sum) / f64::from(n) * 5.0 + 0.5).floor() as i32;
    }
    Some(total)
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

fn assert_rate(name: &str, count: usize, of: usize, lo: f64, hi: f64) {
    let r = count as f64 / of as f64;
    assert!(
        (lo..=hi).contains(&r),
        "{name}: {count} of {of} = {r:.4}, expected {lo}..{hi}"
    );
}

#[test]
fn shape_of_a_small_run() {
    let dir = tempdir();
    let n = 5_000;
    run(&opts(dir.path(), n, 20, 42, 1), 1_000);
    let d = dir.path();
    let part = read_table(d, "partnership");
    let serv = read_table(d, "service");
    let pers = read_table(d, "person");
    let refe = read_table(d, "referral");
    let cont = read_table(d, "contact");
    let ques = read_table(d, "questionnaire");
    let item = read_table(d, "questionnaire_item");
    assert_eq!(refe.num_rows(), n as usize);

    // Ids unique, references resolve.
    let unique = |v: &[i64], t: &str| {
        let s: HashSet<i64> = v.iter().copied().collect();
        assert_eq!(s.len(), v.len(), "{t} ids must be unique");
        s
    };
    let part_ids = unique(&i64s(&part, "partnership_id"), "partnership");
    let serv_ids = unique(&i64s(&serv, "service_id"), "service");
    let pers_ids = unique(&i64s(&pers, "person_id"), "person");
    let ref_ids = unique(&i64s(&refe, "referral_id"), "referral");
    let cont_ids = unique(&i64s(&cont, "contact_id"), "contact");
    let q_ids = unique(&i64s(&ques, "questionnaire_id"), "questionnaire");
    assert!(i64s(&serv, "partnership_id")
        .iter()
        .all(|p| part_ids.contains(p)));
    assert!(i64s(&refe, "service_id")
        .iter()
        .all(|s| serv_ids.contains(s)));
    assert!(i64s(&refe, "person_id")
        .iter()
        .all(|p| pers_ids.contains(p)));
    assert!(i64s(&cont, "referral_id")
        .iter()
        .all(|r| ref_ids.contains(r)));
    assert!(i64s(&ques, "referral_id")
        .iter()
        .all(|r| ref_ids.contains(r)));
    assert!(opt_i64s(&ques, "contact_id")
        .iter()
        .flatten()
        .all(|c| cont_ids.contains(c)));
    assert!(i64s(&item, "questionnaire_id")
        .iter()
        .all(|q| q_ids.contains(q)));

    // Partnerships and services.
    let collabs: HashSet<_> = strs(&part, "collaborative").into_iter().collect();
    assert!((3..=6).contains(&collabs.len()), "{collabs:?}");
    let mut per_service: HashMap<i64, usize> = HashMap::new();
    for s in i64s(&refe, "service_id") {
        *per_service.entry(s).or_default() += 1;
    }
    let serv_part: HashMap<i64, i64> = i64s(&serv, "service_id")
        .into_iter()
        .zip(i64s(&serv, "partnership_id"))
        .collect();
    let mut per_part: HashMap<i64, usize> = HashMap::new();
    for (s, c) in &per_service {
        *per_part.entry(serv_part[s]).or_default() += c;
    }
    let sizes: Vec<usize> = part_ids
        .iter()
        .map(|p| per_part.get(p).copied().unwrap_or(0))
        .collect();
    assert!(
        sizes.iter().any(|s| *s < 10),
        "a tiny partnership: {sizes:?}"
    );
    assert!(
        // At least three times the mean partnership size.
        sizes.iter().max().unwrap() > &(3 * n as usize / 20),
        "a big one: {sizes:?}"
    );
    let mut services_per_part: HashMap<i64, usize> = HashMap::new();
    for p in i64s(&serv, "partnership_id") {
        *services_per_part.entry(p).or_default() += 1;
    }
    assert!(services_per_part.values().all(|c| (1..=6).contains(c)));
    for t in strs(&serv, "service_type").into_iter().flatten() {
        assert!(SERVICE_TYPES.contains(&t.as_str()), "{t}");
    }

    // Persons.
    let birth: HashMap<i64, Option<i32>> = i64s(&pers, "person_id")
        .into_iter()
        .zip(dates(&pers, "birth_date"))
        .collect();
    let genders = strs(&pers, "gender");
    for g in genders.iter().flatten() {
        assert!(GENDERS.contains(&g.as_str()), "{g}");
    }
    let female = genders.iter().filter(|g| g.as_deref() == Some("2")).count();
    assert_rate("female", female, pers.num_rows(), 0.4, 0.65);
    assert_rate(
        "gender NULL",
        genders.iter().filter(|g| g.is_none()).count(),
        pers.num_rows(),
        0.005,
        0.04,
    );
    for e in strs(&pers, "ethnicity").iter().flatten() {
        assert!(ETHNICITIES.contains(&e.as_str()), "{e}");
    }
    let births = dates(&pers, "birth_date");
    assert_rate(
        "birth NULL",
        births.iter().filter(|b| b.is_none()).count(),
        pers.num_rows(),
        0.01,
        0.06,
    );
    let first_of_month = births
        .iter()
        .flatten()
        .filter(|b| dates::civil_from_days(**b).2 == 1)
        .count();
    assert_rate("birth on 1st", first_of_month, pers.num_rows(), 0.08, 0.2);

    // Referrals.
    let rids = i64s(&refe, "referral_id");
    let rdate: Vec<i32> = dates(&refe, "referral_date")
        .into_iter()
        .flatten()
        .collect();
    let closure = dates(&refe, "closure_date");
    let rperson = i64s(&refe, "person_id");
    assert!(rdate.iter().all(|d| (DATA_START..=DATA_END).contains(d)));
    let closed = closure.iter().filter(|c| c.is_some()).count();
    assert_rate("closed", closed, n as usize, 0.5, 0.7);
    for (i, c) in closure.iter().enumerate() {
        if let Some(c) = c {
            assert!(*c <= DATA_END);
            let months = f64::from(c - rdate[i]) / 30.44;
            assert!(
                (0.9..=18.1).contains(&months),
                "closure after {months} months"
            );
        }
    }
    let mut ages = vec![None; n as usize];
    for (i, p) in rperson.iter().enumerate() {
        if let Some(b) = birth[p] {
            let age = age_years(b, rdate[i]);
            assert!((4..=18).contains(&age), "age {age}");
            ages[i] = Some(age);
        }
    }
    let mut per_person: HashMap<i64, usize> = HashMap::new();
    for p in &rperson {
        *per_person.entry(*p).or_default() += 1;
    }
    let multi = per_person.values().filter(|c| **c > 1).count();
    assert!(multi > 100, "persons with more than one referral: {multi}");
    for s in strs(&refe, "referral_source").iter().flatten() {
        assert!(REFERRAL_SOURCES.contains(&s.as_str()), "{s}");
    }
    for s in strs(&refe, "closure_reason").iter().flatten() {
        assert!(CLOSURE_REASONS.contains(&s.as_str()), "{s}");
    }
    let ref_index: HashMap<i64, usize> = rids.iter().enumerate().map(|(i, r)| (*r, i)).collect();

    // Contacts.
    let c_ref = i64s(&cont, "referral_id");
    let c_date: Vec<i32> = dates(&cont, "contact_date").into_iter().flatten().collect();
    let att = strs(&cont, "attendance");
    let mut contacts_of = vec![0usize; n as usize];
    let mut after_closure = HashSet::new();
    for (i, r) in c_ref.iter().enumerate() {
        let ri = ref_index[r];
        contacts_of[ri] += 1;
        assert!(c_date[i] >= rdate[ri] && c_date[i] <= DATA_END);
        if closure[ri].is_some_and(|c| c_date[i] > c) {
            after_closure.insert(*r);
        }
        assert!(ATTENDANCE.contains(&att[i].as_deref().unwrap()));
    }
    assert!(contacts_of.iter().all(|c| *c <= 21));
    let attended = att
        .iter()
        .filter(|a| matches!(a.as_deref(), Some("5" | "6")))
        .count();
    assert_rate("attended", attended, cont.num_rows(), 0.65, 0.85);
    assert_rate(
        "contact after closure",
        after_closure.len(),
        closed,
        0.002,
        0.03,
    );
    let stale: Vec<usize> = (0..n as usize)
        .filter(|&i| rdate[i] < DATA_END - STALE_DAYS)
        .collect();
    let stale_open_empty = stale
        .iter()
        .filter(|&&i| closure[i].is_none() && contacts_of[i] == 0)
        .count();
    assert_rate(
        "stale open no contacts",
        stale_open_empty,
        stale.len(),
        0.002,
        0.03,
    );

    // Questionnaires.
    let q_id = i64s(&ques, "questionnaire_id");
    let q_ref = i64s(&ques, "referral_id");
    let q_measure = strs(&ques, "measure");
    let q_inf = strs(&ques, "informant");
    let q_ver = strs(&ques, "version");
    let q_date: Vec<i32> = dates(&ques, "completed_date")
        .into_iter()
        .flatten()
        .collect();
    let before = q_date
        .iter()
        .zip(&q_ref)
        .filter(|(d, r)| **d < rdate[ref_index[r]])
        .map(|(_, r)| *r)
        .collect::<HashSet<_>>()
        .len();
    assert_rate("dated before referral", before, n as usize, 0.002, 0.03);
    assert!(q_date.iter().all(|d| *d <= DATA_END));

    let mut values: HashMap<i64, HashMap<&str, Option<i32>>> = HashMap::new();
    let item_q = i64s(&item, "questionnaire_id");
    let item_code = item.column_by_name("item").unwrap().as_string::<i32>();
    let item_value = item
        .column_by_name("value")
        .unwrap()
        .as_primitive::<Int32Type>();
    for (i, q) in item_q.iter().enumerate() {
        let v = (!item_value.is_null(i)).then(|| item_value.value(i));
        values.entry(*q).or_default().insert(item_code.value(i), v);
    }

    let mut t1 = Vec::new();
    let mut t1_by_ref: HashMap<i64, f64> = HashMap::new();
    let mut pairs = Vec::new();
    let mut sdq_count = 0;
    let (mut out_of_range, mut null_value, mut missing_scale) = (0, 0, 0);
    let mut gbo_refs = HashSet::new();
    let empty = HashMap::new();
    for i in 0..ques.num_rows() {
        let items = values.get(&q_id[i]).unwrap_or(&empty);
        let m = q_measure[i].as_deref().unwrap();
        let inf = q_inf[i].as_deref().unwrap();
        let ver = q_ver[i].as_deref();
        match m {
            "SDQ" => {
                sdq_count += 1;
                let diffs: Vec<Option<i32>> = SDQ_ITEMS
                    .iter()
                    .map(|(c, _, _)| items.get(c).copied().flatten())
                    .collect();
                if diffs.iter().flatten().any(|v| !(0..=2).contains(v)) {
                    out_of_range += 1;
                }
                if SDQ_ITEMS
                    .iter()
                    .any(|(c, _, _)| matches!(items.get(c), Some(None)))
                {
                    null_value += 1;
                }
                let absent = SDQ_ITEMS
                    .iter()
                    .filter(|(c, _, _)| !items.contains_key(c))
                    .count();
                if absent >= 3 {
                    missing_scale += 1;
                }
                if inf == "parent" {
                    if let Some(total) = sdq_total(items) {
                        if ver == Some("baseline") {
                            t1.push(f64::from(total));
                            t1_by_ref.insert(q_ref[i], f64::from(total));
                        } else {
                            pairs.push((q_ref[i], f64::from(total)));
                        }
                    }
                }
                let age = ages[ref_index[&q_ref[i]]];
                assert!(
                    inf != "self" || age.is_none_or(|a| a >= 11),
                    "self SDQ at {age:?}"
                );
            }
            "RCADS" | "CURRENT_VIEW" | "ESQ" => {}
            "GBO" => {
                gbo_refs.insert(q_ref[i]);
                for (code, v) in items {
                    assert!(code.starts_with("goal_"));
                    assert!((0..=10).contains(&v.unwrap()));
                }
            }
            other => panic!("unexpected measure {other}"),
        }
    }
    let (m1, sd1) = mean_sd(&t1);
    assert!((15.0..=19.0).contains(&m1), "SDQ parent T1 mean {m1}");
    assert!((4.5..=7.5).contains(&sd1), "SDQ parent T1 SD {sd1}");
    let changes: Vec<f64> = pairs
        .iter()
        .filter_map(|(r, t2)| t1_by_ref.get(r).map(|t1| t1 - t2))
        .collect();
    let (mc, _) = mean_sd(&changes);
    let effect = mc / sd1;
    assert!((0.2..=0.7).contains(&effect), "pre-post effect {effect}");
    assert_rate("SDQ parent with T2", changes.len(), t1.len(), 0.3, 0.7);
    assert_rate("GBO referrals", gbo_refs.len(), n as usize, 0.25, 0.55);
    assert_rate("SDQ out of range", out_of_range, sdq_count, 0.003, 0.03);
    assert_rate("SDQ NULL value", null_value, sdq_count, 0.003, 0.03);
    assert_rate(
        "SDQ scale beyond prorating",
        missing_scale,
        sdq_count,
        0.003,
        0.03,
    );
}

/// Issue 18: every table is written sorted by its key, each file declares
/// that order, and the files of a folder hold consecutive key ranges
/// (checked by reading the files in part order as one sequence).
#[test]
fn tables_are_written_sorted_by_their_key_and_declare_it() {
    use crate::engine::layout::Declared;
    let dir = tempdir();
    // Small chunks: several chunks per file, three files per table.
    let s = run(&opts(dir.path(), 300, 6, 5, 3), 40);
    for (table, rows, _) in &s.tables {
        assert!(*rows > 0, "{table}");
        let spec = contract::table(table).unwrap();
        let key = writer::key_order(spec);
        assert!(!key.is_empty(), "{table} has a sort key");
        let files = table_files(dir.path(), table);
        assert_eq!(
            layout::declared_order(&files).unwrap(),
            Declared::Sorted(key.clone()),
            "{table}"
        );
        assert_eq!(layout::verify(&files, &key).unwrap(), None, "{table}");
    }
}
