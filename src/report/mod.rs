//! The rendered dashboard: one self-contained HTML file with an SVG chart,
//! a discussion box and a data table for every chart of the catalogue.
//!
//! Every number on the page comes from a chart query's result
//! ([`Dashboard::run`]); the funnel limit lines come from the SQL function
//! `funnel_limits`, so the report never recomputes a statistic itself.
//!
//! ```no_run
//! # async fn demo(dashboard: &cypdash::dashboard::Dashboard) -> Result<(), cypdash::report::ReportError> {
//! use cypdash::report::{render, ReportOptions};
//! let options = ReportOptions { partnership: Some(3), ..ReportOptions::default() };
//! let html = render(dashboard, &options).await?;
//! std::fs::write("dashboard.html", html).expect("writable");
//! # Ok(()) }
//! ```
//!
//! Modules: [`svg`] (markup writer, scales, paths), [`frame`] (results as
//! values), `funnel`, `bars`, `change`, `grid`, `national` (the chart kinds),
//! [`discussion`] (the generic discussion box and the cover texts; each
//! chart's own is its `.md`) and `html` (the page). What the report knows of a
//! chart (its kind, order, metrics and their names, cover figures) is in the
//! chart's header (`crate::catalog::meta`): no chart is named here.

mod bars;
mod change;
pub mod discussion;
pub mod frame;
mod funnel;
mod grid;
mod html;
mod national;
mod reader;
pub mod svg;

use crate::catalog::params::{self, Binder, ParamError};
use crate::catalog::{Discussion, MetricSpec, QueryFile};
use crate::dashboard::{Dashboard, GivenParams, Resolved, RunError};
use datafusion::error::DataFusionError;
use datafusion::scalar::ScalarValue;
use frame::{Frame, Row};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The unit the charts compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    /// Partnerships (the paper dashboard).
    #[default]
    Partnership,
    /// Services (teams), usually inside one partnership.
    Service,
}

impl Level {
    /// The value of the charts' `level` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Partnership => "partnership",
            Level::Service => "service",
        }
    }

    /// How a unit is named in text.
    pub fn noun(self) -> &'static str {
        match self {
            Level::Partnership => "partnership",
            Level::Service => "team",
        }
    }

    fn id_column(self) -> &'static str {
        match self {
            Level::Partnership => "partnership_id",
            Level::Service => "service_id",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "partnership" => Ok(Level::Partnership),
            "service" | "team" => Ok(Level::Service),
            other => Err(format!(
                "unknown level `{other}`: use `partnership` or `service`"
            )),
        }
    }
}

/// What to render.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Page title (default: "CYP IAPT dashboard").
    pub title: Option<String>,
    /// Compare only this collaborative's partnerships (the charts'
    /// `collaborative` parameter; `None`: all).
    pub collaborative: Option<String>,
    /// At partnership level: the partnership to highlight. At service
    /// level: the partnership whose teams are compared (the charts'
    /// `partnership` parameter).
    pub partnership: Option<i64>,
    /// At service level: the team (service id) to highlight.
    pub service: Option<i64>,
    /// Partnerships or teams.
    pub level: Level,
    /// Further chart parameters (`name=value`), each applied to every chart
    /// that declares it. `level`, `collaborative` and `partnership` are set
    /// from the fields above, which win over the same names here.
    pub params: GivenParams,
}

impl ReportOptions {
    /// The unit id to highlight at this level.
    pub fn highlight(&self) -> Option<i64> {
        match self.level {
            Level::Partnership => self.partnership,
            Level::Service => self.service,
        }
    }

    fn title(&self) -> String {
        self.title
            .clone()
            .unwrap_or_else(|| "CYP IAPT dashboard".to_string())
    }

    /// The parameters for one chart: those it declares.
    pub fn params_for(&self, file: &QueryFile) -> GivenParams {
        let mut given = self.params.clone();
        given.insert("level".to_string(), self.level.as_str().to_string());
        if let Some(c) = &self.collaborative {
            given.insert("collaborative".to_string(), c.clone());
        }
        if let (Level::Service, Some(p)) = (self.level, self.partnership) {
            given.insert("partnership".to_string(), p.to_string());
        }
        params::taken_by(file, &given)
    }
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("funnel limit lines of chart `{chart}`: {source}")]
    Curve {
        chart: String,
        source: DataFusionError,
    },
    #[error("{noun} {id} is not among the compared {noun}s ({})", if known.is_empty() { "none".to_string() } else { known.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(", ") })]
    UnknownUnit {
        noun: &'static str,
        id: i64,
        known: Vec<i64>,
    },
}

