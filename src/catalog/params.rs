//! The parameter binder: the one place where chart parameters given as
//! text (`--param name=value` on the command line, `\set` and `\run CHART
//! name=value` in the REPL, the report's options) become typed values for
//! the charts that declare them, or one [`ParamError`].
//!
//! In two steps, after ripgrep's low-level and high-level arguments:
//! 1. [`parse_args`]: `name=value` strings to [`GivenParams`] (syntax only);
//! 2. [`Binder::bind`]: each name checked against the charts' headers and
//!    each value parsed as its declared type, giving a [`Bound`] per chart;
//!    then [`resolve`] fills in a chart's defaults and checks the rules
//!    between its values ([`check_rules`]).
//!
//! Who must declare a name depends on what was selected ([`Scope`]): one
//! chart (`run`, `\run`) must declare every name given to it; among several
//! charts (`export`, `dashboard`, the report, `\set`), each name goes to
//! the charts that declare it ([`taken_by`]) and is an error only if none
//! does.

use super::funnel::{KindSource, COVERAGES};
use super::{format_date, ParamType, QueryFile};
use cypdash_udfs::funnel::funnel_limits::Coverage;
use cypdash_udfs::funnel::FunnelKind;
use datafusion::common::ParamValues;
use datafusion::scalar::ScalarValue;
use std::collections::BTreeMap;
use std::fmt;

/// Parameter values as given by a user: `name=value` pairs, as text.
pub type GivenParams = BTreeMap<String, String>;

/// Where a parameter was looked for, which decides how a name no chart
/// declares is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One chart, by id: it must declare every name.
    Chart(String),
    /// The charts an export selected.
    Selection,
    /// Every chart of the catalogue (the report, the REPL's `\set`).
    Catalogue,
}

/// A rule between parameter values that their types cannot state.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// `min_n` must be 1 or more.
    MinN(i64),
    /// `period_start` must not be after `period_end` (day numbers).
    Period { start: i32, end: i32 },
    /// A funnel coverage (`coverage_inner`, `coverage_outer`) must be a
    /// percentage `funnel_limits` takes.
    Coverage { name: String, value: f64 },
    /// The parameter a `[funnel]` chart takes its kind from must name a
    /// `funnel_limits` kind.
    FunnelKind { name: String, value: String },
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::MinN(m) => write!(
                f,
                "min_n must be 1 or more (it is {m}); min_n = 1 withholds nothing under the \
                 corc policy, and `--sdc none` switches disclosure control off"
            ),
            Rule::Period { start, end } => write!(
                f,
                "period_start {} is after period_end {}",
                format_date(*start),
                format_date(*end)
            ),
            Rule::Coverage { name, value } => write!(
                f,
                "{name} must be a percentage strictly between 0 and 100 (it is {value})"
            ),
            Rule::FunnelKind { name, value } => write!(
                f,
                "{name} `{value}` is not a funnel_limits kind ({})",
                FunnelKind::names()
            ),
        }
    }
}

/// Why given parameters cannot be bound.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// Not `name=value`.
    #[error("parameter `{0}` should be given as name=value")]
    Syntax(String),
    /// No chart in scope declares the name.
    #[error("{}", undeclared(.name, .scope, .known))]
    Undeclared {
        name: String,
        scope: Scope,
        /// The names the charts in scope declare, in header order for one
        /// chart, sorted otherwise.
        known: Vec<String>,
    },
    /// The value does not parse as the declared type.
    #[error("parameter `{name}` of chart `{chart}`: `{value}` is not a valid {ty}: {reason}")]
    BadValue {
        chart: String,
        name: String,
        ty: ParamType,
        value: String,
        reason: String,
    },
    /// The values break a rule between them.
    #[error("chart `{chart}`: {rule}")]
    Rule { chart: String, rule: Rule },
}

fn undeclared(name: &str, scope: &Scope, known: &[String]) -> String {
    let list = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    match scope {
        Scope::Chart(chart) => {
            format!("chart `{chart}` has no parameter `{name}`; it takes: {list}")
        }
        Scope::Selection => {
            format!("no chart in the selection takes parameter `{name}`; they take: {list}")
        }
        Scope::Catalogue => {
            format!("no chart takes parameter `{name}`; the charts take: {list}")
        }
    }
}

/// Parse `name=value` arguments (spaces around either are dropped).
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<GivenParams, ParamError> {
    args.iter()
        .map(|a| {
            let a = a.as_ref();
            a.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| ParamError::Syntax(a.to_string()))
        })
        .collect()
}

