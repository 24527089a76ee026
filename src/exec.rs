//! Ad hoc SQL over the dashboard's session (`cypdash sql`, the REPL):
//! statements parsed with DataFusion's parser, the shared building blocks
//! computed before the first statement that names one, and joins and
//! unnests made to yield so that a cancelled query stops.

use crate::catalog::SharedKind;
use crate::dashboard::Dashboard;
use anyhow::{anyhow, bail, Result};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::joins::{
    CrossJoinExec, HashJoinExec, NestedLoopJoinExec, PiecewiseMergeJoinExec, SortMergeJoinExec,
    SymmetricHashJoinExec,
};
use datafusion::physical_plan::unnest::UnnestExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::parser::{DFParser, Statement};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The result of one SQL statement.
#[derive(Debug, Clone)]
pub struct StatementResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

/// Split SQL text into statements (DataFusion's parser and dialect). A
/// syntax error reads `sql parser error: Expected: ..., found: ... at Line:
/// 1, Column: 1`.
pub fn parse_sql(dash: &Dashboard, sql: &str) -> Result<Vec<Statement>> {
    let state = dash.engine().ctx().state();
    let dialect_name = state.config().options().sql_parser.dialect;
    let dialect = datafusion::sql::sqlparser::dialect::dialect_from_str(dialect_name)
        .ok_or_else(|| anyhow!("unsupported SQL dialect {dialect_name}"))?;
    match DFParser::parse_sql_with_dialect(sql, dialect.as_ref()) {
        Ok(statements) => Ok(statements.into()),
        Err(DataFusionError::SQL(e, _)) => Err(anyhow!("{e}")),
        Err(e) => Err(e.into()),
    }
}

/// Names of the shared building blocks not yet registered in the session.
fn unprepared_shared(dash: &Dashboard) -> BTreeSet<String> {
    let ctx = dash.engine().ctx();
    dash.catalog()
        .shared()
        .filter(|b| !ctx.table_exist(b.name.as_str()).unwrap_or(false))
        .map(|b| b.name.to_ascii_lowercase())
        .collect()
}

/// Run one statement, computing first the shared blocks it names that are
/// not there yet, with what they read (not every block).
pub async fn execute_statement(dash: &Dashboard, statement: Statement) -> Result<StatementResult> {
    let ctx = dash.engine().ctx();
    let state = ctx.state();
    let named: BTreeSet<String> = state
        .resolve_table_references(&statement)?
        .iter()
        .map(|r| r.table().to_ascii_lowercase())
        .collect();
    if let Some(step) = dash
        .catalog()
        .shared()
        .find(|b| b.header.kind == Some(SharedKind::Step) && named.contains(&b.name))
    {
        let mut readers: Vec<&str> = dash
            .catalog()
            .readers_of(&step.name)
            .map(|r| r.name.as_str())
            .collect();
        let last = readers.pop().unwrap_or("the tables");
        let readers = match readers.is_empty() {
            true => last.to_string(),
            false => format!("{} or {last}", readers.join(", ")),
        };
        bail!(
            "`{}` is a step of the shared blocks, not kept as a table: query {}, built from \
             it (its SQL: queries/{}.sql)",
            step.name,
            readers,
            step.id
        );
    }
    let missing: BTreeSet<String> = unprepared_shared(dash)
        .intersection(&named)
        .cloned()
        .collect();
    if !missing.is_empty() {
        dash.prepare_for(&missing).await?;
    }
    let state = ctx.state();
    let plan = state.statement_to_plan(statement).await?;
    let df = ctx.execute_logical_plan(plan).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let (state, plan) = df.into_parts();
    let batches = DataFrame::new(yielding(state), plan).collect().await?;
    Ok(StatementResult { schema, batches })
}

/// The session state with [`YieldAfterRowMultipliers`] among its physical
/// optimizer rules, right after DataFusion's own `EnsureCooperative` (and
/// so before the dynamic filter pushdown, which must see the final plan).
pub(crate) fn yielding(state: SessionState) -> SessionState {
    let mut rules = state.physical_optimizers().to_vec();
    let at = rules
        .iter()
        .position(|r| r.name() == "EnsureCooperative")
        .map_or(rules.len(), |i| i + 1);
    rules.insert(at, Arc::new(YieldAfterRowMultipliers));
    SessionStateBuilder::new_from_existing(state)
        .with_physical_optimizer_rules(rules)
        .build()
}

/// A physical optimizer rule: a `CooperativeExec` above every operator
/// that may produce many batches per input batch (joins, unnest), so
/// that each batch it produces spends tokio's task budget and the task
/// yields every 128 batches, where a cancelled task stops. DataFusion
/// makes only scans and exchanges cooperative: a cross join fed by one
/// scan batch makes as many output batches as its build side has rows,
/// and the aggregate above it loops over them in a single poll.
#[derive(Debug)]
pub struct YieldAfterRowMultipliers;

impl YieldAfterRowMultipliers {
    fn multiplies_rows(plan: &dyn ExecutionPlan) -> bool {
        plan.is::<CrossJoinExec>()
            || plan.is::<NestedLoopJoinExec>()
            || plan.is::<HashJoinExec>()
            || plan.is::<SortMergeJoinExec>()
            || plan.is::<SymmetricHashJoinExec>()
            || plan.is::<PiecewiseMergeJoinExec>()
            || plan.is::<UnnestExec>()
    }
}

impl PhysicalOptimizerRule for YieldAfterRowMultipliers {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            Ok(if Self::multiplies_rows(node.as_ref()) {
                Transformed::yes(Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>)
            } else {
                Transformed::no(node)
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "YieldAfterRowMultipliers"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Run every statement of `sql` in order and collect their results.
pub async fn execute_sql(dash: &Dashboard, sql: &str) -> Result<Vec<StatementResult>> {
    let mut results = Vec::new();
    for statement in parse_sql(dash, sql)? {
        results.push(execute_statement(dash, statement).await?);
    }
    Ok(results)
}
