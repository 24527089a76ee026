//! A funnel chart's declaration: the `[funnel]` table of its header
//! (issue 17).
//!
//! ```text
//! -- [funnel]
//! -- kind = "$funnel_kind"   # a funnel_limits kind, or `$name`: the chart parameter holding it
//! -- group = ["metric"]      # the columns the chart's funnels are drawn per (none: one funnel)
//! -- spread = "spread"       # the column holding sigma (mean) or r (effect_size)
//! -- tau2 = "tau2"           # the column holding the additive overdispersion
//! ```
//!
//! A chart that declares it is a funnel chart: its rows hold the funnel
//! columns ([`FUNNEL_COLUMNS`]), the centre, spread and tau2 are the same on
//! every row of a group, and each unit's limits are
//! `funnel_limits(kind, centre, n, coverage, spread, tau2)` at the chart's
//! coverage parameters ([`COVERAGES`]); a chart without a spread column
//! passes 0 (kinds that take no spread ignore it), one without a tau2 column
//! passes 0. `export` writes the limit curves of each group from this
//! declaration (`src/export/limits.rs`), and the catalogue checks it here.
//! The spread and tau2 columns are `derived` from the centre, so disclosure
//! control withholds them wherever it withholds the centre.

use super::{CatalogError, ParamType, QueryFile, Role};
use cypdash_udfs::funnel::FunnelKind;
use serde::Deserialize;

/// The columns every funnel chart has (`docs/definitions.md`, "Funnels").
pub const FUNNEL_COLUMNS: [&str; 7] = [
    "value",
    "n",
    "centre",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
];

/// The coverage parameters of the inner (`lower_95`, `upper_95`) and outer
/// (`lower_998`, `upper_998`) limits, with the level used when a chart does
/// not declare the parameter (the columns keep these defaults' names).
pub const COVERAGES: [(&str, f64); 2] = [("coverage_inner", 95.0), ("coverage_outer", 99.8)];

/// The `[funnel]` table of a chart header.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelSpec {
    /// A `funnel_limits` kind (`mean`, `proportion_exact`, ...), or
    /// `$name`: the chart's text parameter that holds it.
    pub kind: String,
    /// The columns a funnel is drawn per (metric, rater, ...): the rows with
    /// the same values of them are one funnel. Empty: the chart is one funnel.
    #[serde(default)]
    pub group: Vec<String>,
    /// The column holding the spread (`mean`: sigma; `effect_size`: r).
    #[serde(default)]
    pub spread: Option<String>,
    /// The column holding the additive overdispersion tau2.
    #[serde(default)]
    pub tau2: Option<String>,
}

/// Where a funnel chart's kind comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindSource<'a> {
    /// Written in the declaration.
    Fixed(FunnelKind),
    /// The value of this chart parameter.
    Param(&'a str),
}

impl FunnelSpec {
    /// The kind, or the parameter holding it (`Err`: an unknown kind name).
    pub fn kind_source(&self) -> Result<KindSource<'_>, String> {
        match self.kind.trim().strip_prefix('$') {
            Some(param) => Ok(KindSource::Param(param)),
            None => FunnelKind::parse(&self.kind)
                .map(KindSource::Fixed)
                .ok_or_else(|| {
                    format!(
                        "[funnel] kind `{}` is not a funnel_limits kind ({}) nor a `$parameter`",
                        self.kind,
                        FunnelKind::names()
                    )
                }),
        }
    }
}