/// The given parameters a chart takes: those it declares.
pub fn taken_by(chart: &QueryFile, given: &GivenParams) -> GivenParams {
    given
        .iter()
        .filter(|(name, _)| chart.param(name).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Given parameters bound to one chart: the text of those it takes and
/// their typed values, in header order.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub chart: String,
    pub given: GivenParams,
    pub values: Vec<(String, ScalarValue)>,
}

/// Checks given parameters against a set of charts.
#[derive(Debug, Clone)]
pub struct Binder<'a> {
    charts: Vec<&'a QueryFile>,
    scope: Scope,
}

impl<'a> Binder<'a> {
    /// One chart, which must declare every name given.
    pub fn chart(chart: &'a QueryFile) -> Self {
        Self {
            scope: Scope::Chart(chart.id.clone()),
            charts: vec![chart],
        }
    }

    /// Several charts: each name must be declared by at least one; each
    /// chart takes the names it declares.
    pub fn selection(charts: impl IntoIterator<Item = &'a QueryFile>) -> Self {
        Self {
            charts: charts.into_iter().collect(),
            scope: Scope::Selection,
        }
    }

    /// Every chart of the catalogue, as [`Binder::selection`].
    pub fn catalogue(charts: impl IntoIterator<Item = &'a QueryFile>) -> Self {
        Self {
            charts: charts.into_iter().collect(),
            scope: Scope::Catalogue,
        }
    }

    /// Check every given name and value: one [`Bound`] per chart, in the
    /// binder's order.
    pub fn bind(&self, given: &GivenParams) -> Result<Vec<Bound>, ParamError> {
        self.check_names(given)?;
        self.charts
            .iter()
            .map(|chart| bound(chart, taken_by(chart, given)))
            .collect()
    }

    /// Every given name must be declared by a chart in scope.
    fn check_names(&self, given: &GivenParams) -> Result<(), ParamError> {
        for name in given.keys() {
            if !self.charts.iter().any(|c| c.param(name).is_some()) {
                return Err(ParamError::Undeclared {
                    name: name.clone(),
                    scope: self.scope.clone(),
                    known: self.known(),
                });
            }
        }
        Ok(())
    }

    /// The names the charts declare: one chart's in header order, several
    /// charts' sorted and once each.
    fn known(&self) -> Vec<String> {
        let mut known: Vec<String> = self
            .charts
            .iter()
            .flat_map(|c| c.header.params.iter().map(|p| p.name.clone()))
            .collect();
        if !matches!(self.scope, Scope::Chart(_)) {
            known.sort();
            known.dedup();
        }
        known
    }
}

/// One chart's values, checked as [`Binder::chart`] does.
pub fn bind_chart(chart: &QueryFile, given: &GivenParams) -> Result<Bound, ParamError> {
    Binder::chart(chart).check_names(given)?;
    bound(chart, given.clone())
}

/// The typed values of the parameters a chart takes, in header order.
fn bound(chart: &QueryFile, given: GivenParams) -> Result<Bound, ParamError> {
    let mut values = Vec::with_capacity(given.len());
    for spec in &chart.header.params {
        if let Some(value) = given.get(&spec.name) {
            values.push((spec.name.clone(), typed(chart, &spec.name, spec.ty, value)?));
        }
    }
    let bound = Bound {
        chart: chart.id.clone(),
        given,
        values,
    };
    // The rules the given values break on their own fail here, before any
    // chart runs; [`resolve`] checks them again with the defaults.
    check_rules(
        chart,
        &Resolved {
            values: bound.values.clone(),
        },
    )?;
    Ok(bound)
}

/// One value parsed as its declared type.
fn typed(
    chart: &QueryFile,
    name: &str,
    ty: ParamType,
    value: &str,
) -> Result<ScalarValue, ParamError> {
    ty.parse(value).map_err(|reason| ParamError::BadValue {
        chart: chart.id.clone(),
        name: name.to_string(),
        ty,
        value: value.to_string(),
        reason,
    })
}

/// The values a chart runs with, in header order.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub values: Vec<(String, ScalarValue)>,
}

impl Resolved {
    pub fn get(&self, name: &str) -> Option<&ScalarValue> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The values as DataFusion binds them to `$name` placeholders.
    pub fn param_values(&self) -> ParamValues {
        ParamValues::from(self.values.clone())
    }
}

