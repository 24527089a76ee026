//! The chart catalogue: query files, their headers and their parameters.
//!
//! Every chart is one file `queries/<section>/<chart>.sql`. It starts with a
//! header in `--` comments holding TOML:
//!
//! ```text
//! -- title = "Gender"
//! -- description = "In-scope referrals by gender."
//! --
//! -- [[params]]
//! -- name = "period_end"
//! -- type = "date"
//! -- default = "auto"
//! -- description = "Last day of the reporting period"
//! --
//! -- [[columns]]
//! -- name = "partnership_id"
//! -- type = "Int64"
//! -- description = "The partnership (NULL on the All row)"
//! ```
//!
//! Files under `queries/_shared/` are building blocks the charts read: they
//! carry a `kind` of `table` (computed once per session and kept in memory),
//! `view` (a plain view) or `bound_view` (a view whose `$parameters` are
//! bound to each chart's values before the chart runs).
//!
//! A funnel chart also declares how its funnels are drawn in a `[funnel]`
//! table ([`funnel`]), from which `export` writes its limit curves.

use datafusion::scalar::ScalarValue;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/queries.rs"));

pub mod funnel;
pub mod meta;
pub mod params;
pub mod standard;

pub use meta::{ChartKind, Discussion, MetricSpec, Section};

/// The folder of shared building blocks under `queries/`.
pub const SHARED_DIR: &str = "_shared";

/// The type of a chart parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    Date,
    Int,
    Float,
    Text,
    Bool,
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamType::Date => "date",
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::Text => "text",
            ParamType::Bool => "bool",
        })
    }
}

impl ParamType {
    /// Parse a value given on the command line (or as a default).
    pub fn parse(self, value: &str) -> Result<ScalarValue, String> {
        let v = value.trim();
        match self {
            ParamType::Date => parse_date(v)
                .map(|d| ScalarValue::Date32(Some(d)))
                .ok_or_else(|| "expected a date as YYYY-MM-DD".to_string()),
            ParamType::Int => v
                .parse::<i64>()
                .map(|i| ScalarValue::Int64(Some(i)))
                .map_err(|_| "expected a whole number".to_string()),
            ParamType::Float => v
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| ScalarValue::Float64(Some(f)))
                .ok_or_else(|| "expected a number".to_string()),
            ParamType::Text => Ok(ScalarValue::Utf8(Some(v.to_string()))),
            ParamType::Bool => match v.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(ScalarValue::Boolean(Some(true))),
                "false" | "no" | "0" => Ok(ScalarValue::Boolean(Some(false))),
                _ => Err("expected true or false".to_string()),
            },
        }
    }
}

/// Days since 1970-01-01 of an ISO date `YYYY-MM-DD`, checking the calendar.
pub fn parse_date(s: &str) -> Option<i32> {
    let mut parts = s.splitn(3, '-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if s.len() != 10 || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// The ISO text of a day number (inverse of [`parse_date`]).
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy as i32;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i32::from(m <= 2);
    (y, m, d)
}

/// One declared parameter.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// The default as text; `auto` for the period parameters means "the 12
    /// months up to the latest date in the data".
    pub default: String,
    pub description: String,
}

/// One declared output column.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub name: String,
    /// Arrow type name as DataFusion prints it: Int64, Float64, Utf8, Boolean, Date32.
    #[serde(rename = "type")]
    pub ty: String,
    pub description: String,
    /// Units, where the column has them.
    #[serde(default)]
    pub unit: Option<String>,
    /// When the column is NULL.
    #[serde(default)]
    pub null_when: Option<String>,
    /// What the column holds, for disclosure control (charts only; see
    /// [`Role`] and `src/disclosure.rs`).
    #[serde(default)]
    pub role: Option<Role>,
    /// The denominator column (`numerator`, `proportion`, `mean`) or, for a
    /// `centre`, the column of the total row it repeats.
    #[serde(default)]
    pub of: Option<String>,
    /// `proportion`: the count column it is computed from; without one the
    /// count it implies is `value / scale * denominator`. A row where that
    /// count column is NULL holds a value that is not a proportion (a mean):
    /// only the denominator rule applies to it.
    #[serde(default)]
    pub count: Option<String>,
    /// `proportion`: 1 for a share 0-1 (the default), 100 for a percentage.
    #[serde(default)]
    pub scale: Option<f64>,
    /// `derived`: the columns it is computed from; withheld when any is.
    #[serde(default)]
    pub from: Vec<String>,
    /// `derived`: the column is itself rounded by NHS England's publication
    /// rule (a published figure), so under `mhsds` it gives no exact count
    /// back and is not withheld for coming from a rounded count.
    #[serde(default)]
    pub rounds: bool,
}

