//! Catalogue queries that PostgreSQL drivers send at connect, rewritten
//! where DataFusion or `datafusion-pg-catalog` cannot run them as written.
//!
//! Npgsql (the driver of Power BI's PostgreSQL connector) loads its types
//! with a query (src/Npgsql/PostgresDatabaseInfo.cs) that needs two:
//!
//! 1. a multirange's range by a correlated scalar subquery,
//!    `(SELECT rngtypid FROM pg_range WHERE rngmultitypid = typ.oid)`:
//!    DataFusion plans a correlated scalar subquery only when it
//!    aggregates. Over `pg_*` tables, where such subqueries look a row up
//!    by its key, the one selected expression is wrapped in `max()`: the
//!    row's value, or NULL when there is no row, as in PostgreSQL;
//! 2. `pg_proc.oid = pg_type.typreceive` (arrays are the types received by
//!    `array_recv`): the catalogue keeps `typreceive` (a `regproc`, an oid
//!    shown as the function's name) as the name, so the comparison is made
//!    on `proname`. The same holds for `typinput`, `typoutput` and `typsend`.

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, BinaryOperator, Expr, Ident, SelectItem, SetExpr, Statement, TableFactor,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// The `regproc` columns of `pg_type` that hold a function's name.
const REGPROC_COLUMNS: [&str; 4] = ["typreceive", "typsend", "typinput", "typoutput"];

/// Aggregates whose result is already one row.
const AGGREGATES: [&str; 10] = [
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
    "every",
];

/// Rewrite `statement` in place; true when anything changed.
pub fn rewrite(statement: &mut Statement) -> bool {
    let mut changed = false;
    let _ = visit_expressions_mut(statement, |expr| {
        changed |= aggregate_catalog_lookup(expr) | compare_proc_by_name(expr);
        ControlFlow::<()>::Continue(())
    });
    changed
}

/// Rule 1: `(SELECT e FROM pg_x ... WHERE ...)` to `(SELECT max(e) ...)`.
fn aggregate_catalog_lookup(expr: &mut Expr) -> bool {
    let Expr::Subquery(query) = expr else {
        return false;
    };
    let SetExpr::Select(select) = query.body.as_mut() else {
        return false;
    };
    let reads_catalog = !select.from.is_empty()
        && select.from.iter().all(|t| {
            std::iter::once(&t.relation)
                .chain(t.joins.iter().map(|j| &j.relation))
                .all(is_catalog_table)
        });
    let grouped = match &select.group_by {
        datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
        _ => true,
    };
    if !reads_catalog || grouped || select.projection.len() != 1 {
        return false;
    }
    let item = &mut select.projection[0];
    let inner = match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
        _ => return false,
    };
    if let Expr::Function(f) = inner {
        let name = f.name.to_string().to_ascii_lowercase();
        if AGGREGATES.contains(&name.as_str()) {
            return false;
        }
    }
    let Ok(wrapped) = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(&format!("max({inner})"))
        .and_then(|mut p| p.parse_expr())
    else {
        return false;
    };
    *inner = wrapped;
    true
}

fn is_catalog_table(factor: &TableFactor) -> bool {
    match factor {
        TableFactor::Table { name, .. } => name
            .0
            .last()
            .and_then(|part| part.as_ident())
            .is_some_and(|ident| ident.value.to_ascii_lowercase().starts_with("pg_")),
        _ => false,
    }
}

/// Rule 2: `p.oid = t.typreceive` (either way round) to `p.proname = t.typreceive`.
fn compare_proc_by_name(expr: &mut Expr) -> bool {
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Eq,
        right,
    } = expr
    else {
        return false;
    };
    let (oid, _) = match (
        is_column(left, &["oid"]),
        is_column(right, &REGPROC_COLUMNS),
    ) {
        (true, true) => (left, right),
        _ => match (
            is_column(right, &["oid"]),
            is_column(left, &REGPROC_COLUMNS),
        ) {
            (true, true) => (right, left),
            _ => return false,
        },
    };
    if let Expr::CompoundIdentifier(parts) = oid.as_mut() {
        if let Some(last) = parts.last_mut() {
            *last = Ident::new("proname");
            return true;
        }
    }
    false
}

/// `alias.column` with column one of `names`.
fn is_column(expr: &Expr, names: &[&str]) -> bool {
    match expr {
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .is_some_and(|p| names.contains(&p.value.to_ascii_lowercase().as_str())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> (bool, String) {
        let mut statement = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0);
        let changed = rewrite(&mut statement);
        (changed, statement.to_string())
    }

    #[test]
    fn catalog_lookups_aggregate_and_regproc_joins_compare_names() {
        let (changed, sql) = rewritten(
            "SELECT CASE WHEN typ.typtype = 'm' THEN \
             (SELECT rngtypid FROM pg_range WHERE rngmultitypid = typ.oid) END \
             FROM pg_type AS typ LEFT JOIN pg_proc AS proc ON proc.oid = typ.typreceive",
        );
        assert!(changed);
        assert!(sql.contains("(SELECT max(rngtypid) FROM pg_range"), "{sql}");
        assert!(sql.contains("ON proc.proname = typ.typreceive"), "{sql}");
    }

    #[test]
    fn other_queries_are_left_alone() {
        for sql in [
            "SELECT (SELECT count(*) FROM pg_class) AS n",
            "SELECT (SELECT referral_id FROM referral LIMIT 1) AS r",
            "SELECT a.oid = b.oid FROM pg_class a, pg_class b",
        ] {
            assert_eq!(rewritten(sql), (false, sql.to_string()), "{sql}");
        }
    }
}