/// True when the chart takes a parameter whose default is `auto` (the
/// period from the data's dates) and it was not given.
pub fn needs_period(chart: &QueryFile, bound: &Bound) -> bool {
    chart
        .header
        .params
        .iter()
        .any(|p| p.default == "auto" && !bound.given.contains_key(&p.name))
}

/// A chart's values: those bound, the header's defaults for the rest
/// (`auto` takes `period`, the first and last day of the data's default
/// period, which [`needs_period`] says is needed), then the rules between
/// them checked.
pub fn resolve(
    chart: &QueryFile,
    bound: &Bound,
    period: Option<(i32, i32)>,
) -> Result<Resolved, ParamError> {
    let mut values = Vec::with_capacity(chart.header.params.len());
    for spec in &chart.header.params {
        let value = match bound.values.iter().find(|(n, _)| *n == spec.name) {
            Some((_, v)) => v.clone(),
            None if spec.default == "auto" => {
                let (start, end) = period.ok_or_else(|| ParamError::BadValue {
                    chart: chart.id.clone(),
                    name: spec.name.clone(),
                    ty: spec.ty,
                    value: spec.default.clone(),
                    reason: "the default period comes from the data's dates, not read here"
                        .to_string(),
                })?;
                let day = if spec.name == "period_start" {
                    start
                } else {
                    end
                };
                ScalarValue::Date32(Some(day))
            }
            None => spec
                .ty
                .parse(&spec.default)
                .map_err(|reason| ParamError::BadValue {
                    chart: chart.id.clone(),
                    name: spec.name.clone(),
                    ty: spec.ty,
                    value: spec.default.clone(),
                    reason: format!("bad default in the header: {reason}"),
                })?,
        };
        values.push((spec.name.clone(), value));
    }
    let resolved = Resolved { values };
    check_rules(chart, &resolved)?;
    Ok(resolved)
}

