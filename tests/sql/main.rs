//! SQL logic tests: every `.slt` file under `tests/slt/` runs against a real
//! session.
//!
//! - `tests/slt/udfs/*.slt`: a bare DataFusion `SessionContext` with only the
//!   cypdash UDFs registered (what a third-party DataFusion app would see).
//! - `tests/slt/queries/<section>/<chart>.slt`: the full engine over
//!   `tests/fixtures/dashboard` (`national/` over `tests/fixtures/national`);
//!   `chart <section/name> [k=v ...]` runs a chart file with parameters and
//!   keeps its result as the table `last_chart`, anything else is SQL over
//!   the same session.
//!
//! Expected output is regenerated with `CYPDASH_SLT_COMPLETE=1 cargo test
//! --test sql`; review the diff before committing it.
//!
//! Value formatting (shared by every file): NULL is `NULL`, floats are
//! printed with 6 decimals, strings as is (empty string as `(empty)`),
//! structs and lists in Arrow's display form.

mod catalog_checks;
mod demo_invariants;
mod disclosure;
mod funnel_limits;
mod mhsds_input;
mod runner;

use std::path::{Path, PathBuf};

fn slt_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.expect("read slt dir").path();
        if path.is_dir() {
            files.extend(slt_files(&path));
        } else if path.extension().is_some_and(|e| e == "slt") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The runtime the tests run queries on: two workers, as on the CI machine.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn run_dir(sub: &str, make: runner::MakeCtx) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/slt")
        .join(sub);
    let files = slt_files(&dir);
    assert!(!files.is_empty(), "no .slt files under {}", dir.display());
    let complete = std::env::var_os("CYPDASH_SLT_COMPLETE").is_some();
    let rt = runtime();
    let mut failures = Vec::new();
    for file in &files {
        let make = runner::context_for(file, make);
        if let Err(e) = rt.block_on(runner::run_file(file, make, complete)) {
            failures.push(format!("{}:\n{e}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} slt files failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

#[test]
fn udfs() {
    run_dir("udfs", runner::udf_context);
}

#[test]
fn queries() {
    run_dir("queries", runner::dashboard_context);
}