pub use crate::catalog::ChartKind;

/// `n = 12`, or `n withheld` where disclosure control withheld it.
pub(crate) fn n_text(n: Option<i64>) -> String {
    n.map_or_else(|| "n withheld".to_string(), |n| format!("n = {n}"))
}

/// What stands in for a withheld value: withheld, with its n when shown.
pub(crate) fn withheld_text(n: Option<i64>) -> String {
    match n {
        Some(n) => format!("withheld (n = {n})"),
        None => "withheld (small numbers)".to_string(),
    }
}

/// One chart, run.
#[derive(Debug, Clone)]
pub(crate) struct Ran {
    pub file: QueryFile,
    pub kind: ChartKind,
    pub frame: Frame,
    pub params: Resolved,
    /// The funnel limit lines, per headline metric (funnels only).
    pub curves: Vec<funnel::Curve>,
    /// Why the chart has no rows (the data cannot answer it).
    pub note: Option<String>,
    /// Its discussion box (`queries/<section>/<chart>.md`).
    pub discussion: Option<Discussion>,
    /// What the catalogue's other charts declare, for the names of
    /// metrics and charts a chart reports or mentions (the benchmark).
    pub known: std::sync::Arc<Known>,
}

/// Facts of every chart of the catalogue.
#[derive(Debug, Clone, Default)]
pub(crate) struct Known {
    /// Every declared metric.
    pub metrics: Vec<MetricSpec>,
    /// Chart ids and their titles.
    pub titles: Vec<(String, String)>,
}

impl Ran {
    /// A resolved parameter as text (dates as ISO text).
    pub fn param_text(&self, name: &str) -> Option<String> {
        self.params.get(name).map(scalar_text)
    }

    pub fn param_f64(&self, name: &str) -> Option<f64> {
        match self.params.get(name)? {
            ScalarValue::Float64(v) => *v,
            ScalarValue::Int64(v) => v.map(|i| i as f64),
            _ => None,
        }
    }

    /// The declared unit of an output column.
    pub fn unit_of(&self, column: &str) -> Option<&str> {
        self.file
            .header
            .columns
            .iter()
            .find(|c| c.name == column)
            .and_then(|c| c.unit.as_deref())
    }

    /// The declaration of a metric code: the chart's own, or another's.
    pub fn metric(&self, code: &str) -> Option<&MetricSpec> {
        self.file
            .header
            .metrics
            .iter()
            .chain(self.known.metrics.iter())
            .find(|m| m.code == code)
    }

    /// How the report names a metric code: its declared label, else the
    /// code in words.
    pub fn metric_label(&self, code: &str) -> String {
        self.metric(code)
            .map_or_else(|| code_in_words(code), |m| m.label.clone())
    }

    /// The title of a chart of the catalogue.
    pub fn chart_title(&self, id: &str) -> Option<&str> {
        self.known
            .titles
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, t)| t.as_str())
    }

    /// A column's declared description, in the reader's words (see
    /// [`reader`]).
    pub fn description_of(&self, column: &str) -> Option<String> {
        self.file
            .header
            .columns
            .iter()
            .find(|c| c.name == column)
            .map(|c| self.reader(&c.description))
    }
}

/// Text of a parameter value.
fn scalar_text(v: &ScalarValue) -> String {
    match v {
        ScalarValue::Date32(Some(d)) => crate::catalog::format_date(*d),
        ScalarValue::Utf8(Some(s)) => s.clone(),
        other => other.to_string(),
    }
}

/// Who is who on the page: the level and the highlighted unit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Units {
    pub level: Level,
    pub highlight: Option<i64>,
}

impl Units {
    /// The unit id of a row (None on the All row).
    pub fn id(&self, row: &Row) -> Option<i64> {
        row.i64(self.level.id_column())
            .or_else(|| row.i64("partnership_id"))
    }