/// The rules on a chart's values that their types cannot state. The
/// funnel rules ask `funnel_limits`' own checks, so that a bad value is
/// named before any data is read rather than by the SQL function.
pub fn check_rules(chart: &QueryFile, resolved: &Resolved) -> Result<(), ParamError> {
    let broken = |rule| ParamError::Rule {
        chart: chart.id.clone(),
        rule,
    };
    if let Some(ScalarValue::Int64(Some(m))) = resolved.get("min_n") {
        if *m < 1 {
            return Err(broken(Rule::MinN(*m)));
        }
    }
    if let (Some(ScalarValue::Date32(Some(s))), Some(ScalarValue::Date32(Some(e)))) =
        (resolved.get("period_start"), resolved.get("period_end"))
    {
        if s > e {
            return Err(broken(Rule::Period { start: *s, end: *e }));
        }
    }
    for (name, _) in COVERAGES {
        if let Some(ScalarValue::Float64(Some(value))) = resolved.get(name) {
            if Coverage::from_percent(*value).is_none() {
                return Err(broken(Rule::Coverage {
                    name: name.to_string(),
                    value: *value,
                }));
            }
        }
    }
    let kind_param = chart
        .header
        .funnel
        .as_ref()
        .and_then(|f| match f.kind_source() {
            Ok(KindSource::Param(name)) => Some(name),
            _ => None,
        });
    if let Some(name) = kind_param {
        if let Some(ScalarValue::Utf8(Some(value))) = resolved.get(name) {
            if FunnelKind::parse(value).is_none() {
                return Err(broken(Rule::FunnelKind {
                    name: name.to_string(),
                    value: value.clone(),
                }));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{parse_date, parse_header};

    /// A chart declaring the given `(name, type, default)` parameters.
    fn chart(id: &str, params: &[(&str, &str, &str)]) -> QueryFile {
        let mut text = "-- title = \"T\"\n-- description = \"D\"\n".to_string();
        for (name, ty, default) in params {
            text.push_str(&format!(
                "--\n-- [[params]]\n-- name = \"{name}\"\n-- type = \"{ty}\"\n\
                 -- default = \"{default}\"\n-- description = \"d\"\n"
            ));
        }
        text.push_str("--\n-- [[columns]]\n-- name = \"x\"\n-- type = \"Int64\"\n-- description = \"x\"\nselect 1 as x");
        let (section, name) = id.split_once('/').unwrap();
        QueryFile {
            id: id.to_string(),
            section: section.to_string(),
            name: name.to_string(),
            header: parse_header(&format!("{id}.sql"), &text).unwrap(),
            sql: text,
            path: None,
        }
    }

    fn given(pairs: &[&str]) -> GivenParams {
        parse_args(pairs).unwrap()
    }

    fn key() -> QueryFile {
        chart(
            "key/units",
            &[
                ("min_n", "int", "5"),
                ("period_start", "date", "auto"),
                ("period_end", "date", "auto"),
            ],
        )
    }

    fn who() -> QueryFile {
        chart(
            "who/mix",
            &[("scale", "float", "0.5"), ("min_n", "int", "5")],
        )
    }

    #[test]
    fn arguments_need_a_name_and_an_equals_sign() {
        let p = given(&["min_n=3", " level = service ", "label=a=b"]);
        assert_eq!(p["min_n"], "3");
        assert_eq!(p["level"], "service");
        assert_eq!(p["label"], "a=b", "only the first `=` splits");
        assert_eq!(
            parse_args(&["min_n"]),
            Err(ParamError::Syntax("min_n".to_string()))
        );
        assert_eq!(
            parse_args(&["=3"]),
            Err(ParamError::Syntax("=3".to_string()))
        );
    }

    #[test]
    fn one_chart_must_declare_every_name() {
        let c = key();
        let err = Binder::chart(&c).bind(&given(&["scale=2"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "chart `key/units` has no parameter `scale`; it takes: min_n, period_start, period_end"
        );
    }

    #[test]
    fn among_several_charts_one_declaring_the_name_is_enough() {
        let (k, w) = (key(), who());
        let bound = Binder::selection([&k, &w])
            .bind(&given(&["scale=2", "min_n=3"]))
            .unwrap();
        assert_eq!(
            bound[0].given,
            given(&["min_n=3"]),
            "key/units takes no scale"
        );
        assert_eq!(bound[1].given, given(&["scale=2", "min_n=3"]));
        // Typed, in header order (who/mix declares scale before min_n).
        assert_eq!(
            bound[1].values,
            vec![
                ("scale".to_string(), ScalarValue::Float64(Some(2.0))),
                ("min_n".to_string(), ScalarValue::Int64(Some(3))),
            ]
        );
        let err = Binder::selection([&k, &w])
            .bind(&given(&["level=service"]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no chart in the selection takes parameter `level`; they take: min_n, period_end, \
             period_start, scale"
        );
        let err = Binder::catalogue([&k, &w])
            .bind(&given(&["level=service"]))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("no chart takes parameter `level`; the charts take: min_n,"),
            "{err}"
        );
    }

    #[test]
    fn a_value_must_parse_as_its_declared_type_for_every_chart_taking_it() {
        let (k, w) = (key(), who());
        let err = Binder::selection([&k, &w])
            .bind(&given(&["min_n=five"]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter `min_n` of chart `key/units`: `five` is not a valid int: expected a whole number"
        );
        let err = Binder::chart(&k)
            .bind(&given(&["period_end=2024-02-30"]))
            .unwrap_err();
        assert!(
            matches!(
                err,
                ParamError::BadValue {
                    ty: ParamType::Date,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn defaults_fill_what_was_not_given() {
        let (k, w) = (key(), who());
        let bound = &Binder::chart(&w).bind(&given(&["min_n=2"])).unwrap()[0];
        assert!(!needs_period(&w, bound));
        let r = resolve(&w, bound, None).unwrap();
        assert_eq!(r.get("scale"), Some(&ScalarValue::Float64(Some(0.5))));
        assert_eq!(r.get("min_n"), Some(&ScalarValue::Int64(Some(2))));
        // `auto` takes the data's period, which must then be known.
        let bound = &Binder::chart(&k)
            .bind(&given(&["period_end=2024-03-31"]))
            .unwrap()[0];
        assert!(needs_period(&k, bound), "period_start defaults to auto");
        assert!(resolve(&k, bound, None).is_err());
        let (start, end) = (
            parse_date("2023-04-01").unwrap(),
            parse_date("2024-06-30").unwrap(),
        );
        let r = resolve(&k, bound, Some((start, end))).unwrap();
        assert_eq!(
            r.get("period_start"),
            Some(&ScalarValue::Date32(Some(start)))
        );
        assert_eq!(
            r.get("period_end"),
            Some(&ScalarValue::Date32(parse_date("2024-03-31"))),
            "a given value wins over auto"
        );
    }

    /// Bind then resolve one chart's values, the data's period being 2024.
    fn run(c: &QueryFile, pairs: &[&str]) -> Result<Resolved, ParamError> {
        let period = (
            parse_date("2024-01-01").unwrap(),
            parse_date("2024-12-31").unwrap(),
        );
        resolve(c, &bind_chart(c, &given(pairs))?, Some(period))
    }

    #[test]
    fn min_n_must_be_at_least_one() {
        let k = key();
        for (min_n, ok) in [("1", true), ("0", false), ("-3", false)] {
            let got = run(&k, &[&format!("min_n={min_n}")]);
            assert_eq!(got.is_ok(), ok, "min_n={min_n}: {got:?}");
        }
        assert!(run(&k, &["min_n=0"])
            .unwrap_err()
            .to_string()
            .starts_with("chart `key/units`: min_n must be 1 or more (it is 0)"));
    }

    #[test]
    fn the_period_must_not_end_before_it_starts() {
        let k = key();
        assert_eq!(
            run(&k, &["period_start=2025-03-31", "period_end=2024-04-01"])
                .unwrap_err()
                .to_string(),
            "chart `key/units`: period_start 2025-03-31 is after period_end 2024-04-01"
        );
        // Against the data's period too: it ends 2024-12-31.
        assert_eq!(
            run(&k, &["period_start=2025-03-31"])
                .unwrap_err()
                .to_string(),
            "chart `key/units`: period_start 2025-03-31 is after period_end 2024-12-31"
        );
        // One day is a period.
        assert!(run(&k, &["period_start=2024-04-01", "period_end=2024-04-01"]).is_ok());
    }

    /// A value that breaks a rule on its own fails when it is bound, so an
    /// export stops before it runs any chart; one that breaks it only
    /// with a default fails when the chart's values are resolved.
    #[test]
    fn rules_apply_when_binding_as_far_as_the_given_values_go() {
        let (k, w) = (key(), who());
        let err = Binder::selection([&k, &w])
            .bind(&given(&["min_n=0"]))
            .unwrap_err();
        assert!(
            matches!(
                err,
                ParamError::Rule {
                    rule: Rule::MinN(0),
                    ..
                }
            ),
            "{err}"
        );
        assert!(Binder::chart(&k)
            .bind(&given(&["period_start=2025-03-31"]))
            .is_ok());
    }

    #[test]
    fn funnel_coverages_are_percentages_strictly_between_0_and_100() {
        let c = chart(
            "outcomes/f",
            &[
                ("coverage_inner", "float", "95"),
                ("coverage_outer", "float", "99.8"),
            ],
        );
        for (pair, ok) in [
            ("coverage_inner=50", true),
            ("coverage_outer=99.99", true),
            ("coverage_inner=0", false),
            ("coverage_inner=100", false),
            ("coverage_outer=150", false),
        ] {
            let got = run(&c, &[pair]);
            assert_eq!(got.is_ok(), ok, "{pair}: {got:?}");
        }
        assert_eq!(
            run(&c, &["coverage_outer=150"]).unwrap_err().to_string(),
            "chart `outcomes/f`: coverage_outer must be a percentage strictly between 0 and \
             100 (it is 150)"
        );
    }

    /// The demo catalogue's funnel charts whose kind is a parameter: a
    /// value that is not a `funnel_limits` kind is an error naming it.
    #[test]
    fn a_funnel_kind_parameter_names_a_funnel_limits_kind() {
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        let charts: Vec<(&QueryFile, &str)> = catalog
            .charts()
            .filter_map(|c| match c.header.funnel.as_ref()?.kind_source() {
                Ok(KindSource::Param(name)) => Some((c, name)),
                _ => None,
            })
            .collect();
        assert!(
            !charts.is_empty(),
            "no chart takes its funnel kind from a parameter"
        );
        for (c, name) in charts {
            assert!(run(c, &[&format!("{name}=proportion")]).is_ok(), "{}", c.id);
            let err = run(c, &[&format!("{name}=bogus")]).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "chart `{}`: {name} `bogus` is not a funnel_limits kind (",
                    c.id
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn a_bad_default_in_a_header_names_the_header() {
        let c = chart("who/bad", &[("scale", "float", "lots")]);
        let bound = &Binder::chart(&c).bind(&GivenParams::new()).unwrap()[0];
        let err = resolve(&c, bound, None).unwrap_err().to_string();
        assert!(err.contains("bad default in the header"), "{err}");
    }

    #[test]
    fn a_chart_takes_only_the_names_it_declares() {
        let w = who();
        assert_eq!(
            taken_by(&w, &given(&["scale=1", "level=x"])),
            given(&["scale=1"])
        );
    }
}
