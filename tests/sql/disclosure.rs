//! Disclosure control over every chart (issue #10): for each policy, every
//! value a chart gives out obeys the policy, and no protected group gives a
//! withheld value back by subtraction.
//!
//! Each chart is run once with `--sdc none` (the raw values); the policies
//! are then applied to those results with the same function `Dashboard::run`
//! uses, at several thresholds, and every output cell is checked against
//! the raw one by the rules of docs/definitions.md ("Disclosure control"),
//! written here independently of `src/disclosure.rs`:
//! - nothing changes but withholding (and mhsds rounding);
//! - corc: no shown count from 1 to min_n - 1; no shown proportion or mean
//!   over fewer than min_n cases; no shown proportion standing for a count
//!   from 1 to min_n - 1;
//! - mhsds: on unit rows no shown count below 5, counts multiples of 5 and
//!   within 2.5 of the truth, percentages whole; the All row exact;
//! - derived values vanish with what they come from; the flag says which
//!   rows lost a value;
//! - every declared additive group really adds up (on the raw values), and
//!   with its total shown it never has exactly one withheld member, nor
//!   withheld members that add up to no more than their number.
//!
//! Data: the committed demo data (20 partnerships, 20,000 referrals) at
//! partnership level and at team level within a partnership, and a generated
//! set of 40 partnerships of about 60 referrals each (many small units).

use cypdash::catalog::{Catalog, Header, QueryFile, Role, SumOver};
use cypdash::dashboard::{Dashboard, GivenParams};
use cypdash::disclosure::{self, Policy};
use cypdash::engine::{Engine, EngineConfig};
use cypdash::generate::{generate, GenerateOptions};
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::util::display::array_value_to_string;
use std::collections::BTreeMap;
use std::path::Path;

/// One result as rows of optional numbers and key texts, by column name.
struct Grid {
    rows: usize,
    num: BTreeMap<String, Vec<Option<f64>>>,
    text: BTreeMap<String, Vec<Option<String>>>,
}

fn grid(schema: &SchemaRef, batches: &[RecordBatch]) -> Grid {
    let batch = concat_batches(schema, batches).unwrap();
    let mut num = BTreeMap::new();
    let mut text = BTreeMap::new();
    for (i, f) in schema.fields().iter().enumerate() {
        let a = batch.column(i);
        text.insert(
            f.name().clone(),
            (0..batch.num_rows())
                .map(|r| (!a.is_null(r)).then(|| array_value_to_string(a, r).unwrap()))
                .collect(),
        );
        if f.data_type().is_numeric() {
            let c = cast(a, &DataType::Float64).unwrap();
            let c = c
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Float64Array>()
                .unwrap();
            num.insert(
                f.name().clone(),
                (0..c.len())
                    .map(|r| (!c.is_null(r)).then(|| c.value(r)))
                    .collect(),
            );
        }
    }
    Grid {
        rows: batch.num_rows(),
        num,
        text,
    }
}

struct Checked<'a> {
    chart: &'a QueryFile,
    policy: Policy,
    min_n: i64,
    raw: &'a Grid,
    out: &'a Grid,
    label: String,
}

