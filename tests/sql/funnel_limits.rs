//! Issue 17: the limits file of every funnel chart of the demo data, the
//! charts found from their `[funnel]` declaration (not from a list).
//!
//! For each chart, under each disclosure policy and with default and other
//! parameters (other coverages, the normal approximation, overdispersion),
//! the limits file the export writes (`cypdash::export::limits`) is checked
//! against the SQL function `funnel_limits`, called with the kind, centre,
//! spread and tau2 read here from the chart's own result:
//! - each row is `funnel_limits` at its n, exactly (the same bits);
//! - every n from 1 to 100, every unit's n and the group's largest n are
//!   rows, and at every n left out a straight line between the rows beside
//!   it is within 0.1% of the funnel's half-width of `funnel_limits`;
//! - each unit row's own limits are exactly the limits row at the unit's n;
//! - a group has rows exactly when its centre (and spread, tau2) is shown
//!   and a unit of n > 0 is shown: a withheld centre writes no curve.

use crate::demo_invariants::open_demo;
use cypdash::catalog::funnel::COVERAGES;
use cypdash::catalog::params::Binder;
use cypdash::catalog::QueryFile;
use cypdash::dashboard::{Dashboard, GivenParams};
use cypdash::disclosure::Policy;
use cypdash::export::limits::{self, TOLERANCE};
use cypdash::export::normalise;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::scalar::ScalarValue;
use std::collections::{BTreeMap, BTreeSet};

/// A column as f64 (NULL as None).
fn floats(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    let a = cast(batch.column_by_name(name).unwrap(), &DataType::Float64).unwrap();
    let a = a.as_primitive::<Float64Type>();
    (0..a.len())
        .map(|r| a.is_valid(r).then(|| a.value(r)))
        .collect()
}

fn ints(batch: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    let a = cast(batch.column_by_name(name).unwrap(), &DataType::Int64).unwrap();
    let a = a.as_primitive::<Int64Type>();
    (0..a.len())
        .map(|r| a.is_valid(r).then(|| a.value(r)))
        .collect()
}

/// Each row's values of `columns`, as text.
fn keys(batch: &RecordBatch, columns: &[String]) -> Vec<Vec<String>> {
    (0..batch.num_rows())
        .map(|r| {
            columns
                .iter()
                .map(|c| {
                    let a = batch.column_by_name(c).unwrap();
                    if a.is_null(r) {
                        "NULL".to_string()
                    } else {
                        array_value_to_string(a, r).unwrap()
                    }
                })
                .collect()
        })
        .collect()
}

/// An exact SQL literal of a double.
fn lit(v: f64) -> String {
    format!("CAST('{v:?}' AS DOUBLE)")
}

