//! Disclosure control: one place where every chart result is made safe to
//! share, by the roles its header declares for its columns.
//!
//! A policy is chosen per run (`--sdc NAME`, the REPL's `\set sdc NAME`):
//!
//! - `corc` (default): a count (count, numerator, denominator) from 1 to
//!   `min_n - 1` is withheld, zero is shown; a proportion or mean is withheld
//!   when its denominator is below `min_n`, and a proportion also when the
//!   count it stands for (its count column, or `value / scale x n`) is from
//!   1 to `min_n - 1`. The `All` row follows the same rules.
//! - `mhsds`: NHS England's publication rule (`shared/spec/national.md` §9):
//!   on unit rows a count below 5 (0 included) is withheld and any other is
//!   rounded to the nearest 5; a proportion is withheld when its count is
//!   below 5, else shown as a whole percentage (rounded half up from its
//!   1-decimal value, computed from unrounded counts); a mean is withheld
//!   when its denominator is below 5; values derived from a rounded count
//!   (funnel limits at n, standard errors) are withheld, since they would
//!   give the count back. The `All` row is published as the national row:
//!   counts as they are, proportions to 1 decimal of a percent. `min_n` is
//!   not used.
//! - `none`: nothing withheld, for a user's own analysis; the export
//!   manifest and the report say so.
//!
//! Then, in `corc` and `mhsds`, derived values follow what they come from
//! (a proportion its count and denominator, a mean its denominator, funnel
//! limits their n and centre, a position its value, a centre the total
//! row's value), and secondary suppression protects the additive groups a
//! header declares in `[sdc]`: the units of a series adding up to the `All`
//! row (`across`), and cells adding up to a total within a row or a unit
//! (`sums`). A group gives a withheld cell back by subtraction when exactly
//! one of its members is withheld, or when the withheld members' values are
//! pinned by their sum ([`gives_back`]); the smallest non-zero shown cell is
//! withheld next (the total when no cell is left), until no group does. Repeated to a fixed point, as a withheld cell can open
//! another group.

use crate::catalog::{Header, Role, SumOver};
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch,
};
use datafusion::arrow::compute::{cast, concat_batches, nullif};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A disclosure-control policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Policy {
    #[default]
    Corc,
    Mhsds,
    None,
}

/// The count threshold and rounding base of the `mhsds` policy (national.md §9).
const MHSDS_THRESHOLD: i64 = 5;

impl Policy {
    pub const ALL: [Policy; 3] = [Policy::Corc, Policy::Mhsds, Policy::None];