impl Checked<'_> {
    fn header(&self) -> &Header {
        &self.chart.header
    }

    fn fail(&self, r: usize, msg: String) -> ! {
        let key: Vec<String> = self
            .header()
            .columns
            .iter()
            .filter(|c| c.role == Some(Role::Key))
            .map(|c| format!("{}={:?}", c.name, self.raw.text[&c.name][r]))
            .collect();
        panic!(
            "{} [{}, {}, min_n {}] row {r} ({}): {msg}",
            self.chart.id,
            self.label,
            self.policy,
            self.min_n,
            key.join(" ")
        )
    }

    fn is_total(&self, r: usize) -> bool {
        self.header().sdc.as_ref().is_some_and(|s| {
            !s.unit.is_empty() && s.unit.iter().all(|u| self.raw.text[u][r].is_none())
        })
    }

    /// Withheld: NULL out where the raw value was not.
    fn withheld(&self, col: &str, r: usize) -> bool {
        self.out.text[col][r].is_none() && self.raw.text[col][r].is_some()
    }

    /// Hidden from a reader: withheld, or NULL beside a withheld
    /// denominator (a share of an empty unit whose n of 0 is withheld looks
    /// like any other withheld share; its count, 0, counts in the sum).
    fn hidden(&self, col: &str, r: usize) -> bool {
        let of = self
            .header()
            .columns
            .iter()
            .find(|c| c.name == col)
            .and_then(|c| c.of.as_ref());
        self.withheld(col, r)
            || (self.out.text[col][r].is_none() && of.is_some_and(|d| self.withheld(d, r)))
    }

    /// The true count a cell stands for.
    fn count(&self, col: &str, r: usize) -> Option<f64> {
        let spec = self.header().columns.iter().find(|c| c.name == col)?;
        match spec.role? {
            Role::Count | Role::Denominator | Role::Numerator => self.raw.num[col][r],
            Role::Proportion => match &spec.count {
                Some(k) => self.raw.num[k][r],
                None => {
                    let n = self.raw.num[spec.of.as_ref()?][r]?;
                    Some((self.raw.num[col][r]? / spec.scale.unwrap_or(1.0) * n).round())
                }
            },
            _ => None,
        }
    }

    fn check(&self) {
        assert_eq!(self.raw.rows, self.out.rows, "{}: row count", self.chart.id);
        let t = match self.policy {
            Policy::Mhsds => 5.0,
            _ => self.min_n as f64,
        };
        for spec in &self.header().columns {
            let c = spec.name.as_str();
            let role = spec.role.expect("every chart column has a role");
            for r in 0..self.raw.rows {
                let shown = self.out.text[c][r].is_some();
                if self.policy == Policy::None || role == Role::Key {
                    if role != Role::Flag && self.out.text[c][r] != self.raw.text[c][r] {
                        self.fail(r, format!("{c} changed"));
                    }
                    continue;
                }
                let national = self.policy == Policy::Mhsds && self.is_total(r);
                // Values are withheld or shown as they are, but for mhsds rounding.
                if shown
                    && !(self.policy == Policy::Mhsds && role != Role::Mean)
                    && self.out.text[c][r] != self.raw.text[c][r]
                    && role != Role::Flag
                {
                    self.fail(r, format!("{c} changed"));
                }
                if !shown || national {
                    continue;
                }
                let of = |name: &Option<String>| name.as_ref().and_then(|d| self.raw.num[d][r]);
                match role {
                    Role::Count | Role::Denominator | Role::Numerator => {
                        let k = self.raw.num[c][r].unwrap();
                        let bad = match self.policy {
                            Policy::Mhsds => {
                                let o = self.out.num[c][r].unwrap();
                                k < t || o % 5.0 != 0.0 || (o - k).abs() > 2.5
                            }
                            _ => k >= 1.0 && k < t,
                        };
                        if bad {
                            self.fail(r, format!("{c} = {k} shown"));
                        }
                    }
                    Role::Proportion => {
                        let share = spec
                            .count
                            .as_ref()
                            .is_none_or(|k| self.raw.num[k][r].is_some());
                        let n = of(&spec.of).unwrap_or(0.0);
                        if n < t {
                            self.fail(r, format!("{c} shown over n = {n}"));
                        }
                        if share {
                            let k = self.count(c, r).unwrap();
                            let small = match self.policy {
                                Policy::Mhsds => k < t,
                                _ => k >= 1.0 && k < t,
                            };
                            if small {
                                self.fail(r, format!("{c} stands for a count of {k}"));
                            }
                            if self.policy == Policy::Mhsds {
                                let pct =
                                    self.out.num[c][r].unwrap() * 100.0 / spec.scale.unwrap_or(1.0);
                                if (pct - pct.round()).abs() > 1e-9 {
                                    self.fail(r, format!("{c} = {pct}% is not whole"));
                                }
                            }
                        }
                    }
                    Role::Mean => {
                        let n = of(&spec.of).unwrap_or(0.0);
                        if n < t {
                            self.fail(r, format!("{c} shown over n = {n}"));
                        }
                    }
                    Role::Derived => {
                        for f in &spec.from {
                            if self.withheld(f, r) {
                                self.fail(r, format!("{c} shown though {f} is withheld"));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        // The flag says which rows lost a value.
        if let Some(flag) = self
            .header()
            .columns
            .iter()
            .find(|c| c.role == Some(Role::Flag))
        {
            for r in 0..self.raw.rows {
                let lost = self
                    .header()
                    .columns
                    .iter()
                    .any(|c| self.withheld(&c.name, r));
                let said = self.out.text[&flag.name][r].as_deref() == Some("true");
                if lost != said {
                    self.fail(r, format!("flag {said} but a value lost: {lost}"));
                }
            }
        }
        self.check_groups();
    }

    /// Every declared group adds up, and none gives a withheld value back.
    fn check_groups(&self) {
        let Some(sdc) = &self.header().sdc else {
            return;
        };
        let key = |cols: &[String], r: usize| -> Vec<Option<String>> {
            cols.iter().map(|c| self.raw.text[c][r].clone()).collect()
        };
        // (cells, total cells) as (column, row); a key is a row's values
        // of some columns.
        type Cells = Vec<(String, usize)>;
        type Key = Vec<Option<String>>;
        let mut groups: Vec<(Cells, Cells)> = Vec::new();
        // The total of a series: the row `total_when` names, else the
        // all-data row.
        let group_total = |r: usize| match &sdc.total_when {
            Some([c, v]) => self.raw.text[c][r].as_deref() == Some(v.as_str()),
            None => self.is_total(r),
        };
        let parts: Vec<String> = sdc.parts.iter().cloned().collect();
        for col in &sdc.across {
            let mut cells: BTreeMap<(Key, Key), Cells> = BTreeMap::new();
            let mut totals: BTreeMap<Vec<Option<String>>, Cells> = BTreeMap::new();
            for r in 0..self.raw.rows {
                if group_total(r) {
                    totals
                        .entry(key(&sdc.series, r))
                        .or_default()
                        .push((col.clone(), r));
                } else {
                    cells
                        .entry((key(&sdc.series, r), key(&parts, r)))
                        .or_default()
                        .push((col.clone(), r));
                }
            }
            for ((series, _), c) in cells {
                if let Some(t) = totals.get(&series) {
                    groups.push((c, t.clone()));
                }
            }
        }
        for sum in &sdc.sums {
            match sum.over {
                SumOver::Row => {
                    for r in 0..self.raw.rows {
                        groups.push((
                            sum.cells.iter().map(|c| (c.clone(), r)).collect(),
                            vec![(sum.total.clone(), r)],
                        ));
                    }
                }
                SumOver::Unit => {
                    for c in &sum.cells {
                        let mut by: BTreeMap<Vec<Option<String>>, (Cells, Cells)> = BTreeMap::new();
                        for r in 0..self.raw.rows {
                            let g = by.entry(key(&sdc.unit, r)).or_default();
                            g.0.push((c.clone(), r));
                            g.1.push((sum.total.clone(), r));
                        }
                        groups.extend(by.into_values());
                    }
                }
            }
        }
        for (cells, total) in groups {
            let (tc, tr) = &total[0];
            let Some(t) = self.count(tc, *tr) else {
                continue;
            };
            // A group with no values on its rows (a rater with no split)
            // has nothing to protect.
            if cells.iter().all(|(c, r)| self.count(c, *r).is_none()) {
                continue;
            }
            // The declaration is true: the cells add up to the total
            // (shares to within the rounding of the counts they imply).
            let sum: f64 = cells.iter().filter_map(|(c, r)| self.count(c, *r)).sum();
            let tolerance = if cells
                .iter()
                .any(|(c, _)| self.raw.num.contains_key(c) && self.is_share(c))
            {
                cells.len() as f64
            } else {
                1e-9
            };
            if (sum - t).abs() > tolerance {
                self.fail(*tr, format!("{tc}: cells add up to {sum}, total {t}"));
            }
            if total.iter().any(|(c, r)| self.withheld(c, *r)) {
                continue;
            }
            let hidden: Vec<f64> = cells
                .iter()
                .filter(|(c, r)| self.hidden(c, *r))
                .map(|(c, r)| self.count(c, *r).unwrap_or(0.0))
                .collect();
            let w = hidden.len();
            let sum = hidden.iter().sum::<f64>();
            // Withheld counts are >= 1 under corc (so a sum equal to their
            // number pins them all to 1); under mhsds they may be 0.
            let pinned = match self.policy {
                Policy::Mhsds => sum == 0.0,
                _ => sum <= w as f64,
            };
            let national =
                self.policy == Policy::Mhsds && total.iter().any(|(_, r)| self.is_total(*r));
            let protectable = cells
                .iter()
                .any(|(c, r)| !self.hidden(c, *r) && self.count(c, *r).is_some_and(|k| k > 0.0));
            if (w == 1 || (w > 1 && pinned)) && (!national || protectable) {
                self.fail(
                    *tr,
                    format!(
                        "{tc}: a group with its total shown gives back withheld {hidden:?}; cells {:?}",
                        cells
                            .iter()
                            .map(|(c, r)| (c.as_str(), *r, self.count(c, *r), self.hidden(c, *r)))
                            .collect::<Vec<_>>()
                    ),
                );
            }
        }
    }

    fn is_share(&self, col: &str) -> bool {
        self.header()
            .columns
            .iter()
            .any(|c| c.name == col && c.role == Some(Role::Proportion))
    }
}

async fn open(dir: &Path) -> Dashboard {
    let engine = Engine::open(EngineConfig::new(dir))
        .await
        .expect("open data");
    let dash = Dashboard::new(engine, Catalog::embedded().expect("catalogue"));
    dash.set_policy(Policy::None);
    dash
}

/// Run every chart raw and check every policy at several thresholds.
async fn check_all(dash: &Dashboard, label: &str, given: &GivenParams) -> usize {
    let mut withheld_cells = 0;
    let charts: Vec<QueryFile> = dash.catalog().charts().cloned().collect();
    for chart in &charts {
        let mut params: GivenParams = given
            .iter()
            .filter(|(k, _)| chart.param(k).is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        params.remove("min_n");
        let raw = dash
            .run(&chart.id, &params)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", chart.id));
        let raw_grid = grid(&raw.schema, &raw.batches);
        for policy in Policy::ALL {
            for min_n in [3, 5, 10] {
                let (schema, batches) =
                    disclosure::apply(policy, &chart.header, min_n, &raw.schema, &raw.batches)
                        .unwrap_or_else(|e| panic!("{}: {e}", chart.id));
                let out = grid(&schema, &batches);
                Checked {
                    chart,
                    policy,
                    min_n,
                    raw: &raw_grid,
                    out: &out,
                    label: label.to_string(),
                }
                .check();
                withheld_cells += (0..out.rows)
                    .flat_map(|r| out.text.iter().map(move |(c, v)| (c, r, v[r].is_none())))
                    .filter(|(c, r, none)| *none && raw_grid.text[*c][*r].is_some())
                    .count();
            }
        }
    }
    withheld_cells
}

#[test]
fn every_chart_obeys_every_policy_on_the_demo_data() {
    let rt = crate::runtime();
    rt.block_on(async {
        let dash = open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo")).await;
        let n = check_all(&dash, "demo, partnerships", &GivenParams::new()).await;
        assert!(n > 0, "the demo data should need some withholding");
        let teams: GivenParams = [("level", "service"), ("partnership", "3")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        check_all(&dash, "demo, teams of partnership 3", &teams).await;
    });
}

#[test]
fn every_chart_obeys_every_policy_on_many_small_units() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        &GenerateOptions {
            out: dir.path().to_path_buf(),
            referrals: 2_400,
            partnerships: 40,
            seed: 10,
            files_per_table: 1,
        },
        &mut |_| {},
    )
    .expect("generate");
    let rt = crate::runtime();
    rt.block_on(async {
        let dash = open(dir.path()).await;
        let n = check_all(&dash, "40 small partnerships", &GivenParams::new()).await;
        assert!(n > 0);
    });
}

/// `Dashboard::run` applies the chosen policy: the same cells as applying
/// it to the raw result.
#[test]
fn the_dashboard_applies_its_policy() {
    let rt = crate::runtime();
    rt.block_on(async {
        let dash = open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo")).await;
        let chart = dash
            .catalog()
            .chart("data_quality/completion")
            .unwrap()
            .clone();
        let raw = dash.run(&chart.id, &GivenParams::new()).await.unwrap();
        for policy in [Policy::Corc, Policy::Mhsds] {
            dash.set_policy(policy);
            let ran = dash.run(&chart.id, &GivenParams::new()).await.unwrap();
            let (schema, batches) =
                disclosure::apply(policy, &chart.header, 5, &raw.schema, &raw.batches).unwrap();
            assert_eq!(ran.schema, schema);
            assert_eq!(ran.batches, batches, "{policy}");
        }
    });
}