/// `funnel_limits` at n = 1 ..= max_n, both coverages: (n, [l_in, u_in, l_out, u_out]).
async fn sql_curve(
    dash: &Dashboard,
    kind: &str,
    args: [f64; 3],
    coverages: [f64; 2],
    max_n: i64,
) -> BTreeMap<i64, [f64; 4]> {
    let [centre, spread, tau2] = args.map(lit);
    let call = |coverage: f64| {
        format!(
            "funnel_limits('{kind}', {centre}, value, {}, {spread}, {tau2})",
            lit(coverage)
        )
    };
    let sql = format!(
        "SELECT value AS n, {i}['lower'] AS a, {i}['upper'] AS b, {o}['lower'] AS c, \
         {o}['upper'] AS d FROM generate_series(1, {max_n}) ORDER BY n",
        i = call(coverages[0]),
        o = call(coverages[1]),
    );
    let batches = dash
        .engine()
        .sql(&sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut out = BTreeMap::new();
    for b in &batches {
        let n = ints(b, "n");
        let cols = ["a", "b", "c", "d"].map(|c| floats(b, c));
        for (r, k) in n.iter().enumerate() {
            out.insert(k.unwrap(), [0, 1, 2, 3].map(|i| cols[i][r].unwrap()));
        }
    }
    out
}

/// What one configuration showed, for the checks that some case happened.
#[derive(Debug, Default)]
struct Seen {
    groups_written: usize,
    groups_withheld: usize,
    units_matched: usize,
    rows_thinned: usize,
}

async fn check_chart(dash: &Dashboard, chart: &QueryFile, given: &GivenParams, seen: &mut Seen) {
    let id = &chart.id;
    let spec = chart.header.funnel.as_ref().unwrap();
    let result = dash
        .run(id, given)
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}"));
    let data = normalise(chart, &result.schema, &result.batches).unwrap();
    let lim = limits::limits_table(chart, &result.params, &data.schema, &data.batches)
        .unwrap_or_else(|e| panic!("{id}: {e}"))
        .expect("a [funnel] chart has a limits file");
    let rows = concat_batches(&data.schema, &data.batches).unwrap();

    // The chart's kind and coverages, as it ran.
    let kind = match spec.kind.strip_prefix('$') {
        Some(p) => match result.params.get(p) {
            Some(ScalarValue::Utf8(Some(k))) => k.clone(),
            other => panic!("{id}: {p} = {other:?}"),
        },
        None => spec.kind.clone(),
    };
    assert_eq!(lim.info.kind, kind, "{id}");
    let coverages = COVERAGES.map(|(name, default)| match result.params.get(name) {
        Some(ScalarValue::Float64(Some(v))) => *v,
        _ => default,
    });
    let names: Vec<String> = lim
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut want: Vec<String> = spec.group.clone();
    want.extend(
        [
            "n",
            "centre",
            "lower_95",
            "upper_95",
            "lower_998",
            "upper_998",
        ]
        .map(String::from),
    );
    if coverages != COVERAGES.map(|(_, d)| d) {
        want.extend(["coverage_inner", "coverage_outer"].map(String::from));
    }
    assert_eq!(names, want, "{id}: limits columns");

    // The chart's rows by group: centre, spread, tau2 and the units.
    let unit_cols = &chart.header.sdc.as_ref().unwrap().unit;
    let group_of = keys(&rows, &spec.group);
    let unit_key = keys(&rows, unit_cols);
    let centre = floats(&rows, "centre");
    let spread = spec.spread.as_ref().map(|c| floats(&rows, c));
    let tau2 = spec.tau2.as_ref().map(|c| floats(&rows, c));
    let n = ints(&rows, "n");
    let unit_limits = ["lower_95", "upper_95", "lower_998", "upper_998"].map(|c| floats(&rows, c));

    let lb = &lim.batch;
    let lgroup = keys(lb, &spec.group);
    let ln = ints(lb, "n");
    let lcentre = floats(lb, "centre");
    let lvals = ["lower_95", "upper_95", "lower_998", "upper_998"].map(|c| floats(lb, c));
    if names.contains(&"coverage_inner".to_string()) {
        for (c, v) in ["coverage_inner", "coverage_outer"].iter().zip(coverages) {
            assert!(floats(lb, c).iter().all(|x| *x == Some(v)), "{id}: {c}");
        }
    }

    let groups: BTreeSet<&Vec<String>> = group_of.iter().collect();
    let written: BTreeSet<&Vec<String>> = lgroup.iter().collect();
    assert!(
        written.is_subset(&groups),
        "{id}: limits of no group of the chart"
    );
    for g in groups {
        let mine: Vec<usize> = (0..rows.num_rows())
            .filter(|&r| &group_of[r] == g)
            .collect();
        let one = |col: Option<&Vec<Option<f64>>>| -> Option<f64> {
            let Some(col) = col else { return Some(0.0) };
            let vals: BTreeSet<Option<u64>> =
                mine.iter().map(|&r| col[r].map(f64::to_bits)).collect();
            match vals.into_iter().collect::<Vec<_>>().as_slice() {
                [Some(bits)] => Some(f64::from_bits(*bits)),
                _ => None,
            }
        };
        let args = (one(Some(&centre)), one(spread.as_ref()), one(tau2.as_ref()));
        let units: Vec<usize> = mine
            .iter()
            .copied()
            .filter(|&r| unit_key[r].iter().any(|k| k != "NULL"))
            .collect();
        let shown_n: BTreeSet<i64> = units
            .iter()
            .filter_map(|&r| n[r])
            .filter(|&k| k > 0)
            .collect();
        let lrows: Vec<usize> = (0..lb.num_rows()).filter(|&r| &lgroup[r] == g).collect();
        let (Some(c), Some(s), Some(t)) = args else {
            assert!(
                lrows.is_empty(),
                "{id} {g:?}: limits written with its centre withheld"
            );
            seen.groups_withheld += 1;
            continue;
        };
        let Some(&max_n) = shown_n.last() else {
            assert!(lrows.is_empty(), "{id} {g:?}: limits without a unit shown");
            continue;
        };
        seen.groups_written += 1;
        let file: BTreeMap<i64, usize> = lrows.iter().map(|&r| (ln[r].unwrap(), r)).collect();
        assert_eq!(file.len(), lrows.len(), "{id} {g:?}: one row per n");
        assert_eq!(
            file.keys().last(),
            Some(&max_n),
            "{id} {g:?}: ends at the largest n"
        );
        for k in (1..=100.min(max_n)).chain(shown_n.iter().copied()) {
            assert!(file.contains_key(&k), "{id} {g:?}: n = {k} missing");
        }

        // Every row is funnel_limits at its n; every n left out is within
        // the tolerance of the straight line between the rows beside it.
        let curve = sql_curve(dash, &kind, [c, s, t], coverages, max_n).await;
        let at = |r: usize| [0, 1, 2, 3].map(|i| lvals[i][r].unwrap());
        for (&k, &r) in &file {
            assert_eq!(
                lcentre[r].map(f64::to_bits),
                Some(c.to_bits()),
                "{id} {g:?}"
            );
            assert_eq!(
                at(r).map(f64::to_bits),
                curve[&k].map(f64::to_bits),
                "{id} {g:?}: n = {k}: {:?} against funnel_limits {:?}",
                at(r),
                curve[&k]
            );
        }
        let kept: Vec<i64> = file.keys().copied().collect();
        for w in kept.windows(2) {
            let (a, b) = (w[0], w[1]);
            for m in (a + 1)..b {
                seen.rows_thinned += 1;
                let (pa, pb, pm) = (curve[&a], curve[&b], curve[&m]);
                let share = (m - a) as f64 / (b - a) as f64;
                for (i, (&from, &to)) in pa.iter().zip(&pb).enumerate() {
                    let line = from + (to - from) * share;
                    let half = (pm[i / 2 * 2 + 1] - pm[i / 2 * 2]).abs() / 2.0;
                    assert!(
                        (line - pm[i]).abs() <= TOLERANCE * half,
                        "{id} {g:?}: n = {m} between {a} and {b}: line {line}, curve {}",
                        pm[i]
                    );
                }
            }
        }

        // Each unit's own limits are the limits row at its n.
        for &r in &units {
            let own = [0, 1, 2, 3].map(|i| unit_limits[i][r]);
            if own.iter().all(Option::is_none) {
                continue;
            }
            let k = n[r].unwrap_or_else(|| panic!("{id}: limits shown without n"));
            let lr = file[&k];
            assert_eq!(
                own.map(|v| v.unwrap().to_bits()),
                at(lr).map(f64::to_bits),
                "{id} {g:?} unit {:?}: own limits against the limits row at n = {k}",
                unit_key[r]
            );
            seen.units_matched += 1;
        }
    }
}

