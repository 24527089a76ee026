//! The national measures' tables (chart kinds `national_measures` and
//! `national_published`): NHS England's CYP outcome measures per unit and
//! rater, and the published figures of the All row beside the highlighted
//! unit's. Every cell is a value of the chart's result as the disclosure
//! policy left it; a withheld value reads "withheld".

use super::frame::Row;
use super::svg::{el, Writer};
use super::{Format, Ran, Units};

/// The raters drawn, in table order, with their column group titles.
const RATERS: &[(&str, &str)] = &[
    ("any", "Any rater"),
    ("self", "Self-rated (SDQ self, RCADS self, goals)"),
    ("parent", "Parent-rated (SDQ parent, RCADS parent)"),
];

/// A rater's share columns: (percentage, count, heading).
const ASSESSED: &[(&str, &str, &str)] = &[
    ("pct_with_assessment", "with_assessment", "assessed"),
    ("pct_paired", "paired", "paired"),
];
const OUTCOMES: &[(&str, &str, &str)] = &[
    ("pct_improvement", "improvement", "improved"),
    ("pct_no_change", "no_change", "no change"),
    ("pct_deterioration", "deterioration", "deteriorated"),
];

/// A `national_measures` chart: one row per unit (the All row first), the
/// population and MHS110, then per rater the shares assessed and paired (of
/// MHS110) and improved, unchanged and deteriorated (of the paired), each
/// with its count.
pub(crate) fn measures_table(chart: &Ran, units: &Units) -> String {
    let mut unit_rows: Vec<Row> = Vec::new();
    for r in chart.frame.iter() {
        if !unit_rows.iter().any(|u| units.label(u) == units.label(&r)) {
            unit_rows.push(r);
        }
    }
    unit_rows.sort_by_key(|r| (!units.is_all(r), units.id(r)));
    let row_of = |unit: &Row, rater: &str| {
        chart
            .frame
            .iter()
            .find(|r| units.label(r) == units.label(unit) && r.str("rater") == Some(rater))
    };
    let mut w = Writer::new();
    w.open(el("div").a("class", "table-wrap national"));
    // Blocks of MEASURES_ROWS units, each a table kept whole when printed
    // (a table left to break across pages can leave its last rows alone on
    // a page), the All row heading the first.
    for (i, range) in super::svg::chunks(unit_rows.len(), MEASURES_ROWS)
        .into_iter()
        .enumerate()
    {
        measures_block(&mut w, chart, units, &unit_rows[range], i > 0, &row_of);
    }
    w.close();
    w.finish()
}

/// Units per printed block of the national measures' table. Printed, a
/// row takes two lines (the unit's name and each count in brackets wrap):
/// 14 rows and the two header rows fill an A4 landscape page, 12 leave
/// room for the caption and the closing note (checked at 60 partnerships
/// by scripts/browser/check-report.sh).
const MEASURES_ROWS: usize = 12;