    pub fn name(self) -> &'static str {
        match self {
            Policy::Corc => "corc",
            Policy::Mhsds => "mhsds",
            Policy::None => "none",
        }
    }

    /// The policy in a few words (the report's cover).
    pub fn title(self) -> &'static str {
        match self {
            Policy::Corc => "corc: counts and shares of fewer than min_n cases withheld",
            Policy::Mhsds => "mhsds: NHS England's rule (below 5 withheld, counts rounded to 5)",
            Policy::None => "none: small numbers shown (not for sharing)",
        }
    }

    /// The policy in words, for the export manifest.
    pub fn summary(self) -> &'static str {
        match self {
            Policy::Corc => {
                "corc: counts from 1 to min_n - 1 withheld (zero shown); shares and means \
                 over fewer than min_n cases withheld, and shares standing for a count from 1 \
                 to min_n - 1; secondary suppression so that no withheld value can be \
                 recovered by subtraction within a unit's breakdown or across the units \
                 adding up to the All row (min_n: each chart's parameter, default 5)"
            }
            Policy::Mhsds => {
                "mhsds: NHS England's publication rule: on partnership and team rows counts \
                 below 5 withheld and others rounded to the nearest 5, percentages withheld \
                 when their count is below 5 and otherwise whole; the All row published as \
                 the national row; secondary suppression as in corc"
            }
            Policy::None => {
                "none: NO DISCLOSURE CONTROL. Small numbers are shown as they are: for the \
                 user's own analysis only, not for sharing"
            }
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Policy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown disclosure policy `{s}`; known: {}",
                    Policy::ALL.map(|p| p.name()).join(", ")
                )
            })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SdcError {
    #[error("disclosure control: {0}")]
    Arrow(#[from] ArrowError),
    #[error("disclosure control: the result has no column `{0}` that the header declares")]
    MissingColumn(String),
}

/// One column of the result as numbers (counts and values), NULL as None.
#[derive(Debug)]
struct Col {
    role: Role,
    values: Vec<Option<f64>>,
    withheld: Vec<bool>,
    rounded: bool,
}

/// Apply a policy to a chart's result. `min_n` is the chart's value (the
/// `corc` threshold). Withheld values become NULL (every column that may
/// be withheld is nullable in the returned schema, whatever the policy, so
/// that results have one schema) and the `flag` column says which rows
/// lost a value.
pub fn apply(
    policy: Policy,
    header: &Header,
    min_n: i64,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(SchemaRef, Vec<RecordBatch>), SdcError> {
    let schema = withholdable(header, schema);
    let batch = concat_batches(&schema, batches)?;
    if batch.num_rows() == 0 {
        return Ok((schema, vec![batch]));
    }
    let batch = RecordBatch::try_new(schema.clone(), batch.columns().to_vec())?;
    let mut table = Table::new(policy, header, min_n, &batch)?;
    table.primary();
    table.settle();
    Ok((schema, vec![table.into_batch(&batch)?]))
}

/// The schema with every column that a policy may withhold nullable.
fn withholdable(header: &Header, schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let role = header
                .columns
                .iter()
                .find(|c| &c.name == f.name())
                .and_then(|c| c.role);
            let may_withhold = !matches!(role, None | Some(Role::Key) | Some(Role::Flag));
            f.as_ref()
                .clone()
                .with_nullable(f.is_nullable() || may_withhold)
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

#[derive(Debug)]
struct Table<'a> {
    policy: Policy,
    header: &'a Header,
    threshold: i64,
    rows: usize,
    cols: Vec<Col>,
    index: HashMap<&'a str, usize>,
    /// Whether each row is an all-data row (the `All` row and all-data
    /// breakdowns): every unit column NULL. Under mhsds these are the
    /// national rows.
    total: Vec<bool>,
    /// Whether each row is the total of its series for the additive groups
    /// (the all-data row, or the row `total_when` names).
    group_total: Vec<bool>,
    /// Each row's series key (with its part, when `parts` is declared) and
    /// unit key.
    series: Vec<String>,
    part: Vec<String>,
    unit: Vec<String>,
}

impl<'a> Table<'a> {
    fn new(
        policy: Policy,
        header: &'a Header,
        min_n: i64,
        batch: &RecordBatch,
    ) -> Result<Self, SdcError> {
        let rows = batch.num_rows();
        let mut cols = Vec::with_capacity(header.columns.len());
        let mut index = HashMap::new();
        for (i, spec) in header.columns.iter().enumerate() {
            let array = batch
                .column_by_name(&spec.name)
                .ok_or_else(|| SdcError::MissingColumn(spec.name.clone()))?;
            let role = spec.role.unwrap_or(Role::Key);
            let values = if role != Role::Key && role != Role::Flag && numeric(array.data_type()) {
                let f = cast(array, &DataType::Float64)?;
                let f = f
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .expect("cast to f64");
                (0..rows)
                    .map(|r| f.is_valid(r).then(|| f.value(r)))
                    .collect()
            } else {
                vec![None; rows]
            };
            cols.push(Col {
                role,
                values,
                withheld: vec![false; rows],
                rounded: false,
            });
            index.insert(spec.name.as_str(), i);
        }
        let sdc = header.sdc.clone().unwrap_or_default();
        let text = |names: &[String]| -> Result<Vec<String>, SdcError> {
            let arrays: Vec<&ArrayRef> = names
                .iter()
                .map(|n| {
                    batch
                        .column_by_name(n)
                        .ok_or_else(|| SdcError::MissingColumn(n.clone()))
                })
                .collect::<Result<_, _>>()?;
            (0..rows)
                .map(|r| {
                    arrays.iter().try_fold(String::new(), |mut key, a| {
                        let v = datafusion::arrow::util::display::array_value_to_string(a, r)?;
                        key.push_str(if a.is_null(r) { "\u{0}" } else { &v });
                        key.push('\u{1}');
                        Ok(key)
                    })
                })
                .collect::<Result<_, ArrowError>>()
                .map_err(SdcError::from)
        };
        let unit = text(&sdc.unit)?;
        let series = text(&sdc.series)?;
        let part = text(&sdc.parts.iter().cloned().collect::<Vec<_>>())?;
        let total: Vec<bool> = (0..rows)
            .map(|r| {
                !sdc.unit.is_empty()
                    && sdc
                        .unit
                        .iter()
                        .all(|n| batch.column_by_name(n).is_some_and(|a| a.is_null(r)))
            })
            .collect();
        let group_total: Vec<bool> = match &sdc.total_when {
            Some([column, value]) => {
                let is = text(std::slice::from_ref(column))?;
                let want = format!("{value}\u{1}");
                is.iter().map(|v| *v == want).collect()
            }
            None => total.clone(),
        };
        let threshold = match policy {
            Policy::Mhsds => MHSDS_THRESHOLD,
            _ => min_n.max(1),
        };
        Ok(Self {
            policy,
            header,
            threshold,
            rows,
            cols,
            index,
            total,
            group_total,
            series,
            part,
            unit,
        })
    }

    fn col(&self, name: &str) -> usize {
        self.index[name]
    }

    fn spec(&self, c: usize) -> &'a crate::catalog::ColumnSpec {
        &self.header.columns[c]
    }

    /// The count a cell stands for: a count as it is, a proportion by its
    /// count column or by `value / scale x denominator`.
    fn count(&self, c: usize, r: usize) -> Option<i64> {
        let col = &self.cols[c];
        match col.role {
            Role::Count | Role::Denominator | Role::Numerator => {
                col.values[r].map(|v| v.round() as i64)
            }
            Role::Proportion => {
                let spec = self.spec(c);
                if let Some(k) = &spec.count {
                    return self.cols[self.col(k)].values[r].map(|v| v.round() as i64);
                }
                let n = self.cols[self.col(spec.of.as_deref()?)].values[r]?;
                col.values[r].map(|v| (v / spec.scale.unwrap_or(1.0) * n).round() as i64)
            }
            _ => None,
        }
    }

    /// Whether a proportion cell is a proportion on this row (a count
    /// column that is NULL marks a row holding a mean instead).
    fn is_share(&self, c: usize, r: usize) -> bool {
        match &self.spec(c).count {
            Some(k) => self.cols[self.col(k)].values[r].is_some(),
            None => true,
        }
    }

    /// Whether the policy publishes this row unsuppressed (the national row).
    fn exempt(&self, r: usize) -> bool {
        self.policy == Policy::Mhsds && self.total[r]
    }

    /// Withholding by each cell's own value.
    fn primary(&mut self) {
        if self.policy == Policy::None {
            return;
        }
        let t = self.threshold;
        let small = |k: i64| match self.policy {
            Policy::Mhsds => k < t,
            _ => k >= 1 && k < t,
        };
        for c in 0..self.cols.len() {
            for r in 0..self.rows {
                if self.exempt(r) || self.cols[c].values[r].is_none() {
                    continue;
                }
                let role = self.cols[c].role;
                let denominator = || {
                    let of = self.spec(c).of.as_deref()?;
                    self.cols[self.col(of)].values[r]
                };
                let withhold = match role {
                    Role::Count | Role::Denominator | Role::Numerator => {
                        self.count(c, r).is_some_and(small)
                    }
                    Role::Proportion if self.is_share(c, r) => {
                        denominator().is_some_and(|n| (n as i64) < t)
                            || self.count(c, r).is_some_and(small)
                    }
                    Role::Proportion | Role::Mean => denominator().is_some_and(|n| (n as i64) < t),
                    _ => false,
                };
                if withhold {
                    self.cols[c].withheld[r] = true;
                }
            }
        }
    }

    /// Follow derived values and protect the additive groups, to a fixed point.
    fn settle(&mut self) {
        if self.policy == Policy::None {
            return;
        }
        loop {
            let mut changed = self.propagate();
            for group in self.groups() {
                changed |= self.protect(&group);
            }
            if !changed {
                break;
            }
        }
    }

    fn set(&mut self, c: usize, r: usize) -> bool {
        let was = self.cols[c].withheld[r];
        self.cols[c].withheld[r] = true;
        !was
    }

    /// Withhold what is computed from a withheld value. Returns whether
    /// anything changed.
    fn propagate(&mut self) -> bool {
        let mut changed = false;
        let rounding = self.policy == Policy::Mhsds;
        for c in 0..self.cols.len() {
            let spec = self.spec(c);
            let sources: Vec<usize> = match self.cols[c].role {
                Role::Proportion => spec
                    .of
                    .iter()
                    .chain(spec.count.iter())
                    .map(|n| self.col(n))
                    .collect(),
                Role::Mean => spec.of.iter().map(|n| self.col(n)).collect(),
                Role::Derived => spec.from.iter().map(|n| self.col(n)).collect(),
                _ => continue,
            };
            for r in 0..self.rows {
                let from_withheld = sources.iter().any(|&s| self.cols[s].withheld[r]);
                // Under mhsds a unit's counts are published rounded: a value
                // derived from one (funnel limits at n, a standard error)
                // would give the exact count back.
                let from_rounded = rounding
                    && self.cols[c].role == Role::Derived
                    && !spec.rounds
                    && !self.total[r]
                    && sources.iter().any(|&s| self.cols[s].role.is_count());
                if (from_withheld || from_rounded) && self.set(c, r) {
                    changed = true;
                }
            }
        }
        // A centre repeats the total row's value on every row of a series.
        let centres: Vec<usize> = (0..self.cols.len())
            .filter(|&c| self.cols[c].role == Role::Centre)
            .collect();
        for c in centres {
            let of = self.col(
                self.spec(c)
                    .of
                    .as_deref()
                    .expect("checked by the catalogue"),
            );
            let hidden: Vec<&String> = (0..self.rows)
                .filter(|&r| self.group_total[r] && self.cols[of].withheld[r])
                .map(|r| &self.series[r])
                .collect();
            let rows: Vec<usize> = (0..self.rows)
                .filter(|&r| hidden.contains(&&self.series[r]))
                .collect();
            for r in rows {
                changed |= self.set(c, r);
            }
        }
        changed
    }

    /// The additive groups the header declares: each a list of cells and
    /// the cells of its total (one value, on one row or repeated on every
    /// row of a unit).
    fn groups(&self) -> Vec<Group> {
        let Some(sdc) = &self.header.sdc else {
            return Vec::new();
        };
        let mut groups = Vec::new();
        // Across units: the units of a series add up to the total row.
        for name in &sdc.across {
            let c = self.col(name);
            // Per series (and part), the cells; per series, the total.
            let mut by_part: BTreeMap<(&str, &str), Vec<(usize, usize)>> = BTreeMap::new();
            let mut totals: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
            for r in 0..self.rows {
                if self.group_total[r] {
                    totals.entry(&self.series[r]).or_default().push((c, r));
                } else {
                    by_part
                        .entry((&self.series[r], &self.part[r]))
                        .or_default()
                        .push((c, r));
                }
            }
            for ((series, _), cells) in by_part {
                if let Some(total) = totals.get(series) {
                    groups.push(Group {
                        cells,
                        total: total.clone(),
                    });
                }
            }
        }
        for sum in &sdc.sums {
            let cells: Vec<usize> = sum.cells.iter().map(|n| self.col(n)).collect();
            let t = self.col(&sum.total);
            match sum.over {
                SumOver::Row => {
                    for r in 0..self.rows {
                        groups.push(Group {
                            cells: cells.iter().map(|&c| (c, r)).collect(),
                            total: vec![(t, r)],
                        });
                    }
                }
                SumOver::Unit => {
                    for &c in &cells {
                        let mut by_unit: BTreeMap<&str, Group> = BTreeMap::new();
                        for r in 0..self.rows {
                            let g = by_unit.entry(&self.unit[r]).or_default();
                            g.cells.push((c, r));
                            g.total.push((t, r));
                        }
                        groups.extend(by_unit.into_values());
                    }
                }
            }
        }
        groups
    }

    /// Withhold one more cell of a group that gives a withheld cell back.
    fn protect(&mut self, g: &Group) -> bool {
        let withheld = |t: &Self, &(c, r): &(usize, usize)| t.cols[c].withheld[r];
        let mut changed = false;
        // A total shown on some rows of a unit and withheld on others is
        // withheld on all of them.
        if g.total.iter().any(|t| withheld(self, t)) {
            for &(c, r) in &g.total {
                changed |= self.set(c, r);
            }
            return changed;
        }
        let hidden: Vec<&(usize, usize)> = g.cells.iter().filter(|x| withheld(self, x)).collect();
        if hidden.is_empty() {
            return false;
        }
        let sum: i64 = hidden
            .iter()
            .map(|&&(c, r)| self.count(c, r).unwrap_or(0))
            .sum();
        if !gives_back(self.policy, hidden.len(), sum) {
            return false;
        }
        let next = g
            .cells
            .iter()
            .filter(|x| !withheld(self, x))
            .filter_map(|&(c, r)| self.count(c, r).filter(|&k| k > 0).map(|k| (k, c, r)))
            .min_by_key(|&(k, _, _)| k);
        match next {
            Some((_, c, r)) => self.set(c, r),
            // The national row is published whatever its groups (mhsds).
            None if g.total.iter().any(|&(_, r)| self.exempt(r)) => false,
            None => {
                for &(c, r) in &g.total {
                    changed |= self.set(c, r);
                }
                changed
            }
        }
    }

    /// The result with withheld values NULL, rounded where the policy
    /// rounds, and the flag column set.
    fn into_batch(mut self, batch: &RecordBatch) -> Result<RecordBatch, SdcError> {
        let schema = batch.schema();
        let flags: Vec<bool> = (0..self.rows)
            .map(|r| self.cols.iter().any(|c| c.withheld[r]))
            .collect();
        if self.policy == Policy::Mhsds {
            self.round();
        }
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (i, field) in schema.fields().iter().enumerate() {
            let array = batch.column(i).clone();
            let Some(&c) = self.index.get(field.name().as_str()) else {
                columns.push(array);
                continue;
            };
            let col = &self.cols[c];
            let out: ArrayRef = if col.role == Role::Flag {
                Arc::new(BooleanArray::from(flags.clone()))
            } else if col.rounded {
                match array.data_type() {
                    DataType::Int64 => Arc::new(Int64Array::from_iter(
                        col.values.iter().map(|v| v.map(|v| v.round() as i64)),
                    )),
                    _ => cast(
                        &(Arc::new(Float64Array::from(col.values.clone())) as ArrayRef),
                        array.data_type(),
                    )?,
                }
            } else {
                array
            };
            let out = if col.withheld.iter().any(|w| *w) {
                nullif(&out, &BooleanArray::from(col.withheld.clone()))?
            } else {
                out
            };
            columns.push(out);
        }
        Ok(RecordBatch::try_new(schema, columns)?)
    }

    /// mhsds: unit counts to the nearest 5, unit percentages whole and
    /// national ones to 1 decimal, each from its unrounded value.
    fn round(&mut self) {
        for c in 0..self.cols.len() {
            let role = self.cols[c].role;
            let scale = self.spec(c).scale.unwrap_or(1.0);
            for r in 0..self.rows {
                let share = role == Role::Proportion && self.is_share(c, r);
                let Some(v) = self.cols[c].values[r] else {
                    continue;
                };
                let rounded = if role.is_count() && !self.total[r] {
                    round_half_up(v / 5.0) * 5.0
                } else if share {
                    let pct1 = round_half_up(v * 100.0 / scale * 10.0) / 10.0;
                    let pct = if self.total[r] {
                        pct1
                    } else {
                        round_half_up(pct1)
                    };
                    pct * scale / 100.0
                } else {
                    continue;
                };
                self.cols[c].values[r] = Some(rounded);
                self.cols[c].rounded = true;
            }
        }
    }
}

/// Whether `w` withheld members of a group adding up to `sum` give a value
/// back. Under corc a withheld count is at least 1, so `sum == w` pins every
/// one to 1 (and `sum < w` can only come from shares of empty cells, held
/// as safe as an exact answer); under mhsds withheld counts may be 0, so
/// only `sum == 0` pins them all.
pub fn gives_back(policy: Policy, w: usize, sum: i64) -> bool {
    match policy {
        Policy::None => false,
        Policy::Corc => w == 1 || (w > 1 && sum <= w as i64),
        Policy::Mhsds => w == 1 || (w > 1 && sum == 0),
    }
}

/// Cells of an additive group and its total.
#[derive(Debug, Default)]
struct Group {
    cells: Vec<(usize, usize)>,
    total: Vec<(usize, usize)>,
}

fn numeric(dt: &DataType) -> bool {
    dt.is_numeric()
}

/// Round half away from zero, with a tolerance for binary fractions
/// (12.45 may be stored as 12.4499999...).
fn round_half_up(v: f64) -> f64 {
    (v + v.signum() * 1e-9).round()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_header;
    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};

    /// A chart shaped like who/gender: units x categories, counts adding up
    /// to each unit's n and, per category, to the All row.
    const HEADER: &str = r#"
title = "t"
description = "d"
[[params]]
name = "min_n"
type = "int"
default = "5"
description = "m"
[[columns]]
name = "unit"
type = "Int64"
role = "key"
description = "u"
[[columns]]
name = "category"
type = "Utf8"
role = "key"
description = "c"
[[columns]]
name = "count"
type = "Int64"
role = "numerator"
of = "n"
description = "c"
[[columns]]
name = "n"
type = "Int64"
role = "denominator"
description = "n"
[[columns]]
name = "pct"
type = "Float64"
role = "proportion"
of = "n"
count = "count"
scale = 100
description = "p"
[[columns]]
name = "suppressed"
type = "Boolean"
role = "flag"
description = "s"
[sdc]
unit = ["unit"]
series = ["category"]
across = ["count", "n"]
[[sdc.sums]]
cells = ["count"]
total = "n"
over = "unit"
"#;

    /// A small deterministic generator (xorshift), so the cases are the
    /// same on every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, below: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % below
        }
    }

    fn table(counts: &[Vec<i64>]) -> (SchemaRef, RecordBatch) {
        let cats = counts[0].len();
        let mut unit = Vec::new();
        let mut category = Vec::new();
        let mut count = Vec::new();
        let mut n = Vec::new();
        let mut rows: Vec<(Option<i64>, Vec<i64>)> = counts
            .iter()
            .enumerate()
            .map(|(u, c)| (Some(u as i64 + 1), c.clone()))
            .collect();
        let all: Vec<i64> = (0..cats)
            .map(|k| counts.iter().map(|c| c[k]).sum())
            .collect();
        rows.push((None, all));
        for (u, c) in &rows {
            let total: i64 = c.iter().sum();
            for (k, v) in c.iter().enumerate() {
                unit.push(*u);
                category.push(format!("c{k}"));
                count.push(*v);
                n.push(total);
            }
        }
        let pct: Vec<Option<f64>> = count
            .iter()
            .zip(&n)
            .map(|(c, n)| (*n > 0).then(|| 100.0 * *c as f64 / *n as f64))
            .collect();
        let batch = RecordBatch::try_from_iter(vec![
            ("unit", Arc::new(Int64Array::from(unit)) as ArrayRef),
            (
                "category",
                Arc::new(StringArray::from(category)) as ArrayRef,
            ),
            ("count", Arc::new(Int64Array::from(count)) as ArrayRef),
            ("n", Arc::new(Int64Array::from(n)) as ArrayRef),
            ("pct", Arc::new(Float64Array::from(pct)) as ArrayRef),
            (
                "suppressed",
                Arc::new(BooleanArray::from(vec![false; rows.len() * cats])) as ArrayRef,
            ),
        ])
        .unwrap();
        (batch.schema(), batch)
    }

    fn ints(b: &RecordBatch, name: &str) -> Vec<Option<i64>> {
        let a = b.column_by_name(name).unwrap();
        let a = a.as_any().downcast_ref::<Int64Array>().unwrap();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect()
    }

    /// Random small tables under corc and mhsds: no shown count or share
    /// breaks the primary rule, and no group (a unit's categories adding to
    /// its n; a category's units adding to the All row) with its total shown
    /// gives a withheld count back.
    #[test]
    fn random_small_tables_keep_every_group_safe() {
        let text: String = HEADER.lines().map(|l| format!("-- {l}\n")).collect();
        let header = parse_header("t.sql", &text).unwrap();
        let mut rng = Rng(0x9e3779b97f4a7c15);
        for case in 0..400 {
            let units = 1 + rng.next(6) as usize;
            let cats = 2 + rng.next(4) as usize;
            let counts: Vec<Vec<i64>> = (0..units)
                .map(|_| {
                    (0..cats)
                        .map(|_| {
                            let big = rng.next(4) == 0;
                            (rng.next(if big { 30 } else { 6 })) as i64
                        })
                        .collect()
                })
                .collect();
            let min_n = 2 + rng.next(5) as i64;
            let (schema, batch) = table(&counts);
            for policy in [Policy::Corc, Policy::Mhsds] {
                let (schema, out) = apply(
                    policy,
                    &header,
                    min_n,
                    &schema,
                    std::slice::from_ref(&batch),
                )
                .unwrap();
                let out = concat_batches(&schema, &out).unwrap();
                let (raw_c, raw_n) = (ints(&batch, "count"), ints(&batch, "n"));
                let (out_c, out_n) = (ints(&out, "count"), ints(&out, "n"));
                let t = if policy == Policy::Mhsds { 5 } else { min_n };
                let rows = batch.num_rows();
                let is_total = |r: usize| r >= rows - cats;
                for r in 0..rows {
                    if policy == Policy::Mhsds && is_total(r) {
                        assert_eq!(out_c[r], raw_c[r], "case {case}: national row exact");
                        continue;
                    }
                    for (shown, raw) in [(out_c[r], raw_c[r]), (out_n[r], raw_n[r])] {
                        if shown.is_some() {
                            let k = raw.unwrap();
                            let small = match policy {
                                Policy::Mhsds => k < t,
                                _ => (1..t).contains(&k),
                            };
                            assert!(!small, "case {case} {policy}: count {k} shown");
                        }
                    }
                }
                // Groups: (cells, total) as row indices of `count` / `n`.
                let mut groups: Vec<(Vec<usize>, Option<usize>)> = Vec::new();
                for u in 0..=units {
                    let cells: Vec<usize> = (u * cats..(u + 1) * cats).collect();
                    groups.push((cells, None));
                }
                for k in 0..cats {
                    let cells: Vec<usize> = (0..units).map(|u| u * cats + k).collect();
                    groups.push((cells, Some(units * cats + k)));
                }
                for (cells, total) in groups {
                    let total_shown = match total {
                        Some(t) => out_c[t].is_some(),
                        None => out_n[cells[0]].is_some(),
                    };
                    if !total_shown {
                        continue;
                    }
                    let hidden: Vec<i64> = cells
                        .iter()
                        .filter(|&&r| out_c[r].is_none())
                        .map(|&r| raw_c[r].unwrap())
                        .collect();
                    let national_only = policy == Policy::Mhsds
                        && total.is_some()
                        && cells
                            .iter()
                            .all(|&r| out_c[r].is_none() || raw_c[r] == Some(0));
                    if national_only {
                        continue;
                    }
                    assert!(
                        !gives_back(policy, hidden.len(), hidden.iter().sum()),
                        "case {case} {policy} min_n {min_n}: {counts:?} -> group {cells:?} \
                         gives back {hidden:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn policies_parse_by_name() {
        assert_eq!("corc".parse::<Policy>().unwrap(), Policy::Corc);
        assert_eq!(" MHSDS ".parse::<Policy>().unwrap(), Policy::Mhsds);
        assert_eq!("none".parse::<Policy>().unwrap(), Policy::None);
        let err = "strict".parse::<Policy>().unwrap_err();
        assert_eq!(
            err,
            "unknown disclosure policy `strict`; known: corc, mhsds, none"
        );
    }

    /// corc's pinning rule: one withheld member, or members that must all
    /// be 1; mhsds: one member, or members that must all be 0.
    #[test]
    fn which_groups_give_a_value_back() {
        assert!(gives_back(Policy::Corc, 1, 3));
        assert!(gives_back(Policy::Corc, 2, 2));
        assert!(!gives_back(Policy::Corc, 2, 3));
        assert!(gives_back(Policy::Mhsds, 3, 0));
        assert!(!gives_back(Policy::Mhsds, 2, 1));
        assert!(!gives_back(Policy::None, 1, 1));
        assert!(!gives_back(Policy::Corc, 0, 0));
    }
}
