//! Helpers: the binary, the fixtures and the snapshot filters.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (tests run the binary from there).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The tiny fixture, relative to the root.
pub const TINY: &str = "tests/fixtures/tiny";

/// The test charts, relative to the root.
pub const TEST_QUERIES: &str = "tests/cli/queries";

/// The binary, run from the repository root, with no colours and a
/// throw-away history file.
pub fn cypdash() -> Command {
    let mut cmd = Command::new(insta_cmd::get_cargo_bin("cypdash"));
    cmd.current_dir(root());
    cmd.env("NO_COLOR", "1");
    cmd.env(
        "CYPDASH_HISTORY",
        std::env::temp_dir().join("cypdash_test_history"),
    );
    cmd
}

/// The binary over the tiny fixture.
pub fn tiny() -> Command {
    let mut cmd = cypdash();
    cmd.args(["--data", TINY]);
    cmd
}

/// The binary over the tiny fixture with the test charts.
pub fn tiny_test_charts() -> Command {
    let mut cmd = tiny();
    cmd.args(["--queries", TEST_QUERIES]);
    cmd
}

fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Snapshot settings: times, fingerprints, the version and the given
/// directories (as `[name]`) are filtered out.
pub fn settings(dirs: &[(&Path, &str)]) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    for (dir, name) in dirs {
        let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        for p in [canonical, dir.to_path_buf()] {
            s.add_filter(&escape(&p.display().to_string()), format!("[{name}]"));
        }
    }
    s.add_filter(&escape(&root().display().to_string()), "[ROOT]");
    s.add_filter(r"\b\d+ ms\b", "[TIME]");
    s.add_filter(r"\b\d+\.\d s\b", "[TIME]");
    s.add_filter(r"\b[0-9a-f]{16}\b", "[FINGERPRINT]");
    s.add_filter(&escape(env!("CARGO_PKG_VERSION")), "[VERSION]");
    s
}

/// Snapshot settings for output holding a table with a timing column:
/// column widths follow the real timings, so padding and rules collapse.
pub fn timed_table_settings(dirs: &[(&Path, &str)]) -> insta::Settings {
    let mut s = settings(dirs);
    s.add_filter(r"[─═]{2,}", "──");
    s.add_filter(r" {2,}", " ");
    s
}

/// Run a command to completion, returning (exit code, stdout, stderr).
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run cypdash");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