fn measures_block<'a>(
    w: &mut Writer,
    chart: &Ran,
    units: &Units,
    unit_rows: &[Row<'a>],
    continued: bool,
    row_of: &impl Fn(&Row<'a>, &str) -> Option<Row<'a>>,
) {
    w.open(
        el("table")
            .a("class", "metrics metrics-page national-measures")
            .a("data-chart", &chart.file.id),
    );
    w.text(
        el("caption"),
        if continued {
            "NHS England's CYP outcome measures by the national method (continued)"
        } else {
            "NHS England's CYP outcome measures by the national method: % of MHS110 assessed and paired, % of the paired improved, unchanged and deteriorated (count in brackets)"
        },
    );
    w.open(el("thead"));
    w.open(el("tr"));
    w.text(
        el("th").a("scope", "col").a("rowspan", 2usize),
        units.level.noun(),
    );
    w.text(
        el("th")
            .a("scope", "col")
            .a("rowspan", 2usize)
            .a_opt("title", chart.description_of("closed_referrals")),
        "Closed referrals",
    );
    w.text(
        el("th")
            .a("scope", "col")
            .a("rowspan", 2usize)
            .a_opt("title", chart.description_of("closed_2_contacts")),
        "MHS110: 2+ contacts",
    );
    for (rater, title) in RATERS {
        let span = if *rater == "any" {
            ASSESSED.len()
        } else {
            ASSESSED.len() + OUTCOMES.len()
        };
        w.text(el("th").a("scope", "colgroup").a("colspan", span), title);
    }
    w.close();
    w.open(el("tr"));
    for (rater, _) in RATERS {
        for (pct, _, head) in columns(rater) {
            w.text(
                el("th")
                    .a("scope", "col")
                    .a_opt("title", chart.description_of(pct)),
                head,
            );
        }
    }
    w.close().close();
    w.open(el("tbody"));
    for unit in unit_rows {
        w.open(
            el("tr")
                .a_opt("class", units.is_highlight(unit).then_some("highlight"))
                .a("data-unit", units.label(unit)),
        );
        // The unit's number (as on the funnels and in the key) and name.
        let name = match unit.str("unit_name") {
            Some(n) if !units.is_all(unit) => format!("{} {n}", units.label(unit)),
            _ => units.long_label(unit),
        };
        w.text(el("th").a("scope", "row"), &name);
        let any = row_of(unit, "any");
        for column in ["closed_referrals", "closed_2_contacts"] {
            cell(w, any.as_ref(), |r| r.i64(column).map(|n| n.to_string()));
        }
        for (rater, _) in RATERS {
            let row = row_of(unit, rater);
            for (pct, count, _) in columns(rater) {
                cell(w, row.as_ref(), |r| {
                    let share = r.f64(pct)?;
                    let n = r.i64(count).map(|n| format!(" ({n})")).unwrap_or_default();
                    Some(format!("{}{n}", Format::Percent.text(share)))
                });
            }
        }
        w.close();
    }
    w.close().close();
}

fn columns(
    rater: &str,
) -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    let outcomes: &'static [(&str, &str, &str)] = if rater == "any" { &[] } else { OUTCOMES };
    ASSESSED.iter().chain(outcomes)
}

/// One cell: the value, "withheld" when the policy withheld it, empty
/// when there is none (a share of 0 paired).
fn cell(w: &mut Writer, row: Option<&Row>, text: impl Fn(&Row) -> Option<String>) {
    match row {
        Some(r) => match text(r) {
            Some(t) => w.text(el("td"), &t),
            None if r.flag("suppressed") => w.text(el("td").a("class", "suppressed"), "withheld"),
            None => w.text(el("td"), ""),
        },
        None => w.text(el("td"), ""),
    };
}

/// A `national_published` chart: every measure as published for all data (the All
/// row) and, when the report highlights a unit, for that unit (rounded and
/// `*` by the national rule). The breakdowns are in the data table.
pub(crate) fn published_table(chart: &Ran, units: &Units) -> String {
    let level = units.level.as_str();
    let highlight = |r: &Row| r.str("breakdown") == Some(level) && units.is_highlight(r);
    let highlighted_name = chart
        .frame
        .iter()
        .find(|r| highlight(r))
        .and_then(|r| r.str("unit").map(str::to_string));
    let mut w = Writer::new();
    w.open(el("div").a("class", "table-wrap national"));
    w.open(
        el("table")
            .a("class", "metrics national-published")
            .a("data-chart", &chart.file.id),
    );
    w.text(
        el("caption"),
        "As NHS England would publish them: all data like England (exact, percentages to 1 decimal); a partnership or team like a provider (below 5 is *, counts to the nearest 5, whole percentages)",
    );
    w.open(el("thead")).open(el("tr"));
    w.text(el("th").a("scope", "col"), "Measure");
    w.text(el("th").a("scope", "col"), "What it counts");
    w.text(el("th").a("scope", "col"), "All data");
    if let Some(name) = &highlighted_name {
        w.text(el("th").a("scope", "col"), name);
    }
    w.close().close().open(el("tbody"));
    for r in chart
        .frame
        .iter()
        .filter(|r| r.str("breakdown") == Some("all"))
    {
        let id = r.str("measure_id").unwrap_or_default();
        w.open(el("tr").a("data-measure", id));
        w.text(el("th").a("scope", "row"), id);
        w.text(el("td"), r.str("measure_name").unwrap_or_default());
        w.text(el("td"), r.str("published").unwrap_or_default());
        if highlighted_name.is_some() {
            let unit = chart
                .frame
                .iter()
                .find(|u| highlight(u) && u.str("measure_id") == Some(id));
            w.text(
                el("td"),
                unit.and_then(|u| u.str("published")).unwrap_or_default(),
            );
        }
        w.close();
    }
    w.close().close().close();
    w.finish()
}