    pub fn is_all(&self, row: &Row) -> bool {
        row.i64("partnership_id").is_none() && row.i64("service_id").is_none()
    }

    pub fn is_highlight(&self, row: &Row) -> bool {
        self.highlight.is_some() && self.id(row) == self.highlight && !self.is_all(row)
    }

    /// Short label of a row's unit: its number, or `All`.
    pub fn label(&self, row: &Row) -> String {
        match self.id(row) {
            Some(id) if !self.is_all(row) => id.to_string(),
            _ => "All".to_string(),
        }
    }

    /// Long label: `Partnership 3 (North A)`.
    pub fn long_label(&self, row: &Row) -> String {
        if self.is_all(row) {
            return "All compared".to_string();
        }
        let noun = match self.level {
            Level::Partnership => "Partnership",
            Level::Service => "Team",
        };
        match (self.id(row), row.str("unit_name")) {
            (Some(id), Some(name)) => format!("{noun} {id} ({name})"),
            (Some(id), None) => format!("{noun} {id}"),
            _ => noun.to_string(),
        }
    }
}

/// Render the dashboard as one self-contained HTML page.
///
/// Runs every chart of the catalogue (in dashboard order) with the options'
/// parameters, draws each, and adds the cover, the section progress
/// indicator, a discussion box and a data table per chart, and the key to
/// partnership numbers at the end.
pub async fn render(dashboard: &Dashboard, options: &ReportOptions) -> Result<String, ReportError> {
    // Every given parameter is taken by some chart, as its declared type.
    Binder::catalogue(dashboard.catalog().charts()).bind(&options.params)?;
    let units = Units {
        level: options.level,
        highlight: options.highlight(),
    };
    let catalog = dashboard.catalog();
    let known = std::sync::Arc::new(Known {
        metrics: catalog
            .charts()
            .flat_map(|c| c.header.metrics.iter().cloned())
            .collect(),
        titles: catalog
            .charts()
            .map(|c| (c.id.clone(), c.header.title.clone()))
            .collect(),
    });
    let mut ran = Vec::new();
    for file in catalog.charts().cloned() {
        let given = options.params_for(&file);
        let result = dashboard.run(&file.id, &given).await?;
        let frame = Frame::from_batches(&result.batches);
        let kind = ChartKind::of(&file);
        let discussion = catalog.discussion(&file.id).cloned();
        let mut chart = Ran {
            file,
            kind,
            frame,
            params: result.params,
            curves: Vec::new(),
            note: result.note,
            discussion,
            known: std::sync::Arc::clone(&known),
        };
        if kind == ChartKind::Funnel {
            chart.curves = funnel::curves(dashboard, &chart).await?;
        }
        ran.push(chart);
    }
    check_highlight(&ran, &units)?;
    Ok(html::page(
        &ran,
        catalog.sections(),
        &units,
        options,
        dashboard.policy(),
    ))
}

/// The highlighted unit must be one of the compared units.
fn check_highlight(ran: &[Ran], units: &Units) -> Result<(), ReportError> {
    let Some(id) = units.highlight else {
        return Ok(());
    };
    let mut known = BTreeSet::new();
    for chart in ran.iter().filter(|c| c.kind != ChartKind::Key) {
        for row in chart.frame.iter() {
            if !units.is_all(&row) {
                if let Some(u) = row.i64(units.level.id_column()) {
                    known.insert(u);
                }
            }
        }
    }
    if known.is_empty() || known.contains(&id) {
        Ok(())
    } else {
        Err(ReportError::UnknownUnit {
            noun: units.level.noun(),
            id,
            known: known.into_iter().collect(),
        })
    }
}

/// How a value of a column reads: percent, or a number of decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// A proportion 0-1 shown as a percentage.
    Proportion,
    /// A percentage 0-100.
    Percent,
    /// A number with this many decimals.
    Decimals(usize),
}

impl Format {
    /// From a column's declared unit.
    pub fn of_unit(unit: Option<&str>) -> Self {
        match unit {
            Some(u) if u.starts_with("proportion") => Format::Proportion,
            Some(u) if u.starts_with("percent") => Format::Percent,
            Some(u) if u.starts_with("standard deviation") => Format::Decimals(2),
            _ => Format::Decimals(1),
        }
    }