impl ColumnSpec {
    /// The column's disclosure role in words, e.g. `proportion of n (count x)`.
    pub fn role_text(&self) -> String {
        let Some(role) = self.role else {
            return String::new();
        };
        let mut text = role.name().to_string();
        if let Some(of) = &self.of {
            text.push_str(if role == Role::Centre {
                " (the All row's "
            } else {
                " of "
            });
            text.push_str(of);
            if role == Role::Centre {
                text.push(')');
            }
        }
        if let Some(count) = &self.count {
            text.push_str(&format!(" (count {count})"));
        }
        if !self.from.is_empty() {
            text.push_str(&format!(" from {}", self.from.join(", ")));
        }
        text
    }
}

/// The role of a chart's output column in disclosure control: which rule of
/// the policy applies to it (`docs/definitions.md`, "Disclosure control").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Identifies or labels the row (ids, names, categories, sort order,
    /// counts of teams): never withheld.
    Key,
    /// A count of people or cases standing alone.
    Count,
    /// A count of people or cases that other columns of the row are over.
    Denominator,
    /// A count of the cases of a denominator that meet a condition.
    Numerator,
    /// A share of a denominator (0-1, or 0-100 with `scale = 100`).
    Proportion,
    /// A mean or other statistic over a denominator's cases.
    Mean,
    /// Computed from other columns (funnel limits, position, standard
    /// errors): withheld when any of them is.
    Derived,
    /// A funnel centre: the total row's value, repeated on every row of
    /// its series; withheld everywhere when it is withheld there.
    Centre,
    /// `suppressed`: true when the policy withheld a value of the row.
    Flag,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Key => "key",
            Role::Count => "count",
            Role::Denominator => "denominator",
            Role::Numerator => "numerator",
            Role::Proportion => "proportion",
            Role::Mean => "mean",
            Role::Derived => "derived",
            Role::Centre => "centre",
            Role::Flag => "flag",
        }
    }

    /// Whether the column holds a count of people or cases.
    pub fn is_count(self) -> bool {
        matches!(self, Role::Count | Role::Denominator | Role::Numerator)
    }
}

/// How a chart's rows relate, for secondary suppression (the `[sdc]` table
/// of a chart header).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SdcSpec {
    /// The columns that identify a compared unit; the row where all are
    /// NULL is the total (`All`) row. Default: [`UNIT_COLUMNS`], the key
    /// columns of the standard `unit` group; `unit = []` for a chart
    /// without them.
    #[serde(default = "unit_columns")]
    pub unit: Vec<String>,
    /// The columns that tell a unit's rows apart (metric, category, item);
    /// a series is the rows with the same values of them.
    #[serde(default)]
    pub series: Vec<String>,
    /// Count columns (or proportions without a count column, by the count
    /// they imply) whose values over the units of a series add up to the
    /// total row's.
    #[serde(default)]
    pub across: Vec<String>,
    /// The total row of a series when it is not the row with every unit
    /// column NULL: `[column, value]`, e.g. `["breakdown", "all"]`.
    #[serde(default)]
    pub total_when: Option<[String; 2]>,
    /// With `across`: the rows of a series add up to its total row within
    /// each value of this column (e.g. `breakdown`: the partnerships, the
    /// teams and the age bands each add up to the all-data row).
    #[serde(default)]
    pub parts: Option<String>,
    /// Further additive groups within a row or a unit.
    #[serde(default)]
    pub sums: Vec<SumSpec>,
}

