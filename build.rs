//! Embeds every query file under `queries/` (the SQL, the charts' discussions
//! and the `.toml` declarations) into the binary, so `cypdash`
//! runs the charts from anywhere; `--queries DIR` reads them from disk instead.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, root, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "sql" || e == "md" || e == "toml")
        {
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, path));
        }
    }
}

fn main() {
    // Read when the script runs (cargo sets it for each build), not when
    // it is compiled.
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.join("queries");
    // Paths relative to the package root, and `include_str!` of the files
    // under the CARGO_MANIFEST_DIR of the build that compiles them: a
    // target folder shared by two checkouts (a fresh clone's CI run with
    // CARGO_TARGET_DIR pointing here) shares this script's fingerprint,
    // and absolute paths made each build check, and embed, the other
    // checkout's files, so edits here were not compiled in.
    println!("cargo:rerun-if-changed=queries");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut code = String::from("/// Query files compiled into the binary: (path under queries/, text).\npub const EMBEDDED: &[(&str, &str)] = &[\n");
    for (rel, _) in &files {
        println!("cargo:rerun-if-changed=queries/{rel}");
        writeln!(
            code,
            "    ({rel:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/queries/\", {rel:?}))),"
        )
        .expect("write");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("queries.rs");
    std::fs::write(out, code).expect("write queries.rs");
}
