//! The discussion box of each chart, in our own words: each chart's text
//! is its own `queries/<section>/<chart>.md` (see [`Discussion`]); here
//! are the box of a chart without one and the cover's texts.
//!
//! Each box says what the chart shows, then offers questions in the
//! proportion a team is advised to spend its time: about a quarter on
//! whether the data can be trusted, about three quarters on what the data
//! would mean for practice if they are right. A test keeps that balance.

pub use crate::catalog::Discussion;

/// Text shown for a chart with no discussion of its own (no
/// `queries/<section>/<chart>.md`).
pub fn generic() -> Discussion {
    Discussion {
        shows: "The values of this chart for each unit compared, as given in the data table below."
            .to_string(),
        data_issues: vec![
            "Are the records behind these values complete, and recorded the same way in every unit?"
                .to_string(),
        ],
        practice: vec![
            "If our value differs from the others, what in the way we work could explain it?"
                .to_string(),
            "Who else in the team should see this, and what would we want to know next?"
                .to_string(),
            "What one change could we try, and how would we see its effect on this chart next time?"
                .to_string(),
        ],
        indicator: None,
    }
}

/// How to read a funnel plot (for the cover).
pub const FUNNEL_HOW_TO: &[&str] = &[
    "Each dot is a partnership: across, the number of cases its value rests on; up, the value.",
    "The solid line is the value over all compared cases. The dashed lines mark how far a partnership of that size could sit from it by chance alone: the inner pair at 95%, the outer at 99.8%.",
    "A dot above the upper lines has a value higher than chance would explain, a dot below the lower lines a lower one; inside the lines, the partnership is in line with the rest.",
    "Small partnerships have wide limits, so only large differences stand out for them. Values from fewer cases than the suppression threshold are not plotted and are listed under the chart.",
];

/// How to use the dashboard (for the cover).
pub const USING_THE_DASHBOARD: &[&str] = &[
    "Find your partnership's number in the key at the end, then find its dot or bar on each chart; it is drawn larger and labelled when the report highlights it.",
    "Look at the charts with colleagues. For each, spend about a quarter of the time on whether the data can be trusted, and the rest on what the data would mean for practice if they are right.",
    "Each chart has a discussion box with questions for both parts, and a data table with every value it shows.",
    "Share what you found, and what you decided, with the rest of the service.",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, ChartKind};

    fn words(parts: &[String]) -> usize {
        parts.iter().map(|p| p.split_whitespace().count()).sum()
    }

    #[test]
    fn every_chart_has_its_own_discussion() {
        let catalog = Catalog::embedded().unwrap();
        for chart in catalog.charts() {
            assert!(
                catalog.discussion(&chart.id).is_some(),
                "{} has no discussion of its own ({}.md)",
                chart.id,
                chart.id
            );
        }
    }

    #[test]
    fn data_issues_take_about_a_quarter_of_the_questions() {
        let catalog = Catalog::embedded().unwrap();
        for chart in catalog
            .charts()
            .filter(|c| ChartKind::of(c) != ChartKind::Key)
        {
            let d = catalog.discussion(&chart.id).expect("a discussion");
            let issues = words(&d.data_issues);
            let practice = words(&d.practice);
            assert!(practice > 0 && issues > 0, "{}", chart.id);
            let share = issues as f64 / (issues + practice) as f64;
            assert!(
                (0.15..=0.35).contains(&share),
                "{}: data issues are {:.0}% of the questions ({issues} of {} words)",
                chart.id,
                share * 100.0,
                issues + practice
            );
        }
        let g = generic();
        assert!(words(&g.data_issues) > 0 && words(&g.practice) > 0);
    }
}