/// The compared unit's key columns: the `[sdc] unit` of a chart that names
/// none.
pub const UNIT_COLUMNS: [&str; 2] = ["partnership_id", "service_id"];

fn unit_columns() -> Vec<String> {
    UNIT_COLUMNS.map(String::from).to_vec()
}

/// Cells that add up to a total.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SumSpec {
    /// The cell columns (counts, or proportions by the count they imply).
    pub cells: Vec<String>,
    /// The column holding their total.
    pub total: String,
    /// `row`: the cells of one row add up to its total; `unit`: the cells
    /// of one column over all rows of a unit add up to the unit's total
    /// (the same value on each of its rows).
    pub over: SumOver,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SumOver {
    Row,
    Unit,
}

/// What kind of shared building block a `_shared` file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SharedKind {
    /// Computed once per session and kept in memory.
    Table,
    /// A plain view, planned into each query that reads it.
    View,
    /// Materialised per binding of its `$parameters`.
    BoundView,
    /// An intermediate table: computed once, read only by `table` blocks
    /// of later stages, and dropped when the session's tables are built
    /// (it holds memory no chart needs).
    Step,
}

/// A query file's header.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub title: String,
    pub description: String,
    /// Shared blocks only: how the block is registered.
    #[serde(default)]
    pub kind: Option<SharedKind>,
    /// Shared blocks only: registration order (lower first).
    #[serde(default)]
    pub stage: Option<u32>,
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    #[serde(default)]
    pub columns: Vec<ColumnSpec>,
    /// Charts only: how rows and columns add up, for secondary suppression.
    #[serde(default)]
    pub sdc: Option<SdcSpec>,
    /// Funnel charts only: how their funnels are drawn (see [`funnel`]).
    #[serde(default)]
    pub funnel: Option<funnel::FunnelSpec>,
    /// Charts only: the measures whose items (not scale scores) the chart
    /// reads, e.g. `["ESQ"]`; over data with no items of one of them the
    /// chart returns no rows and a note saying so (issue 13).
    #[serde(default)]
    pub needs_items: Vec<String>,
    /// Charts only: how the report places and draws it ([`meta`]).
    #[serde(default)]
    pub chart: Option<meta::ChartMeta>,
    /// Charts only: the metric codes it reports, with their names,
    /// directions and headlines ([`meta`]).
    #[serde(default)]
    pub metrics: Vec<MetricSpec>,
}

/// One query file: a chart or a shared block.
#[derive(Debug, Clone)]
pub struct QueryFile {
    /// `who/gender` or `_shared/sdq_score`.
    pub id: String,
    pub section: String,
    pub name: String,
    pub header: Header,
    /// The whole file text (header included: it is SQL comments).
    pub sql: String,
    /// Where it was read from (`None`: compiled into the binary).
    pub path: Option<PathBuf>,
}

impl QueryFile {
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.header.params.iter().find(|p| p.name == name)
    }

    pub fn is_shared(&self) -> bool {
        self.section == SHARED_DIR
    }

    /// Whether its SQL names the table `name` (a whole identifier, outside
    /// comments and string literals).
    pub fn reads(&self, name: &str) -> bool {
        reads_table(&self.sql, name)
    }

    /// A stable fingerprint of the file text (FNV-1a 64, hex).
    pub fn fingerprint(&self) -> String {
        fnv1a_hex(self.sql.as_bytes())
    }
}

/// FNV-1a 64-bit hash as 16 hex digits.
pub fn fnv1a_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{file}: bad header: {message}")]
    Header { file: String, message: String },
    #[error("cannot read query files from {}: {source}", dir.display())]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("unknown chart `{name}`{}", suggest(suggestions))]
    UnknownChart {
        name: String,
        suggestions: Vec<String>,
    },
}

fn suggest(s: &[String]) -> String {
    if s.is_empty() {
        " (see `cypdash list`)".to_string()
    } else {
        format!("; did you mean {}?", s.join(" or "))
    }
}

