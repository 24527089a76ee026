//! The block cache (`--cache DIR`, `cypdash cache list|clear`): exports with
//! the shared blocks read back from Parquet equal those computed in memory;
//! a second run reuses every entry; new data or new parameter values make
//! new entries; `clear` empties it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{cypdash, output};

const DATA: &str = "tests/fixtures/dashboard";

/// `cypdash [--cache DIR] export --format csv --out OUT` over `data`.
fn export(data: &Path, cache: Option<&Path>, out: &Path, params: &[&str]) {
    let mut cmd = cypdash();
    cmd.arg("--quiet").arg("--data").arg(data);
    if let Some(c) = cache {
        cmd.arg("--cache").arg(c);
    }
    cmd.args(["export", "--format", "csv", "--out"]).arg(out);
    for p in params {
        cmd.args(["--param", p]);
    }
    let (code, _, stderr) = output(&mut cmd);
    assert_eq!(code, 0, "{stderr}");
}

/// The cache's entries as `cache list --format csv` prints them (header
/// first).
fn list(cache: &Path) -> Vec<String> {
    let (code, stdout, stderr) = output(
        cypdash()
            .arg("--cache")
            .arg(cache)
            .args(["cache", "list", "--format", "csv"]),
    );
    assert_eq!(code, 0, "{stderr}");
    stdout.lines().map(str::to_string).collect()
}

/// Every exported chart CSV, by file name, as rows of cells.
pub(crate) fn charts(dir: &Path) -> BTreeMap<String, Vec<Vec<String>>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_path(&p)
                .unwrap();
            let rows = reader
                .records()
                .map(|r| r.unwrap().iter().map(str::to_string).collect())
                .collect();
            (p.file_name().unwrap().to_string_lossy().into_owned(), rows)
        })
        .collect()
}

/// Same files, rows and cells; numbers equal to 1e-10 relative (a block
/// read back from files may be split into other partitions than in memory,
/// and a float sum over other partitions can differ in the last bits: at
/// 100,000 generated referrals the largest difference was 1.2e-12, in an
/// effect size, and 3.5e-15 in a mean).
pub(crate) fn assert_same(a: &Path, b: &Path) {
    let (a, b) = (charts(a), charts(b));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same chart files"
    );
    assert!(a.len() > 10, "the export holds the charts: {:?}", a.keys());
    for (file, rows) in &a {
        let other = &b[file];
        assert_eq!(rows.len(), other.len(), "{file}: rows");
        for (i, (r, s)) in rows.iter().zip(other).enumerate() {
            assert_eq!(r.len(), s.len(), "{file} row {i}");
            for (x, y) in r.iter().zip(s) {
                assert!(same_cell(x, y), "{file} row {i}: {x} against {y}");
            }
        }
    }
}

/// One cell of two exports: numbers equal to 1e-10 relative (see
/// [`assert_same`]), anything else as text.
pub(crate) fn same_cell(x: &str, y: &str) -> bool {
    match (x.parse::<f64>(), y.parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b || (a - b).abs() <= 1e-10 * a.abs().max(b.abs()),
        _ => x == y,
    }
}

/// The rows of one chart of two exports, cell by cell by [`same_cell`].
pub(crate) fn same_rows(a: &[Vec<String>], b: &[Vec<String>]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(r, s)| r.len() == s.len() && r.iter().zip(s).all(|(x, y)| same_cell(x, y)))
}

#[test]
fn cached_blocks_give_the_same_exports_and_are_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = crate::common::root();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for entry in std::fs::read_dir(root.join(DATA)).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            std::fs::copy(&path, data.join(path.file_name().unwrap())).unwrap();
        }
    }
    let cache = tmp.path().join("cache");
    let (memory, first, second) = (
        tmp.path().join("memory"),
        tmp.path().join("first"),
        tmp.path().join("second"),
    );

    export(&data, None, &memory, &[]);
    export(&data, Some(&cache), &first, &[]);
    let after_first = list(&cache);
    // Header, then one line per block entry, each complete.
    assert_eq!(after_first[0], "block,key,files,bytes,complete");
    assert!(after_first.len() > 5, "{after_first:?}");
    assert!(
        after_first[1..].iter().all(|l| l.ends_with(",true")),
        "{after_first:?}"
    );
    assert_same(&memory, &first);

    // The second run reads every block back: no new entry.
    export(&data, Some(&cache), &second, &[]);
    assert_eq!(list(&cache), after_first);
    assert_same(&memory, &second);

    // Other values of a parameter that bound blocks take (the period) make
    // entries of their own beside the others.
    export(
        &data,
        Some(&cache),
        &tmp.path().join("period"),
        &["period_start=2023-01-01", "period_end=2023-12-31"],
    );
    let with_period = list(&cache);
    assert!(with_period.len() > after_first.len(), "{with_period:?}");
    assert!(after_first.iter().all(|l| with_period.contains(l)));

    // Changed data (here only its modification time, which the input
    // fingerprint reads with each file's path and size) keys every block
    // anew.
    let referral = std::fs::File::options()
        .write(true)
        .open(data.join("referral.csv"))
        .unwrap();
    referral
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .unwrap();
    drop(referral);
    export(&data, Some(&cache), &tmp.path().join("changed"), &[]);
    let changed = list(&cache);
    assert_eq!(
        changed.len(),
        with_period.len() + (after_first.len() - 1),
        "every block of the default period again"
    );

    let (code, stdout, stderr) = output(
        cypdash()
            .arg("--cache")
            .arg(&cache)
            .args(["cache", "clear"]),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("removed "), "{stdout}");
    assert_eq!(
        list(&cache),
        vec!["block,key,files,bytes,complete".to_string()]
    );
}

#[test]
fn cache_commands_need_the_folder() {
    let (code, _, stderr) = output(cypdash().args(["cache", "list"]));
    assert_ne!(code, 0);
    assert!(stderr.contains("--cache DIR"), "{stderr}");
}
