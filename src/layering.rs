//! Dependencies point one way (issue 11, item 5): no module imports from a
//! module that imports it, in `src/` and in `udfs/src/`.
//!
//! A test, not a lint: it reads the source files, takes every `crate::`
//! and `super::` path outside comments (in `use` lines and inline, brace
//! groups expanded), resolves each to the module that holds it, and looks
//! for cycles between modules, both file by file and with every module
//! folded into its top-level module (`report::funnel` into `report`). A
//! module and its own submodules are one unit and may refer to each other;
//! test code (a `tests` module, inline or in its own file) may import
//! anything and is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path: `["report", "funnel"]`; the crate root is empty.
type Module = Vec<String>;

/// The module each source file of a crate is, from its path under `src`
/// (`#[path]` attributes followed).
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![(Module::new(), src.join("lib.rs"))];
    while let Some((module, file)) = stack.pop() {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        // Where this file's submodules live.
        let dir = match file.file_name().and_then(|n| n.to_str()) {
            Some("lib.rs") | Some("mod.rs") => file.parent().unwrap().to_path_buf(),
            _ => file.with_extension(""),
        };
        let mut path_attr: Option<String> = None;
        for line in text.lines().map(str::trim) {
            if let Some(p) = line
                .strip_prefix("#[path = \"")
                .and_then(|r| r.strip_suffix("\"]"))
            {
                path_attr = Some(p.to_string());
                continue;
            }
            let decl = line
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub ")
                .strip_prefix("mod ")
                .and_then(|r| r.strip_suffix(';'));
            if let Some(name) = decl {
                let mut child = module.clone();
                child.push(name.to_string());
                let child_file = match path_attr.take() {
                    Some(p) => file.parent().unwrap().join(p),
                    None if dir.join(format!("{name}.rs")).is_file() => {
                        dir.join(format!("{name}.rs"))
                    }
                    None => dir.join(name).join("mod.rs"),
                };
                stack.push((child, child_file));
            } else if !line.starts_with("#[") {
                path_attr = None;
            }
        }
        found.insert(module, file);
    }
    found
}

/// The text without `//` comments (doc comments name paths too).
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut cut = line.len();
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if in_string => i += 1,
                b'"' => in_string = !in_string,
                b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => {
                    cut = i;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        out.push_str(&line[..cut]);
        out.push('\n');
    }
    out
}

/// Every path after `prefix` (`crate::` or `super::`), braces expanded:
/// `crate::{a::b, c}` gives `a::b` and `c`.
fn paths_after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        expand(rest, Vec::new(), &mut paths);
    }
    paths
}

/// Read one path (or brace group) at the start of `text` under `base`.
fn expand(text: &str, base: Vec<String>, paths: &mut Vec<Vec<String>>) {
    let text = text.trim_start();
    if let Some(inner) = text.strip_prefix('{') {
        // Split the group at its top-level commas.
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(&inner[start..i], base.clone(), paths);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..i], base.clone(), paths);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let word: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if word.is_empty() {
        if !base.is_empty() {
            paths.push(base);
        }
        return;
    }
    let mut path = base;
    path.push(word.clone());
    match text[word.len()..].strip_prefix("::") {
        Some(more) => expand(more, path, paths),
        None => paths.push(path),
    }
}

/// The longest known module a path starts with.
fn holder(path: &[String], known: &BTreeMap<Module, PathBuf>) -> Module {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|m| known.contains_key(m))
        .unwrap_or_default()
}

fn related(a: &Module, b: &Module) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Module-to-module imports of a crate, each with the module it names.
fn imports(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let known = modules(src);
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, file) in &known {
        if module.last().is_some_and(|m| m == "tests") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        // Inline tests close the file.
        let text = code(
            text.split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or_default(),
        );
        let parent: Module = module[..module.len().saturating_sub(1)].to_vec();
        let mut named: Vec<Vec<String>> = paths_after(&text, "crate::");
        for p in paths_after(&text, "super::") {
            named.push(parent.iter().cloned().chain(p).collect());
        }
        for path in named {
            let to = holder(&path, &known);
            if !related(module, &to) {
                edges.entry(module.clone()).or_default().insert(to);
            }
        }
    }
    edges
}

/// The pairs of modules that import each other, directly or through
/// others: each cycle found, as its modules in order.
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    let mut found = Vec::new();
    for start in edges.keys() {
        // Breadth-first from `start`, keeping where each module was reached from.
        let mut from: BTreeMap<Module, Module> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.clone()]);
        while let Some(m) = queue.pop_front() {
            for next in edges.get(&m).into_iter().flatten() {
                if next == start {
                    let mut cycle = vec![m.clone()];
                    while let Some(prev) = from.get(cycle.last().unwrap()) {
                        cycle.push(prev.clone());
                    }
                    cycle.reverse();
                    if cycle.first() == Some(start)
                        && !found.iter().any(|c: &Vec<Module>| {
                            c.len() == cycle.len() && cycle.iter().all(|m| c.contains(m))
                        })
                    {
                        found.push(cycle);
                    }
                    queue.clear();
                    break;
                }
                if !from.contains_key(next) && next != start {
                    from.insert(next.clone(), m.clone());
                    queue.push_back(next.clone());
                }
            }
        }
    }
    found
}

/// The imports with every module folded into its top-level module.
fn top_level(edges: &BTreeMap<Module, BTreeSet<Module>>) -> BTreeMap<Module, BTreeSet<Module>> {
    let top = |m: &Module| m.iter().take(1).cloned().collect::<Module>();
    let mut folded: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, tos) in edges {
        for to in tos {
            if top(from) != top(to) {
                folded.entry(top(from)).or_default().insert(top(to));
            }
        }
    }
    folded
}

fn describe(cycles: &[Vec<Module>]) -> String {
    cycles
        .iter()
        .map(|c| {
            let names: Vec<String> = c
                .iter()
                .chain(c.first())
                .map(|m| format!("crate::{}", m.join("::")))
                .collect();
            names.join(" -> ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn no_module_imports_from_a_module_that_imports_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for src in [root.join("src"), root.join("udfs/src")] {
        let edges = imports(&src);
        assert!(edges.len() > 3, "too few modules read in {}", src.display());
        let by_file = cycles(&edges);
        assert!(
            by_file.is_empty(),
            "import cycles in {}:\n{}",
            src.display(),
            describe(&by_file)
        );
        let folded = cycles(&top_level(&edges));
        assert!(
            folded.is_empty(),
            "import cycles between the top-level modules of {}:\n{}",
            src.display(),
            describe(&folded)
        );
    }
}

/// The check finds a cycle where there is one (the one issue 11 removed:
/// `cli` used `repl`, which used `cli`), also through a brace group and a
/// path written inline, and not in comments.
#[test]
fn the_cycle_check_sees_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(
        src.join("lib.rs"),
        "pub mod cli;\npub mod repl;\npub mod output;\n",
    )
    .unwrap();
    std::fs::write(src.join("output.rs"), "pub fn f() {}\n").unwrap();
    std::fs::write(
        src.join("cli.rs"),
        "use crate::{output, repl::{self, Repl}};\n// crate::nothing\n",
    )
    .unwrap();
    std::fs::write(src.join("repl.rs"), "fn g() { crate::output::f(); }\n").unwrap();
    assert!(cycles(&imports(src)).is_empty());
    std::fs::write(
        src.join("repl.rs"),
        "fn g() { crate::output::f(); crate::cli::h(); }\n",
    )
    .unwrap();
    let found = cycles(&imports(src));
    assert_eq!(describe(&found), "crate::cli -> crate::repl -> crate::cli");
}
