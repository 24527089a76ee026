//! Test support: runs the SQL examples in a function's `Documentation` and
//! compares the printed tables with the documented ones.
//!
//! An example is a fenced block of `> <sql>` lines, each followed by the
//! table `arrow::util::pretty` prints for it.

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::logical_expr::Documentation;
use datafusion::prelude::SessionContext;

/// Splits a documented example into (sql, expected table) pairs.
fn statements(example: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in example.lines() {
        let line = line.trim_end();
        if line.starts_with("```") {
            continue;
        }
        if let Some(sql) = line.strip_prefix("> ") {
            out.push((sql.to_string(), String::new()));
        } else if let Some((_, table)) = out.last_mut() {
            table.push_str(line);
            table.push('\n');
        }
    }
    out
}

/// Runs every statement of `doc`'s SQL example on `ctx` and checks its
/// output. Panics with the function name on any difference.
pub(crate) async fn check_doc_example(ctx: &SessionContext, name: &str, doc: &Documentation) {
    let example = doc
        .sql_example
        .as_deref()
        .unwrap_or_else(|| panic!("{name}: documentation has no SQL example"));
    let stmts = statements(example);
    assert!(
        !stmts.is_empty(),
        "{name}: SQL example has no `> ` statement"
    );
    for (sql, expected) in stmts {
        let batches = ctx
            .sql(&sql)
            .await
            .unwrap_or_else(|e| panic!("{name}: planning `{sql}` failed: {e}"))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{name}: running `{sql}` failed: {e}"));
        let actual = pretty_format_batches(&batches).unwrap().to_string();
        assert_eq!(
            actual.trim(),
            expected.trim(),
            "{name}: documented output of `{sql}` differs"
        );
    }
}