    pub fn text(self, v: f64) -> String {
        match self {
            Format::Proportion => format!("{:.1}%", v * 100.0),
            Format::Percent => format!("{v:.1}%"),
            Format::Decimals(d) => format!("{v:.d$}"),
        }
    }

    /// Axis tick text: ticks `step` apart, each with the decimals the step
    /// needs in the unit shown (a step of 0.025 as a percentage: 2.5%).
    pub fn tick(self, v: f64, step: f64) -> String {
        match self {
            Format::Proportion => {
                let d = svg::step_decimals(step * 100.0);
                format!("{:.d$}%", v * 100.0)
            }
            Format::Percent => {
                let d = svg::step_decimals(step);
                format!("{v:.d$}%")
            }
            Format::Decimals(_) => {
                let d = svg::step_decimals(step);
                format!("{v:.d$}")
            }
        }
    }
}

/// A metric code in words, for a code no chart header names:
/// `new_metric` reads "New metric".
pub fn code_in_words(metric: &str) -> String {
    reader::heading(metric)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn every_catalogue_chart_declares_how_it_is_drawn() {
        let catalog = Catalog::embedded().unwrap();
        for chart in catalog.charts() {
            let meta = chart.header.chart.as_ref();
            assert!(
                meta.and_then(|m| m.order).is_some(),
                "{} declares no [chart] order",
                chart.id
            );
            let kind = ChartKind::of(chart);
            assert!(
                kind != ChartKind::Table || chart.section == "key" || kind == ChartKind::Key,
                "{} is drawn as a table only",
                chart.id
            );
        }
    }

    #[test]
    fn options_apply_only_declared_params() {
        let catalog = Catalog::embedded().unwrap();
        let mut options = ReportOptions {
            level: Level::Service,
            partnership: Some(4),
            collaborative: Some("North".to_string()),
            ..ReportOptions::default()
        };
        options
            .params
            .insert("informant".to_string(), "self".to_string());
        options
            .params
            .insert("level".to_string(), "partnership".to_string());
        // Charts picked by what they declare: one with an informant and the
        // unit parameters, one without an informant, one without a level.
        let takes = |c: &&QueryFile, name: &str| c.param(name).is_some();
        let with = catalog
            .charts()
            .find(|c| takes(c, "informant") && takes(c, "level") && takes(c, "partnership"))
            .unwrap();
        let given = options.params_for(with);
        assert_eq!(given["informant"], "self");
        assert_eq!(given["level"], "service", "the level field wins");
        assert_eq!(given["partnership"], "4");
        assert_eq!(given["collaborative"], "North");
        let without = catalog.charts().find(|c| !takes(c, "informant")).unwrap();
        assert!(!options.params_for(without).contains_key("informant"));
        let no_level = catalog.charts().find(|c| !takes(c, "level")).unwrap();
        assert!(!options.params_for(no_level).contains_key("level"));
    }

    #[test]
    fn levels_parse() {
        assert_eq!("Service".parse::<Level>(), Ok(Level::Service));
        assert_eq!("partnership".parse::<Level>(), Ok(Level::Partnership));
        assert!("ward".parse::<Level>().is_err());
    }

    #[test]
    fn formats_follow_declared_units() {
        assert_eq!(
            Format::of_unit(Some("proportion (0-1)")).text(0.4567),
            "45.7%"
        );
        assert_eq!(
            Format::of_unit(Some("percent (0-100)")).text(45.67),
            "45.7%"
        );
        assert_eq!(
            Format::of_unit(Some("standard deviations")).text(0.456),
            "0.46"
        );
        assert_eq!(Format::of_unit(Some("score (0-40)")).text(14.25), "14.2");
        assert_eq!(Format::Proportion.tick(0.2, 0.2), "20%");
        assert_eq!(Format::Proportion.tick(0.175, 0.025), "17.5%");
        assert_eq!(Format::Decimals(1).tick(17.5, 2.5), "17.5");
        assert_eq!(Format::Decimals(1).tick(20.0, 2.5), "20.0");
        assert_eq!(Format::Percent.tick(50.0, 25.0), "50%");
        assert_eq!(code_in_words("new_metric"), "New metric");
    }
}
