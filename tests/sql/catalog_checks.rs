//! Checks on the query files themselves: headers against real result
//! schemas, parameters declared against parameters used, and an `.slt` per
//! chart (issue #4).

use cypdash::catalog::{used_params, Catalog, QueryFile, SharedKind};
use std::collections::BTreeSet;
use std::path::Path;

/// Whether `sql` mentions `name` as a whole word.
fn mentions(sql: &str, name: &str) -> bool {
    sql.match_indices(name).any(|(i, _)| {
        let before = sql[..i].chars().next_back();
        let after = sql[i + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

/// Parameters a query can take through the bound views it reads
/// (transitively).
fn reachable_params(
    catalog: &Catalog,
    file: &QueryFile,
    seen: &mut BTreeSet<String>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for block in catalog.shared() {
        if block.id == file.id
            || !mentions(&file.sql, &block.name)
            || !seen.insert(block.id.clone())
        {
            continue;
        }
        if block.header.kind == Some(SharedKind::BoundView) {
            out.extend(block.header.params.iter().map(|p| p.name.clone()));
        }
        out.extend(reachable_params(catalog, block, seen));
    }
    out
}

#[test]
fn every_param_used_is_declared_and_every_declared_param_is_used() {
    let catalog = Catalog::embedded().unwrap();
    let mut problems = Vec::new();
    for file in catalog.shared().chain(catalog.charts()) {
        let declared: BTreeSet<String> =
            file.header.params.iter().map(|p| p.name.clone()).collect();
        let used = used_params(&file.sql);
        for p in used.difference(&declared) {
            problems.push(format!("{}: uses ${p} but does not declare it", file.id));
        }
        let reachable = reachable_params(&catalog, file, &mut BTreeSet::new());
        for p in &declared {
            // `min_n` is read by disclosure control (src/disclosure.rs), not by SQL.
            let policy_param = !file.is_shared() && p == "min_n";
            if !used.contains(p) && !reachable.contains(p) && !policy_param {
                problems.push(format!(
                    "{}: declares `{p}` but neither it nor a block it reads uses it",
                    file.id
                ));
            }
        }
        // A chart must declare every scope parameter of the blocks it reads,
        // so that a user can set it; other block parameters may keep their
        // default (e.g. idle_days outside the idle chart).
        if !file.is_shared() {
            for p in ["period_start", "period_end"] {
                if reachable.contains(p) && !declared.contains(p) {
                    problems.push(format!(
                        "{}: reads a block that takes `{p}` but does not declare it",
                        file.id
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_chart_has_an_slt_file() {
    let catalog = Catalog::embedded().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt/queries");
    let missing: Vec<String> = catalog
        .charts()
        .filter(|c| !root.join(format!("{}.slt", c.id)).is_file())
        .map(|c| format!("tests/slt/queries/{}.slt", c.id))
        .collect();
    assert!(
        missing.is_empty(),
        "charts without an slt test: {missing:?}"
    );
}

#[test]
fn every_chart_declares_the_columns_it_returns() {
    let rt = crate::runtime();
    rt.block_on(async {
        let crate::runner::Session::Dashboard(dash) = crate::runner::dashboard_context() else {
            unreachable!()
        };
        let mut problems = Vec::new();
        for chart in dash.catalog().charts() {
            let result = match dash.run(&chart.id, &Default::default()).await {
                Ok(r) => r,
                Err(e) => {
                    problems.push(format!("{}: {e}", chart.id));
                    continue;
                }
            };
            let got: Vec<(String, String)> = result
                .schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().to_string()))
                .collect();
            let want: Vec<(String, String)> = chart
                .header
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.ty.clone()))
                .collect();
            if got != want {
                problems.push(format!(
                    "{}:\n  header: {want:?}\n  result: {got:?}",
                    chart.id
                ));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    });
}
