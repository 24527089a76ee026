//! Charts as SQL relations: one view per chart with its default parameters
//! (`charts.<section>__<chart>`, the export's file name) and the table
//! function `chart('<section>/<chart>', 'name', 'value', ...)` for other
//! values. Both run the chart through [`Dashboard::run`] when the query
//! executes, so a served chart is the `cypdash run` result under the
//! server's disclosure policy, never the chart's SQL run around it.
//!
//! A relation's columns must be known when a query is planned, before the
//! chart runs: [`Charts::load`] runs every chart once with its defaults at
//! start and keeps each result's schema (a chart's columns do not depend on
//! its parameter values: the SQL is fixed and values are bound into it).

use crate::catalog::params;
use crate::dashboard::{Dashboard, GivenParams};
use crate::export::base_name;
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider, Session, TableFunctionImpl};
use datafusion::catalog::{TableFunctionArgs, TableProvider};
use datafusion::common::{plan_err, DataFusionError, Result};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::TableType;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The SQL name of the table function.
pub const FUNCTION: &str = "chart";

/// The schema holding one view per chart.
pub const SCHEMA: &str = "charts";

/// Every chart that ran with its defaults at start, with its result schema.
#[derive(Debug)]
pub struct Charts {
    dash: Arc<Dashboard>,
    /// Chart id to result schema.
    schemas: BTreeMap<String, SchemaRef>,
}

impl Charts {
    /// Run each chart once with its defaults; a chart that fails is left
    /// out and returned with its error (the server still starts).
    pub async fn load(dash: Arc<Dashboard>) -> (Self, Vec<(String, String)>) {
        let mut schemas = BTreeMap::new();
        let mut failed = Vec::new();
        let ids: Vec<String> = dash.catalog().charts().map(|c| c.id.clone()).collect();
        for id in ids {
            match dash.run(&id, &GivenParams::new()).await {
                Ok(result) => {
                    schemas.insert(id, result.schema);
                }
                Err(e) => failed.push((id, e.to_string())),
            }
        }
        (Self { dash, schemas }, failed)
    }

    pub fn len(&self) -> usize {
        self.schemas.len()
    }

    /// Register the `charts` schema and the `chart(...)` function.
    pub fn register(self: &Arc<Self>, ctx: &SessionContext) -> Result<()> {
        let schema = MemorySchemaProvider::new();
        for id in self.schemas.keys() {
            let table = self.table(id, GivenParams::new())?;
            let file = self.dash.catalog().chart(id).map_err(plan_error)?;
            schema.register_table(base_name(file), Arc::new(table))?;
        }
        ctx.catalog(super::DATABASE)
            .ok_or_else(|| DataFusionError::Plan("no cypdash catalogue".to_string()))?
            .register_schema(SCHEMA, Arc::new(schema))?;
        ctx.register_udtf(
            FUNCTION,
            Arc::new(ChartFunction {
                charts: Arc::clone(self),
            }),
        );
        Ok(())
    }

    /// A chart with given parameter values, checked against its header.
    fn table(self: &Arc<Self>, chart: &str, params: GivenParams) -> Result<ChartTable> {
        let file = self.dash.catalog().chart(chart).map_err(plan_error)?;
        params::bind_chart(file, &params).map_err(plan_error)?;
        let Some(schema) = self.schemas.get(&file.id) else {
            return plan_err!(
                "chart {} is not served: it failed with its defaults when the server started \
                 (see the server's log)",
                file.id
            );
        };
        Ok(ChartTable {
            charts: Arc::clone(self),
            chart: file.id.clone(),
            params,
            schema: Arc::clone(schema),
        })
    }
}

fn plan_error(e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Plan(e.to_string())
}

/// One chart with parameter values, run when scanned.
#[derive(Debug)]
struct ChartTable {
    charts: Arc<Charts>,
    chart: String,
    params: GivenParams,
    schema: SchemaRef,
}

#[async_trait]
impl TableProvider for ChartTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let result = self
            .charts
            .dash
            .run(&self.chart, &self.params)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        if result.schema.fields() != self.schema.fields() {
            return Err(DataFusionError::Execution(format!(
                "chart {} returned other columns than when the server started; restart the server",
                self.chart
            )));
        }
        let exec = MemorySourceConfig::try_new_exec(
            &[result.batches],
            Arc::clone(&self.schema),
            projection.cloned(),
        )?;
        Ok(exec)
    }
}

/// `chart('<section>/<chart>' [, 'name', 'value']...)`.
#[derive(Debug)]
struct ChartFunction {
    charts: Arc<Charts>,
}

impl TableFunctionImpl for ChartFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let texts = exprs
            .iter()
            .enumerate()
            .map(|(i, e)| match e {
                Expr::Literal(value, _) if !value.is_null() => Ok(value.to_string()),
                other => plan_err!(
                    "{FUNCTION}: argument {} must be a constant (a chart, then parameter names \
                     and values), got {other}",
                    i + 1
                ),
            })
            .collect::<Result<Vec<String>>>()?;
        let Some((chart, rest)) = texts.split_first() else {
            return plan_err!(
                "{FUNCTION} takes a chart and then parameter names and values: \
                 {FUNCTION}('outcomes/reliable_improvement', 'min_n', '10')"
            );
        };
        if rest.len() % 2 != 0 {
            return plan_err!(
                "{FUNCTION}('{chart}', ...): parameters come in pairs, name then value; \
                 `{}` has no value",
                rest[rest.len() - 1]
            );
        }
        let mut params = GivenParams::new();
        for pair in rest.chunks(2) {
            if params.insert(pair[0].clone(), pair[1].clone()).is_some() {
                return plan_err!("{FUNCTION}('{chart}', ...): `{}` is given twice", pair[0]);
            }
        }
        Ok(Arc::new(self.charts.table(chart, params)?))
    }
}
