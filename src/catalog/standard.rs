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
//! An entry naming several gives a member its own keys under the member's
//! name, as TOML dotted keys:
//!
//! ```text
//! -- [[columns]]
//! -- use = ["unit", "category_share"]
//! -- category.description = "Age band"
//! ```
//!
//! A group is a list of names, or an entry of the same form: the names of
//! declarations or other groups in `use`, and the keys its members take
//! when it is named, so a set of columns that several charts share is
//! described once:
//!
//! ```toml
//! [groups.scale_change]
//! use = ["scale", "label", "sort_order", "n", "mean_t1", "mean_t2", "mean_change", "suppressed"]
//! n.description = "Paired cases of the unit on the scale (the denominator)"
//! ```
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
    /// `params` or `columns`, for errors.
    key: &'static str,
    /// Declarations by name, as TOML tables (checked when loaded).
    items: BTreeMap<String, toml::Table>,
    /// The order the items were declared in.
    order: Vec<String>,
    /// Each group's declarations, expanded (and checked) when loaded.
    groups: BTreeMap<String, Vec<toml::Table>>,
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
    /// A list of names, or an entry (`use` and its members' keys).
    #[serde(default)]
    groups: BTreeMap<String, toml::Value>,
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
            params: Set::parse(PARAMS_FILE, "params", params, |t| {
                ParamSpec::deserialize(t).map(|s| s.name)
            })?,
            columns: Set::parse(COLUMNS_FILE, "columns", columns, |t| {
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
                match entry.as_table().filter(|t| t.contains_key("use")) {
                    None => out.push(entry),
                    Some(table) => out.extend(
                        set.expand_entry(table)
                            .map_err(|m| header_err(file, m))?
                            .into_iter()
                            .map(toml::Value::Table),
                    ),
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
        key: &'static str,
        text: Option<&str>,
        check: impl Fn(toml::Table) -> Result<String, toml::de::Error>,
    ) -> Result<Self, CatalogError> {
        let mut set = Set {
            file,
            key,
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
        let mut entries = BTreeMap::new();
        for (group, value) in raw.groups {
            if set.items.contains_key(&group) {
                return Err(header_err(
                    file,
                    format!("group `{group}` has the name of a declaration"),
                ));
            }
            let entry = match value {
                toml::Value::Table(t) => t,
                names => toml::Table::from_iter([("use".to_string(), names)]),
            };
            entries.insert(group, entry);
        }
        for group in entries.keys() {
            set.expand_group(group, &entries, &mut Vec::new())
                .map_err(|m| header_err(file, m))?;
        }
        for (group, items) in &set.groups {
            for item in items {
                check(item.clone())
                    .map_err(|e| header_err(file, format!("group `{group}`: {e}")))?;
            }
        }
        Ok(set)
    }

    /// Expand group `name` (and first the groups it names) into `groups`.
    fn expand_group(
        &mut self,
        name: &str,
        entries: &BTreeMap<String, toml::Table>,
        within: &mut Vec<String>,
    ) -> Result<(), String> {
        if self.groups.contains_key(name) {
            return Ok(());
        }
        if within.iter().any(|g| g == name) {
            return Err(format!(
                "group `{name}` names itself ({})",
                within.join(" > ")
            ));
        }
        let entry = &entries[name];
        let names = entry
            .get("use")
            .and_then(use_names)
            .ok_or_else(|| format!("group `{name}` is a list of names, or a table with `use`"))?;
        within.push(name.to_string());
        for n in &names {
            if entries.contains_key(n) {
                self.expand_group(n, entries, within)?;
            } else if !self.items.contains_key(n) {
                return Err(format!(
                    "group `{name}` names `{n}`, which is not declared here"
                ));
            }
        }
        within.pop();
        let items = self
            .expand_entry(entry)
            .map_err(|m| format!("group `{name}`: {m}"))?;
        self.groups.insert(name.to_string(), items);
        Ok(())
    }

    /// The declarations an entry stands for: those its `use` names, in
    /// order, with the entry's own keys: a declaration's keys when it names
    /// one, or under a member's name (`n.description = "..."`).
    fn expand_entry(&self, entry: &toml::Table) -> Result<Vec<toml::Table>, String> {
        let key = self.key;
        let names = entry
            .get("use")
            .and_then(use_names)
            .ok_or_else(|| format!("[[{key}]] use is a name or a list of names"))?;
        let mut items = Vec::new();
        for name in &names {
            items.extend(self.resolve(name)?.into_iter().cloned());
        }
        for (k, v) in entry.iter().filter(|(k, _)| *k != "use") {
            let (target, keys) = match v {
                // A member's own keys.
                toml::Value::Table(keys) => {
                    let mut found = items.iter_mut().filter(|t| name_of(t) == k);
                    match (found.next(), found.next()) {
                        (Some(t), None) => (t, keys.clone()),
                        _ => {
                            return Err(format!(
                                "`{k}.…` names a member of `use` ({}): `{k}` is {}",
                                names.join(", "),
                                if items.iter().any(|t| name_of(t) == k) {
                                    "named more than once"
                                } else {
                                    "not one"
                                }
                            ))
                        }
                    }
                }
                // A key of the one declaration named.
                _ => {
                    if names.len() != 1 {
                        return Err(format!(
                            "a [[{key}]] entry that changes keys of a standard declaration \
                             names one (`use = \"n\"`), or gives them under the member's \
                             name (`n.description = \"...\"`)"
                        ));
                    }
                    if items.len() != 1 {
                        return Err(format!(
                            "`{}` is a group: its keys cannot be changed, only its \
                             members' (`{k}` under a member's name)",
                            names[0]
                        ));
                    }
                    let keys = toml::Table::from_iter([(k.clone(), v.clone())]);
                    (&mut items[0], keys)
                }
            };
            if keys.contains_key("name") {
                return Err(format!("`use = \"{}\"` keeps its name", name_of(target)));
            }
            target.extend(keys);
        }
        Ok(items)
    }

    /// The declarations a name stands for: a group's, or one.
    fn resolve(&self, name: &str) -> Result<Vec<&toml::Table>, String> {
        if let Some(items) = self.groups.get(name) {
            return Ok(items.iter().collect());
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

/// A declaration's name (checked when the file was loaded).
fn name_of(t: &toml::Table) -> &str {
    t.get("name").and_then(toml::Value::as_str).unwrap_or("")
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
[groups]
counts = ["x", "n"]

# A set: a group with the keys its members take, naming another group.
[groups.share]
use = ["counts", "suppressed"]
x.description = "Cases in the category"
n.unit = "referrals"

[[columns]]
name = "x"
type = "Int64"
role = "numerator"
of = "n"
description = "Cases"

[[columns]]
name = "n"
type = "Int64"
role = "denominator"
description = "All cases"

[[columns]]
name = "suppressed"
type = "Boolean"
role = "flag"
description = "Withheld"
"#;

    fn header(entries: &str) -> String {
        format!("-- title = \"T\"\n-- description = \"D\"\n{entries}\nselect 1")
    }

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
    fn members_take_the_keys_an_entry_or_a_group_gives_them() {
        let std = Standard::parse(Some(PARAMS), Some(COLUMNS)).unwrap();
        // A member's own keys under its name, in a header naming groups.
        let text = header(
            "-- [[params]]\n-- use = [\"period\", \"min_n\"]\n\
             -- period_end.description = \"Mine\"\n-- min_n = { default = \"10\" }",
        );
        let h = parse_header_with("who/x.sql", &text, &std).unwrap();
        let p: Vec<(&str, &str, &str)> = h
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.default.as_str(), p.description.as_str()))
            .collect();
        assert_eq!(
            p,
            [
                ("period_start", "auto", "First day"),
                ("period_end", "auto", "Mine"),
                ("min_n", "10", "Threshold")
            ]
        );
        // A set carries its members' keys; a header adds its own on top.
        let text = header("-- [[columns]]\n-- use = \"share\"\n-- n.description = \"Referrals\"");
        let h = parse_header_with("who/x.sql", &text, &std).unwrap();
        let c: Vec<(&str, &str, Option<&str>)> = h
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.description.as_str(), c.unit.as_deref()))
            .collect();
        assert_eq!(
            c,
            [
                ("x", "Cases in the category", None),
                ("n", "Referrals", Some("referrals")),
                ("suppressed", "Withheld", None)
            ]
        );
    }

    #[test]
    fn member_keys_name_a_member_and_groups_no_cycle() {
        let std = Standard::parse(Some(PARAMS), Some(COLUMNS)).unwrap();
        for (entry, says) in [
            (
                "-- [[params]]\n-- use = \"period\"\n-- min_n.default = \"3\"",
                "`min_n` is not one",
            ),
            (
                "-- [[params]]\n-- use = [\"period\", \"period_end\"]\n-- period_end.default = \"x\"",
                "named more than once",
            ),
            (
                "-- [[params]]\n-- use = \"period\"\n-- period_end.name = \"x\"",
                "keeps its name",
            ),
        ] {
            let e = parse_header_with("who/x.sql", &header(entry), &std)
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{entry}: {e}");
        }
        let cycle = format!("[groups]\na = [\"b\"]\nb = [\"a\"]\n{PARAMS}");
        let cycle = cycle.replacen("[groups]\nperiod", "period", 1);
        let e = Standard::parse(Some(&cycle), None).unwrap_err().to_string();
        assert!(e.contains("names itself (a > b)"), "{e}");
        let bad = format!("{COLUMNS}\n[groups.wrong]\nuse = \"n\"\nn.role = \"size\"\n");
        let e = Standard::parse(None, Some(&bad)).unwrap_err().to_string();
        assert!(
            e.starts_with("_columns.toml: bad header: group `wrong`: "),
            "{e}"
        );
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
