//! Standard parameters and output columns, declared once (issue 11).
//!
//! `queries/_params.toml` and `queries/_columns.toml` each hold a list of
//! full declarations and named groups of them:
//!
//! ```toml
//! [groups]
//! period = ["period_start", "period_end"]
//!
//! [[params]]
//! name = "period_start"
//! type = "date"
//! default = "auto"
//! description = "First day of the reporting period"
//! ```
//!
//! A header names them in place of a declaration, by group or by name,
//! and keeps its own declarations for the rest; the order of the entries
//! is the order `describe` prints:
//!
//! ```text
//! -- [[params]]
//! -- use = ["period", "units", "min_n"]
//! --
//! -- [[params]]
//! -- name = "informant"
//! -- ...
//! ```
//!
//! An entry naming one declaration may change some of its keys (its own
//! description, say): `use = "n"` with `description = "Referrals ..."`.
//!
//! The references are expanded before the header is read, so everything
//! downstream (`describe`, parameter binding, disclosure control) sees the
//! full declarations, exactly as if the header had written them out.

use super::{CatalogError, ColumnSpec, ParamSpec};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The file of standard parameters, under `queries/`.
pub const PARAMS_FILE: &str = "_params.toml";
/// The file of standard output columns, under `queries/`.
pub const COLUMNS_FILE: &str = "_columns.toml";

/// One file of standard declarations.
#[derive(Debug, Clone, Default)]
struct Set {
    /// Where it was read from, for errors (`_params.toml`).
    file: &'static str,
    /// Declarations by name, as TOML tables (checked when loaded).
    items: BTreeMap<String, toml::Table>,
    /// The order the items were declared in.
    order: Vec<String>,
    groups: BTreeMap<String, Vec<String>>,
}

/// The standard parameters and columns a header may name.
#[derive(Debug, Clone, Default)]
pub struct Standard {
    params: Set,
    columns: Set,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    #[serde(default)]
    groups: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    params: Vec<toml::Table>,
    #[serde(default)]
    columns: Vec<toml::Table>,
}

impl Standard {
    /// Read the two files' texts (`None`: the file is absent, nothing is
    /// standard).
    pub fn parse(params: Option<&str>, columns: Option<&str>) -> Result<Self, CatalogError> {
        Ok(Self {
            params: Set::parse(PARAMS_FILE, params, |t| {
                ParamSpec::deserialize(t).map(|s| s.name)
            })?,
            columns: Set::parse(COLUMNS_FILE, columns, |t| {
                ColumnSpec::deserialize(t).map(|s| s.name)
            })?,
        })
    }

    /// The names of the standard parameters, in declaration order.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.params.order.iter().map(String::as_str)
    }

    /// Replace every `use` entry of the header's `params` and `columns`
    /// arrays by the declarations it names.
    pub(super) fn expand(&self, file: &str, header: &mut toml::Table) -> Result<(), CatalogError> {
        for (key, set) in [("params", &self.params), ("columns", &self.columns)] {
            let Some(entries) = header.get_mut(key) else {
                continue;
            };
            let toml::Value::Array(entries) = entries else {
                continue; // the header's own type error is reported when it is read
            };
            let mut out = Vec::with_capacity(entries.len());
            for entry in entries.drain(..) {
                match entry.as_table().and_then(|t| t.get("use")) {
                    None => out.push(entry),
                    Some(uses) => {
                        let table = entry.as_table().expect("a table");
                        let names = use_names(uses).ok_or_else(|| {
                            header_err(file, format!("[[{key}]] use is a name or a list of names"))
                        })?;
                        let overrides: Vec<(&String, &toml::Value)> =
                            table.iter().filter(|(k, _)| *k != "use").collect();
                        if !overrides.is_empty() && names.len() != 1 {
                            return Err(header_err(
                                file,
                                format!(
                                    "a [[{key}]] entry that changes keys of a standard declaration \
                                     names one (`use = \"n\"`)"
                                ),
                            ));
                        }
                        for name in names {
                            let items = set.resolve(&name).map_err(|m| header_err(file, m))?;
                            if !overrides.is_empty() && items.len() != 1 {
                                return Err(header_err(
                                    file,
                                    format!("`{name}` is a group: its keys cannot be changed"),
                                ));
                            }
                            for item in items {
                                let mut item = item.clone();
                                for (k, v) in &overrides {
                                    if *k == "name" {
                                        return Err(header_err(
                                            file,
                                            format!("`use = \"{name}\"` keeps its name"),
                                        ));
                                    }
                                    item.insert(k.to_string(), (*v).clone());
                                }
                                out.push(toml::Value::Table(item));
                            }
                        }
                    }
                }
            }
            *entries = out;
        }
        Ok(())
    }
}