/// A step block may be read only by `table` blocks of a later stage: it is
/// gone by the time views, bound blocks and charts run.
fn check_steps(files: &[QueryFile]) -> Result<(), CatalogError> {
    for step in files
        .iter()
        .filter(|f| f.is_shared() && f.header.kind == Some(SharedKind::Step))
    {
        for reader in files
            .iter()
            .filter(|f| f.id != step.id && f.reads(&step.name))
        {
            let later_table = reader.is_shared()
                && reader.header.kind == Some(SharedKind::Table)
                && reader.header.stage > step.header.stage;
            if !later_table {
                return Err(CatalogError::Header {
                    file: format!("{}.sql", reader.id),
                    message: format!(
                        "reads `{}`, a step block (dropped once the session tables are \
                         built): only a `table` block of a later stage may read it",
                        step.name
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Every chart column declares a role, and what a role refers to exists:
/// disclosure control is applied by these declarations alone.
fn check_roles(chart: &QueryFile) -> Result<(), CatalogError> {
    let err = |message: String| CatalogError::Header {
        file: format!("{}.sql", chart.id),
        message,
    };
    let columns = &chart.header.columns;
    let role_of = |name: &str| columns.iter().find(|c| c.name == name).and_then(|c| c.role);
    let exists = |what: &str, name: &str| {
        role_of(name).map(|_| ()).ok_or_else(|| {
            err(format!(
                "{what} names `{name}`, which is not a declared column"
            ))
        })
    };
    for c in columns {
        let role = c
            .role
            .ok_or_else(|| err(format!("column `{}` declares no role", c.name)))?;
        let what = format!("column `{}`", c.name);
        if let Some(of) = &c.of {
            exists(&what, of)?;
        }
        if let Some(count) = &c.count {
            exists(&what, count)?;
        }
        for f in &c.from {
            exists(&what, f)?;
        }
        let needs_of = matches!(
            role,
            Role::Numerator | Role::Proportion | Role::Mean | Role::Centre
        );
        if needs_of && c.of.is_none() {
            return Err(err(format!(
                "column `{}` ({}) needs `of`",
                c.name,
                role.name()
            )));
        }
        if role == Role::Derived && c.from.is_empty() {
            return Err(err(format!("column `{}` (derived) needs `from`", c.name)));
        }
        if role == Role::Proportion {
            if let Some(d) = &c.of {
                if !role_of(d).is_some_and(Role::is_count) {
                    return Err(err(format!("column `{}`: `of` must be a count", c.name)));
                }
            }
        }
    }
    let counted = columns
        .iter()
        .any(|c| c.role.is_some_and(|r| r != Role::Key));
    if counted && chart.param("min_n").is_none() {
        return Err(err(
            "a chart with counts, shares or means declares the `min_n` parameter".to_string(),
        ));
    }
    if let Some(sdc) = &chart.header.sdc {
        for name in sdc
            .unit
            .iter()
            .chain(&sdc.series)
            .chain(sdc.parts.iter())
            .chain(sdc.total_when.iter().map(|[c, _]| c))
        {
            exists("[sdc]", name)?;
        }
        for name in &sdc.across {
            exists("[sdc] across", name)?;
        }
        for sum in &sdc.sums {
            for name in sum.cells.iter().chain(std::iter::once(&sum.total)) {
                exists("[[sdc.sums]]", name)?;
            }
        }
        if !sdc.across.is_empty() && sdc.unit.is_empty() {
            return Err(err("[sdc] across needs `unit`".to_string()));
        }
    }
    Ok(())
}

/// Whether a SQL text names `table` (a whole identifier, outside comments
/// and string literals).
fn reads_table(sql: &str, table: &str) -> bool {
    identifiers(sql).any(|(param, word)| !param && word == table)
}

/// Split a file into its TOML header (the leading `--` lines, prefix
/// removed) and parse it.
pub fn parse_header(file: &str, text: &str) -> Result<Header, CatalogError> {
    parse_header_with(file, text, &standard::Standard::default())
}

/// [`parse_header`], expanding the `use` entries of `[[params]]` and
/// `[[columns]]` by the standard declarations ([`standard`]).
pub fn parse_header_with(
    file: &str,
    text: &str,
    standard: &standard::Standard,
) -> Result<Header, CatalogError> {
    let mut toml_text = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("--") else {
            break;
        };
        toml_text.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        toml_text.push('\n');
    }
    let bad = |e: toml::de::Error| CatalogError::Header {
        file: file.to_string(),
        message: e.to_string(),
    };
    let mut table: toml::Table = toml::from_str(&toml_text).map_err(bad)?;
    let uses = |key: &str| {
        table.get(key).and_then(|v| v.as_array()).is_some_and(|a| {
            a.iter()
                .any(|e| e.as_table().is_some_and(|t| t.contains_key("use")))
        })
    };
    if !uses("params") && !uses("columns") {
        // Read from the text, so that an error points at its line.
        return toml::from_str(&toml_text).map_err(bad);
    }
    standard.expand(file, &mut table)?;
    Header::deserialize(toml::Value::Table(table)).map_err(bad)
}

/// The `$name` parameters a SQL text uses (comments and strings skipped).
pub fn used_params(sql: &str) -> BTreeSet<String> {
    identifiers(sql)
        .filter(|(param, word)| *param && !word.starts_with(|c: char| c.is_ascii_digit()))
        .map(|(_, word)| word.to_string())
        .collect()
}

/// The words of a SQL text (runs of ASCII letters, digits and `_`) outside
/// `--` comments and `'...'` string literals, each with whether a `$`
/// precedes it (a parameter).
fn identifiers(sql: &str) -> impl Iterator<Item = (bool, &str)> {
    let b = sql.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            match b[i] {
                b'-' if b.get(i + 1) == Some(&b'-') => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
                b'\'' => {
                    i += 1;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                }
                c if word(c) => {
                    let param = i > 0 && b[i - 1] == b'$';
                    let start = i;
                    while i < b.len() && word(b[i]) {
                        i += 1;
                    }
                    return Some((param, &sql[start..i]));
                }
                _ => i += 1,
            }
        }
        None
    })
}

/// All query files.
#[derive(Debug, Clone)]
pub struct Catalog {
    files: Vec<QueryFile>,
    /// The sections, in dashboard order.
    sections: Vec<Section>,
    /// The discussion of each chart that has a `<chart>.md`, by chart id.
    discussions: BTreeMap<String, Discussion>,
}

impl Catalog {
    /// The query files compiled into the binary.
    pub fn embedded() -> Result<Self, CatalogError> {
        Self::from_texts(
            EMBEDDED
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string(), None)),
        )
    }

    /// The query files under `dir` (same layout as `queries/`): the
    /// standard declarations at its top, and in each section folder its
    /// `_section.toml`, the query files and the charts' discussions.
    pub fn from_dir(dir: &Path) -> Result<Self, CatalogError> {
        let mut texts = Vec::new();
        let io = |source| CatalogError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        let mut read = |path: PathBuf| -> Result<(), CatalogError> {
            let rel = path
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).map_err(io)?;
            texts.push((rel, text, Some(path)));
            Ok(())
        };
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if !path.is_dir() {
                if path.extension().is_some_and(|e| e == "toml") {
                    read(path)?;
                }
                continue;
            }
            for file in std::fs::read_dir(&path).map_err(io)? {
                let path = file.map_err(io)?.path();
                if path
                    .extension()
                    .is_some_and(|e| e == "sql" || e == "md" || e == "toml")
                {
                    read(path)?;
                }
            }
        }
        Self::from_texts(texts)
    }

    fn from_texts(
        texts: impl IntoIterator<Item = (String, String, Option<PathBuf>)>,
    ) -> Result<Self, CatalogError> {
        let mut sql = Vec::new();
        let mut docs = Vec::new();
        let mut section_files = BTreeMap::new();
        let (mut params, mut columns) = (None, None);
        for (rel, text, path) in texts {
            match rel.rsplit_once('/') {
                None if rel == standard::PARAMS_FILE => params = Some(text),
                None if rel == standard::COLUMNS_FILE => columns = Some(text),
                Some((section, meta::SECTION_FILE)) => {
                    section_files.insert(section.to_string(), (rel.clone(), text));
                }
                _ if rel.ends_with(".sql") => sql.push((rel, text, path)),
                _ if rel.ends_with(".md") => docs.push((rel, text)),
                _ => {
                    return Err(CatalogError::Header {
                        file: rel,
                        message: format!(
                            "not a query file: queries/ holds {}, {}, <section>/{}, <section>/<chart>.sql and <section>/<chart>.md",
                            standard::PARAMS_FILE,
                            standard::COLUMNS_FILE,
                            meta::SECTION_FILE
                        ),
                    })
                }
            }
        }
        let standard = standard::Standard::parse(params.as_deref(), columns.as_deref())?;
        let mut files = Vec::new();
        for (rel, text, path) in sql {
            let id = rel.trim_end_matches(".sql").to_string();
            let (section, name) = id.split_once('/').ok_or_else(|| CatalogError::Header {
                file: rel.clone(),
                message: "query files live in a section folder: queries/<section>/<chart>.sql"
                    .to_string(),
            })?;
            let header = parse_header_with(&rel, &text, &standard)?;
            files.push(QueryFile {
                section: section.to_string(),
                name: name.to_string(),
                id,
                header,
                sql: text,
                path,
            });
        }
        let mut sections = Vec::new();
        for section in files
            .iter()
            .filter(|f| !f.is_shared())
            .map(|f| f.section.clone())
            .collect::<BTreeSet<_>>()
        {
            sections.push(match section_files.remove(&section) {
                Some((rel, text)) => Section::parse(&section, &rel, &text)?,
                None => Section::undeclared(&section),
            });
        }
        if let Some((_, (rel, _))) = section_files.into_iter().next() {
            return Err(CatalogError::Header {
                file: rel,
                message: "a section file in a folder without charts".to_string(),
            });
        }
        sections.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name)));
        let rank = |section: &str| {
            sections
                .iter()
                .position(|s| s.name == section)
                .unwrap_or(sections.len())
        };
        let chart_order = |f: &QueryFile| f.header.chart.as_ref().and_then(|c| c.order);
        files.sort_by(|a, b| {
            b.is_shared()
                .cmp(&a.is_shared())
                .then_with(|| rank(&a.section).cmp(&rank(&b.section)))
                .then_with(|| a.header.stage.cmp(&b.header.stage))
                .then_with(|| match (chart_order(a), chart_order(b)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (x, y) => x.is_none().cmp(&y.is_none()),
                })
                .then_with(|| a.id.cmp(&b.id))
        });
        let mut discussions = BTreeMap::new();
        for (rel, text) in docs {
            let id = rel.trim_end_matches(".md");
            if !files.iter().any(|f| f.id == id && !f.is_shared()) {
                return Err(CatalogError::Header {
                    file: rel.clone(),
                    message: format!("a discussion without its chart `{id}.sql`"),
                });
            }
            discussions.insert(id.to_string(), Discussion::parse(&rel, &text)?);
        }
        let generated = {
            let charts: Vec<&QueryFile> = files.iter().filter(|f| !f.is_shared()).collect();
            meta::chart_metric_block(&charts)
        };
        if let Some(clash) = files.iter().find(|f| f.name == generated.name) {
            return Err(CatalogError::Header {
                file: format!("{}.sql", clash.id),
                message: format!("`{}` is the catalogue's own view", generated.name),
            });
        }
        files.insert(0, generated);
        check_steps(&files)?;
        for chart in files.iter().filter(|f| !f.is_shared()) {
            check_roles(chart)?;
            funnel::check(chart)?;
            meta::check(chart)?;
            if let Some(m) = chart
                .header
                .needs_items
                .iter()
                .find(|m| !["SDQ", "RCADS", "ESQ", "GBO", "CURRENT_VIEW"].contains(&m.as_str()))
            {
                return Err(CatalogError::Header {
                    file: format!("{}.sql", chart.id),
                    message: format!("needs_items names `{m}`, which is not a measure"),
                });
            }
        }
        Ok(Self {
            files,
            sections,
            discussions,
        })
    }

    /// Charts, in dashboard order: by section (`_section.toml` order),
    /// then by the `order` of their `[chart]` table.
    pub fn charts(&self) -> impl Iterator<Item = &QueryFile> {
        self.files.iter().filter(|f| !f.is_shared())
    }

    /// The sections, in dashboard order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// A section by folder name.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// A chart's discussion (`queries/<section>/<chart>.md`), if it has one.
    pub fn discussion(&self, chart: &str) -> Option<&Discussion> {
        self.discussions.get(chart)
    }

    /// The declaration of a metric code by any chart (first in dashboard
    /// order).
    pub fn metric(&self, code: &str) -> Option<&MetricSpec> {
        self.charts()
            .flat_map(|c| c.header.metrics.iter())
            .find(|m| m.code == code)
    }

    /// Shared building blocks, in registration order.
    pub fn shared(&self) -> impl Iterator<Item = &QueryFile> {
        self.files.iter().filter(|f| f.is_shared())
    }

    /// The shared blocks a statement naming `names` needs, by name: those
    /// named and every block they read, in turn. Names compare
    /// case-insensitively.
    pub fn shared_needed(&self, names: &BTreeSet<String>) -> HashSet<String> {
        let shared: Vec<&QueryFile> = self.shared().collect();
        let mut needed: Vec<bool> = shared
            .iter()
            .map(|b| names.contains(&b.name.to_ascii_lowercase()))
            .collect();
        let mut grew = true;
        while grew {
            grew = false;
            for (i, block) in shared.iter().enumerate() {
                let read = || {
                    shared
                        .iter()
                        .zip(&needed)
                        .any(|(other, &n)| n && other.reads(&block.name))
                };
                if !needed[i] && read() {
                    needed[i] = true;
                    grew = true;
                }
            }
        }
        shared
            .iter()
            .zip(needed)
            .filter(|(_, n)| *n)
            .map(|(b, _)| b.name.clone())
            .collect()
    }

    /// The shared blocks that read `name`.
    pub fn readers_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a QueryFile> + 'a {
        self.shared()
            .filter(move |b| b.name != name && b.reads(name))
    }

    /// Find a chart by `section/name` or by its bare name when unique.
    pub fn chart(&self, name: &str) -> Result<&QueryFile, CatalogError> {
        let name = name.trim().trim_end_matches(".sql");
        let found: Vec<&QueryFile> = self
            .charts()
            .filter(|c| c.id == name || c.name == name)
            .collect();
        if let [one] = found.as_slice() {
            return Ok(one);
        }
        let mut suggestions: Vec<String> = self
            .charts()
            .filter(|c| {
                found.iter().any(|f| f.id == c.id)
                    || (!name.is_empty()
                        && (c.id.contains(name) || edit_distance(&c.name, name) <= 2))
            })
            .map(|c| format!("`{}`", c.id))
            .collect();
        suggestions.truncate(3);
        Err(CatalogError::UnknownChart {
            name: name.to_string(),
            suggestions,
        })
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_reject_impossible_days() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(
            parse_date("2024-02-29").map(format_date).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("24-01-01"), None);
        for d in [-700_000, -1, 0, 19_000, 20_000, 2_000_000] {
            assert_eq!(parse_date(&format_date(d)), Some(d));
        }
    }

    fn block(rel: &str, kind: &str, stage: u32, sql: &str) -> (String, String, Option<PathBuf>) {
        let text = format!(
            "-- title = \"t\"\n-- description = \"d\"\n-- kind = \"{kind}\"\n-- stage = {stage}\n{sql}\n"
        );
        (rel.to_string(), text, None)
    }

    #[test]
    fn a_step_block_is_read_only_by_later_tables() {
        let step = block("_shared/s.sql", "step", 2, "select 1 as x");
        let ok = Catalog::from_texts([
            step.clone(),
            block("_shared/t.sql", "table", 3, "select x from s"),
            // A mention in a comment or inside another name is no read.
            block("_shared/v.sql", "view", 4, "select 1 as s_x -- not from s"),
        ]);
        assert!(ok.is_ok(), "{ok:?}");
        for (reader, expected) in [
            (
                block("_shared/v.sql", "view", 4, "select x from s"),
                "_shared/v.sql",
            ),
            (
                block("_shared/t.sql", "table", 2, "select x from s"),
                "_shared/t.sql",
            ),
            (
                block("_shared/b.sql", "bound_view", 5, "select * from s"),
                "_shared/b.sql",
            ),
        ] {
            let err = Catalog::from_texts([step.clone(), reader]).unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("{expected}: bad header: reads `s`, a step block")),
                "{text}"
            );
        }
    }

    #[test]
    fn used_params_skip_comments_and_strings() {
        let sql =
            "-- $not_me\nSELECT '$nor_me', $min_n, $period_end FROM t WHERE x = $min_n AND y = $1";
        let got: Vec<_> = used_params(sql).into_iter().collect();
        assert_eq!(got, ["min_n", "period_end"]);
    }

    #[test]
    fn header_is_parsed_from_leading_comments() {
        let text = "-- title = \"T\"\n-- description = \"D\"\n--\n-- [[params]]\n-- name = \"min_n\"\n-- type = \"int\"\n-- default = \"5\"\n-- description = \"m\"\nSELECT 1\n-- title = \"ignored\"\n";
        let h = parse_header("x.sql", text).unwrap();
        assert_eq!(h.title, "T");
        assert_eq!(h.params[0].ty, ParamType::Int);
    }

    #[test]
    fn sdc_unit_defaults_to_the_unit_columns() {
        let head = "-- title = \"T\"\n-- description = \"D\"\n-- [sdc]\n";
        let h = parse_header(
            "x.sql",
            &format!("{head}-- series = [\"metric\"]\nselect 1"),
        )
        .unwrap();
        let sdc = h.sdc.unwrap();
        assert_eq!(sdc.unit, UNIT_COLUMNS);
        assert_eq!(sdc.series, ["metric"]);
        let h = parse_header("x.sql", &format!("{head}-- unit = []\nselect 1")).unwrap();
        assert!(h.sdc.unwrap().unit.is_empty());
        // No [sdc] at all: nothing declared, no units.
        assert!(parse_header(
            "x.sql",
            "-- title = \"T\"\n-- description = \"D\"\nselect 1"
        )
        .unwrap()
        .sdc
        .is_none());
    }

    #[test]
    fn a_bad_header_names_the_file() {
        let err = parse_header("who/x.sql", "-- title = 3\nSELECT 1").unwrap_err();
        assert!(
            err.to_string().starts_with("who/x.sql: bad header"),
            "{err}"
        );
    }

    #[test]
    fn param_types_parse_and_explain() {
        assert_eq!(
            ParamType::Int.parse("5").unwrap(),
            ScalarValue::Int64(Some(5))
        );
        assert_eq!(
            ParamType::Int.parse("five").unwrap_err(),
            "expected a whole number"
        );
        assert_eq!(
            ParamType::Float.parse("NaN").unwrap_err(),
            "expected a number"
        );
        assert!(ParamType::Date.parse("2024-02-30").is_err());
        assert_eq!(
            ParamType::Bool.parse("Yes").unwrap(),
            ScalarValue::Boolean(Some(true))
        );
    }

    #[test]
    fn every_embedded_file_has_a_valid_header() {
        let catalog = Catalog::embedded().unwrap();
        for f in catalog.shared() {
            assert!(
                f.header.kind.is_some(),
                "{}: shared blocks need a kind",
                f.id
            );
        }
        for f in catalog.charts() {
            assert!(f.header.kind.is_none(), "{}: charts take no kind", f.id);
            assert!(
                catalog
                    .section(&f.section)
                    .is_some_and(|s| s.order < u32::MAX),
                "{}: its section has no _section.toml",
                f.id
            );
            assert!(
                !f.header.columns.is_empty(),
                "{}: no output columns declared",
                f.id
            );
        }
    }
}