#[test]
fn every_funnel_charts_limits_are_funnel_limits_and_meet_its_units() {
    crate::runtime().block_on(async {
        let dash = open_demo().await;
        let charts: Vec<QueryFile> = dash
            .catalog()
            .charts()
            .filter(|c| c.header.funnel.is_some())
            .cloned()
            .collect();
        let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
        for expected in [
            "who/severity_sdq",
            "outcomes/effect_size",
            "national/improvement_funnel",
        ] {
            assert!(
                ids.contains(&expected),
                "{expected} declares no funnel: {ids:?}"
            );
        }
        let given = |pairs: &[(&str, &str)]| -> GivenParams {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let configurations = [
            (Policy::Corc, given(&[])),
            (Policy::None, given(&[])),
            (Policy::Mhsds, given(&[])),
            (
                Policy::None,
                given(&[
                    ("coverage_inner", "90"),
                    ("coverage_outer", "99"),
                    ("funnel_kind", "proportion"),
                    ("overdispersion", "true"),
                ]),
            ),
            // A threshold that withholds some centres (All rows under 600 cases).
            (Policy::Corc, given(&[("min_n", "600")])),
        ];
        let refs: Vec<&QueryFile> = charts.iter().collect();
        let mut totals = Seen::default();
        for (policy, params) in &configurations {
            dash.set_policy(*policy);
            let per_chart = Binder::selection(refs.iter().copied())
                .bind(params)
                .unwrap();
            let mut seen = Seen::default();
            for (chart, bound) in charts.iter().zip(&per_chart) {
                check_chart(&dash, chart, &bound.given, &mut seen).await;
            }
            assert!(seen.groups_written > 0, "{policy} {params:?}: {seen:?}");
            totals.groups_withheld += seen.groups_withheld;
            totals.units_matched += seen.units_matched;
            totals.rows_thinned += seen.rows_thinned;
        }
        assert!(
            totals.groups_withheld > 0 && totals.units_matched > 0 && totals.rows_thinned > 0,
            "some case never happened: {totals:?}"
        );
    });
}