impl Set {
    fn parse(
        file: &'static str,
        text: Option<&str>,
        check: impl Fn(toml::Table) -> Result<String, toml::de::Error>,
    ) -> Result<Self, CatalogError> {
        let mut set = Set {
            file,
            ..Set::default()
        };
        let Some(text) = text else {
            return Ok(set);
        };
        let raw: RawSet = toml::from_str(text).map_err(|e| header_err(file, e.to_string()))?;
        let (tables, other) = if file == PARAMS_FILE {
            (raw.params, raw.columns)
        } else {
            (raw.columns, raw.params)
        };
        if !other.is_empty() {
            return Err(header_err(
                file,
                "holds either [[params]] (_params.toml) or [[columns]] (_columns.toml)".to_string(),
            ));
        }
        for table in tables {
            let name = check(table.clone()).map_err(|e| header_err(file, e.to_string()))?;
            if set.items.insert(name.clone(), table).is_some() {
                return Err(header_err(file, format!("`{name}` is declared twice")));
            }
            set.order.push(name);
        }
        for (group, names) in &raw.groups {
            if set.items.contains_key(group) {
                return Err(header_err(
                    file,
                    format!("group `{group}` has the name of a declaration"),
                ));
            }
            if let Some(n) = names.iter().find(|n| !set.items.contains_key(*n)) {
                return Err(header_err(
                    file,
                    format!("group `{group}` names `{n}`, which is not declared here"),
                ));
            }
        }
        set.groups = raw.groups;
        Ok(set)
    }

    /// The declarations a name stands for: a group's, or one.
    fn resolve(&self, name: &str) -> Result<Vec<&toml::Table>, String> {
        if let Some(names) = self.groups.get(name) {
            return Ok(names.iter().map(|n| &self.items[n]).collect());
        }
        self.items.get(name).map(|t| vec![t]).ok_or_else(|| {
            let mut known: Vec<&str> = self.groups.keys().map(String::as_str).collect();
            known.extend(self.order.iter().map(String::as_str));
            format!(
                "`use` names `{name}`, which is neither a group nor a declaration of {} ({})",
                self.file,
                if known.is_empty() {
                    "none there".to_string()
                } else {
                    known.join(", ")
                }
            )
        })
    }
}

fn use_names(v: &toml::Value) -> Option<Vec<String>> {
    match v {
        toml::Value::String(s) => Some(vec![s.clone()]),
        toml::Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

fn header_err(file: &str, message: String) -> CatalogError {
    CatalogError::Header {
        file: file.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_header_with;
    use super::*;

    const PARAMS: &str = r#"
[groups]
period = ["period_start", "period_end"]

[[params]]
name = "period_start"
type = "date"
default = "auto"
description = "First day"

[[params]]
name = "period_end"
type = "date"
default = "auto"
description = "Last day"

[[params]]
name = "min_n"
type = "int"
default = "5"
description = "Threshold"
"#;

    const COLUMNS: &str = r#"
[[columns]]
name = "suppressed"
type = "Boolean"
role = "flag"
description = "Withheld"
"#;

    #[test]
    fn references_expand_in_place_by_group_or_name() {
        let std = Standard::parse(Some(PARAMS), Some(COLUMNS)).unwrap();
        let text = "-- title = \"T\"\n-- description = \"D\"\n\
            -- [[params]]\n-- name = \"informant\"\n-- type = \"text\"\n-- default = \"self\"\n-- description = \"i\"\n\
            -- [[params]]\n-- use = [\"period\", \"min_n\"]\n\
            -- [[columns]]\n-- use = \"suppressed\"\nselect 1";
        let h = parse_header_with("who/x.sql", text, &std).unwrap();
        let names: Vec<&str> = h.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["informant", "period_start", "period_end", "min_n"]);
        assert_eq!(h.params[3].default, "5");
        // One declaration with its own description (and default).
        let text = "-- title = \"T\"\n-- description = \"D\"\n\
            -- [[params]]\n-- use = \"min_n\"\n-- default = \"10\"\n-- description = \"Mine\"\nselect 1";
        let own = parse_header_with("who/x.sql", text, &std).unwrap();
        let p = &own.params[0];
        assert_eq!(
            (
                p.name.as_str(),
                p.ty,
                p.default.as_str(),
                p.description.as_str()
            ),
            ("min_n", super::super::ParamType::Int, "10", "Mine")
        );
        assert_eq!(h.columns[0].name, "suppressed");
    }

    #[test]
    fn bad_references_name_the_file_and_the_name() {
        let std = Standard::parse(Some(PARAMS), None).unwrap();
        let text = "-- title = \"T\"\n-- description = \"D\"\n-- [[params]]\n-- use = [\"periods\"]\nselect 1";
        let e = parse_header_with("who/x.sql", text, &std)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("who/x.sql: bad header: `use` names `periods`"),
            "{e}"
        );
        assert!(e.contains("period, "), "{e}");
        for (entry, says) in [
            ("-- use = \"min_n\"\n-- name = \"x\"", "keeps its name"),
            ("-- use = \"period\"\n-- default = \"x\"", "is a group"),
            (
                "-- use = [\"min_n\", \"period\"]\n-- default = \"x\"",
                "names one",
            ),
        ] {
            let text = format!(
                "-- title = \"T\"\n-- description = \"D\"\n-- [[params]]\n{entry}\nselect 1"
            );
            let e = parse_header_with("who/x.sql", &text, &std)
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{entry}: {e}");
        }
        let e = Standard::parse(Some("[groups]\nall = [\"nope\"]\n"), None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "_params.toml: bad header: group `all` names `nope`, which is not declared here"
        );
        let e = Standard::parse(
            Some(
                "[[params]]\nname = \"a\"\ntype = \"day\"\ndefault = \"x\"\ndescription = \"d\"\n",
            ),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("_params.toml: bad header: "), "{e}");
        assert!(e.contains("day"), "{e}");
    }
}