/// A funnel chart's declaration is complete and consistent with its columns
/// and parameters.
pub(super) fn check(chart: &QueryFile) -> Result<(), CatalogError> {
    let Some(spec) = &chart.header.funnel else {
        return Ok(());
    };
    let err = |message: String| CatalogError::Header {
        file: format!("{}.sql", chart.id),
        message,
    };
    let column = |name: &str| chart.header.columns.iter().find(|c| c.name == name);
    for name in FUNNEL_COLUMNS {
        if column(name).is_none() {
            return Err(err(format!(
                "a [funnel] chart has the funnel columns ({}); `{name}` is not declared",
                FUNNEL_COLUMNS.join(", ")
            )));
        }
    }
    match spec.kind_source().map_err(err)? {
        KindSource::Param(p) => {
            if chart.param(p).map(|s| s.ty) != Some(ParamType::Text) {
                return Err(err(format!(
                    "[funnel] kind names `${p}`, which is not a declared text parameter"
                )));
            }
        }
        KindSource::Fixed(kind) => {
            if kind.uses_spread() != spec.spread.is_some() {
                return Err(err(format!(
                    "[funnel] kind `{kind}` {} a `spread` column",
                    if kind.uses_spread() {
                        "needs"
                    } else {
                        "takes no"
                    }
                )));
            }
        }
    }
    for name in &spec.group {
        if column(name).and_then(|c| c.role) != Some(Role::Key) {
            return Err(err(format!(
                "[funnel] group names `{name}`, which is not a declared key column"
            )));
        }
    }
    for (what, name) in [("spread", &spec.spread), ("tau2", &spec.tau2)] {
        let Some(name) = name else { continue };
        let ok = column(name).is_some_and(|c| {
            c.ty == "Float64"
                && c.role == Some(Role::Derived)
                && c.from.iter().any(|f| f == "centre")
        });
        if !ok {
            return Err(err(format!(
                "[funnel] {what} names `{name}`, which must be a declared Float64 column with \
                 role `derived` from the centre (so that it is withheld with it)"
            )));
        }
    }
    for (name, _) in COVERAGES {
        if let Some(p) = chart.param(name) {
            if p.ty != ParamType::Float {
                return Err(err(format!(
                    "parameter `{name}` of a [funnel] chart is a float"
                )));
            }
        }
    }
    if chart.header.sdc.as_ref().is_none_or(|s| s.unit.is_empty()) {
        return Err(err(
            "a [funnel] chart declares its unit columns in [sdc] unit (the All row, with \
             every unit column NULL, has no limits)"
                .to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{parse_header, Catalog};
    use super::*;

    fn chart(funnel: &str) -> QueryFile {
        let mut text = String::from("-- title = \"T\"\n-- description = \"D\"\n");
        for (name, ty) in [("funnel_kind", "text"), ("min_n", "int")] {
            text.push_str(&format!(
                "-- [[params]]\n-- name = \"{name}\"\n-- type = \"{ty}\"\n-- default = \"x\"\n-- description = \"p\"\n"
            ));
        }
        for (name, role) in [
            ("unit_id", "role = \"key\""),
            ("metric", "role = \"key\""),
            ("value", "role = \"mean\"\n-- of = \"n\""),
            ("n", "role = \"denominator\""),
            ("centre", "role = \"centre\"\n-- of = \"value\""),
            ("spread", "role = \"derived\"\n-- from = [\"centre\"]"),
            ("lower_95", "role = \"derived\"\n-- from = [\"n\"]"),
            ("upper_95", "role = \"derived\"\n-- from = [\"n\"]"),
            ("lower_998", "role = \"derived\"\n-- from = [\"n\"]"),
            ("upper_998", "role = \"derived\"\n-- from = [\"n\"]"),
        ] {
            let ty = if role.contains("key") || name == "n" {
                "Int64"
            } else {
                "Float64"
            };
            text.push_str(&format!(
                "-- [[columns]]\n-- name = \"{name}\"\n-- type = \"{ty}\"\n-- {role}\n-- description = \"c\"\n"
            ));
        }
        text.push_str("-- [sdc]\n-- unit = [\"unit_id\"]\n");
        for line in funnel.lines() {
            text.push_str(&format!("-- {line}\n"));
        }
        text.push_str("select 1");
        QueryFile {
            id: "who/f".to_string(),
            section: "who".to_string(),
            name: "f".to_string(),
            header: parse_header("who/f.sql", &text).unwrap(),
            sql: text,
            path: None,
        }
    }

    #[test]
    fn a_declaration_is_checked_against_the_columns_and_parameters() {
        let ok = [
            "[funnel]\nkind = \"mean\"\nspread = \"spread\"",
            "[funnel]\nkind = \"$funnel_kind\"\ngroup = [\"metric\"]",
            "[funnel]\nkind = \"proportion_exact\"\ntau2 = \"spread\"",
        ];
        for f in ok {
            check(&chart(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
        for (f, says) in [
            ("[funnel]\nkind = \"mean\"", "needs a `spread` column"),
            (
                "[funnel]\nkind = \"poisson\"",
                "is not a funnel_limits kind",
            ),
            (
                "[funnel]\nkind = \"$kind\"",
                "not a declared text parameter",
            ),
            (
                "[funnel]\nkind = \"$min_n\"",
                "not a declared text parameter",
            ),
            (
                "[funnel]\nkind = \"proportion\"\ngroup = [\"value\"]",
                "not a declared key column",
            ),
            (
                "[funnel]\nkind = \"effect_size\"\nspread = \"value\"",
                "role `derived` from the centre",
            ),
        ] {
            let e = check(&chart(f)).unwrap_err().to_string();
            assert!(e.starts_with("who/f.sql: bad header: "), "{e}");
            assert!(e.contains(says), "{f}: {e}");
        }
    }

    /// Every embedded chart with the funnel columns and a centre declares
    /// its funnel, so that `export` writes its limit curves.
    #[test]
    fn every_chart_with_funnel_columns_declares_its_funnel() {
        let catalog = Catalog::embedded().unwrap();
        let mut funnels = 0;
        for c in catalog.charts() {
            let has_all = FUNNEL_COLUMNS
                .iter()
                .all(|n| c.header.columns.iter().any(|col| col.name == *n));
            assert_eq!(
                has_all,
                c.header.funnel.is_some(),
                "{}: funnel columns without [funnel], or the reverse",
                c.id
            );
            funnels += usize::from(has_all);
        }
        assert!(funnels >= 9, "{funnels} funnel charts");
    }
}
