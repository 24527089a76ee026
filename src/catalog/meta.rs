//! What the report and the catalogue know about a chart besides its SQL,
//! kept with the chart (issue 11): the `[chart]` table and `[[metrics]]`
//! of its header, its discussion in `queries/<section>/<chart>.md`, and the
//! section's title and order in `queries/<section>/_section.toml`.
//!
//! ```text
//! -- [chart]
//! -- order = 3                 # place within the section
//! -- kind = "funnel"           # how the report draws it (see ChartKind)
//! --
//! -- [[metrics]]               # the metric codes the chart reports
//! -- code = "paired_any"
//! -- label = "Any measure paired"
//! -- headline = true           # a funnel chart draws its headline metrics (default: the first)
//! -- better = "higher"         # the better direction, if it has one
//! -- benchmark = "proportion"  # a benchmark headline, with its funnel kind
//! -- scores = { measure = "SDQ", scale = "total_difficulties", informant = "parent" }
//! --                           # a mean or effect-size headline: the scores it summarises
//! ```
//!
//! The catalogue also offers these facts to SQL: the view `chart_metric`
//! ([`chart_metric_block`]) has one row per declared metric, so the
//! benchmark reads its headlines from the chart headers and the shared
//! proportion funnel counts every declared metric.

use super::{CatalogError, QueryFile, SharedKind};
use serde::Deserialize;
use std::fmt;

/// The file in a section folder holding its title and order.
pub const SECTION_FILE: &str = "_section.toml";

/// A dashboard section: a folder of charts.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// The folder name (`who`).
    #[serde(skip_deserializing)]
    pub name: String,
    /// The question the section answers.
    pub title: String,
    /// Place on the dashboard (lower first).
    pub order: u32,
    /// Its short mark on the page: the number in the progress indicator
    /// and the contents (`1`), or a word (`Key`).
    pub short: String,
    /// Whether the progress indicator walks through it.
    #[serde(default = "yes")]
    pub progress: bool,
}

fn yes() -> bool {
    true
}

impl Section {
    /// A section folder without `_section.toml`: after the declared ones,
    /// titled by its name.
    pub fn undeclared(name: &str) -> Self {
        Self {
            name: name.to_string(),
            title: name.replace('_', " "),
            order: u32::MAX,
            short: name.to_string(),
            progress: false,
        }
    }

    /// The heading on the page: `1. Who is ...?`, or the title alone.
    pub fn heading(&self) -> String {
        if self.progress {
            format!("{}. {}", self.short, self.title)
        } else {
            self.title.clone()
        }
    }

    pub(super) fn parse(name: &str, file: &str, text: &str) -> Result<Self, CatalogError> {
        let mut section: Section = toml::from_str(text).map_err(|e| CatalogError::Header {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        section.name = name.to_string();
        Ok(section)
    }
}

/// How the report draws a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// value, n and funnel limits per unit.
    Funnel,
    /// category and pct per unit: stacked bars.
    Categories,
    /// item and pct per unit: a dot strip per item.
    Items,
    /// ESQ items with certainly / partly / not true shares.
    Esq,
    /// mean_t1 and mean_t2 per unit: dot-and-line.
    Change,
    /// Headline values per partnership and metric with positions.
    Benchmark,
    /// The key to unit numbers.
    Key,
    /// NHS England's outcome measures per unit and rater: a table.
    NationalMeasures,
    /// The national measures as published: All beside the highlighted unit.
    NationalPublished,
    /// The data table only.
    #[default]
    Table,
}

impl ChartKind {
    /// A chart's kind, as its `[chart]` table declares (a table without).
    pub fn of(file: &QueryFile) -> Self {
        file.header
            .chart
            .as_ref()
            .map(|c| c.kind)
            .unwrap_or_default()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChartKind::Funnel => "funnel",
            ChartKind::Categories => "categories",
            ChartKind::Items => "items",
            ChartKind::Esq => "esq",
            ChartKind::Change => "change",
            ChartKind::Benchmark => "benchmark",
            ChartKind::Key => "key",
            ChartKind::NationalMeasures => "national-measures",
            ChartKind::NationalPublished => "national-published",
            ChartKind::Table => "table",
        }
    }

    /// The output columns the report reads for this kind.
    pub fn needs(self) -> &'static [&'static str] {
        match self {
            ChartKind::Funnel => &["value", "n", "lower_998", "upper_998"],
            ChartKind::Categories => &["category", "pct"],
            ChartKind::Items => &["item", "pct"],
            ChartKind::Esq => &["item", "pct_certainly_true"],
            ChartKind::Change => &["mean_t1", "mean_t2"],
            ChartKind::Benchmark => &["chart", "metric", "collaborative_value", "position"],
            ChartKind::NationalMeasures => &["rater", "closed_2_contacts"],
            ChartKind::NationalPublished => &["measure_id", "published"],
            ChartKind::Key | ChartKind::Table => &[],
        }
    }
}

impl fmt::Display for ChartKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `[chart]` table of a chart header.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChartMeta {
    /// Place within the section (lower first; charts without one follow
    /// in name order).
    #[serde(default)]
    pub order: Option<u32>,
    /// How the report draws it.
    #[serde(default)]
    pub kind: ChartKind,
    /// Figures of the report's cover taken from this chart.
    #[serde(default)]
    pub cover: Vec<CoverFigure>,
}

/// A figure on the report's cover read from a chart's result.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CoverFigure {
    /// What it counts, as the cover says it.
    pub label: String,
    /// `all`: the column on the All row (the row of `metric` when given);
    /// `rows`: the number of rows; `sum`: the column summed over the rows.
    #[serde(default)]
    pub take: Take,
    #[serde(default)]
    pub column: Option<String>,
    #[serde(default)]
    pub metric: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Take {
    #[default]
    All,
    Rows,
    Sum,
}

/// Which way a measure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Higher,
    Lower,
}

/// The funnel of a benchmark headline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchmarkKind {
    /// A share of cases: the benchmark's `funnel_kind`.
    Proportion,
    /// A mean score: `mean` limits with the collaborative's SD.
    Mean,
    /// A pre-post effect size: `effect_size` limits with the pooled r.
    EffectSize,
}

impl BenchmarkKind {
    fn as_str(self) -> &'static str {
        match self {
            BenchmarkKind::Proportion => "proportion",
            BenchmarkKind::Mean => "mean",
            BenchmarkKind::EffectSize => "effect_size",
        }
    }
}

/// One metric code a chart reports (the values of its `metric` column, or
/// for a chart without one, the code the benchmark knows it by).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    pub code: String,
    /// How the report names it (axis and panel titles, table heads).
    pub label: String,
    /// A funnel chart draws its headline metrics as funnels and lists
    /// the rest in a table (none marked: the first metric is drawn).
    #[serde(default)]
    pub headline: bool,
    #[serde(default)]
    pub better: Option<Better>,
    /// A headline of the benchmark, with the funnel it is placed on.
    #[serde(default)]
    pub benchmark: Option<BenchmarkKind>,
    /// A `mean` or `effect_size` benchmark headline: the scores whose T1s
    /// (or T1/T2 pairs) the benchmark summarises for it.
    #[serde(default)]
    pub scores: Option<MetricScores>,
}

/// The scores a `mean` or `effect_size` benchmark headline summarises: one
/// scale of one measure from one informant (the keys of `outcome_pair`).
/// The benchmark takes a mean's cases from the T1s of the in-scope
/// referrals, an effect size's from their pairs (`paired_outcome`), so a
/// new headline of either kind needs no SQL.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricScores {
    pub measure: String,
    pub scale: String,
    pub informant: String,
}

/// A chart's discussion box, from `queries/<section>/<chart>.md`:
///
/// ```markdown
/// What the chart shows (the first paragraph).
///
/// ## Data issues
/// - A question about whether the data can be trusted
///
/// ## Practice
/// - A question for practice, if the data are right
///
/// ## Quality indicator
/// Quality indicator 8: ...
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Discussion {
    pub shows: String,
    pub data_issues: Vec<String>,
    pub practice: Vec<String>,
    pub indicator: Option<String>,
}

impl Discussion {
    pub(super) fn parse(file: &str, text: &str) -> Result<Self, CatalogError> {
        let err = |message: String| CatalogError::Header {
            file: file.to_string(),
            message,
        };
        #[derive(PartialEq)]
        enum Part {
            Shows,
            Data,
            Practice,
            Indicator,
        }
        let mut d = Discussion::default();
        let mut part = Part::Shows;
        let mut indicator = String::new();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if let Some(heading) = t.strip_prefix("## ") {
                part = match heading.trim() {
                    "Data issues" => Part::Data,
                    "Practice" => Part::Practice,
                    "Quality indicator" => Part::Indicator,
                    other => {
                        return Err(err(format!(
                            "line {}: unknown heading `{other}` (use Data issues, Practice, Quality indicator)",
                            i + 1
                        )))
                    }
                };
                continue;
            }
            if t.is_empty() {
                continue;
            }
            let append = |s: &mut String| {
                if !s.is_empty() {
                    s.push(' ');
                }
                s.push_str(t);
            };
            match part {
                Part::Shows => append(&mut d.shows),
                Part::Indicator => append(&mut indicator),
                Part::Data | Part::Practice => {
                    let list = if part == Part::Data {
                        &mut d.data_issues
                    } else {
                        &mut d.practice
                    };
                    match t.strip_prefix("- ") {
                        Some(item) => list.push(item.trim().to_string()),
                        None => match list.last_mut() {
                            Some(last) => {
                                last.push(' ');
                                last.push_str(t);
                            }
                            None => {
                                return Err(err(format!(
                                    "line {}: a question starts with `- `",
                                    i + 1
                                )))
                            }
                        },
                    }
                }
            }
        }
        if d.shows.is_empty() {
            return Err(err(
                "starts with what the chart shows, before any heading".to_string()
            ));
        }
        d.indicator = (!indicator.is_empty()).then_some(indicator);
        Ok(d)
    }
}

/// The chart's report facts are consistent with its declared columns.
pub(super) fn check(chart: &QueryFile) -> Result<(), CatalogError> {
    let err = |message: String| CatalogError::Header {
        file: format!("{}.sql", chart.id),
        message,
    };
    let has = |c: &str| chart.header.columns.iter().any(|col| col.name == c);
    let kind = chart
        .header
        .chart
        .as_ref()
        .map(|c| c.kind)
        .unwrap_or_default();
    if let Some(missing) = kind.needs().iter().find(|c| !has(c)) {
        return Err(err(format!(
            "[chart] kind `{kind}` reads column `{missing}`, which is not declared"
        )));
    }
    let metrics = &chart.header.metrics;
    for (i, m) in metrics.iter().enumerate() {
        if metrics[..i].iter().any(|o| o.code == m.code) {
            return Err(err(format!("metric `{}` is declared twice", m.code)));
        }
        if (m.headline || m.benchmark.is_some()) && kind != ChartKind::Funnel {
            return Err(err(format!(
                "metric `{}`: only a funnel chart has headline or benchmark metrics",
                m.code
            )));
        }
        let of_scores = matches!(
            m.benchmark,
            Some(BenchmarkKind::Mean | BenchmarkKind::EffectSize)
        );
        if of_scores != m.scores.is_some() {
            return Err(err(format!(
                "metric `{}`: a `mean` or `effect_size` benchmark headline names its `scores` \
                 (measure, scale, informant), and no other metric does",
                m.code
            )));
        }
    }
    if let Some(meta) = &chart.header.chart {
        for f in &meta.cover {
            match (&f.column, f.take) {
                (Some(c), _) if !has(c) => {
                    return Err(err(format!(
                        "[[chart.cover]] `{}` reads column `{c}`, which is not declared",
                        f.label
                    )))
                }
                (None, Take::All | Take::Sum) => {
                    return Err(err(format!(
                        "[[chart.cover]] `{}` names its `column`",
                        f.label
                    )))
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The generated shared view `chart_metric`: one row per metric declared
/// in a chart header, charts in dashboard order.
pub(super) fn chart_metric_block(charts: &[&QueryFile]) -> QueryFile {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut rows = Vec::new();
    for (chart_order, chart) in charts.iter().enumerate() {
        for (metric_order, m) in chart.header.metrics.iter().enumerate() {
            let scores = |f: fn(&MetricScores) -> &str| {
                m.scores
                    .as_ref()
                    .map_or_else(|| "null".to_string(), |s| quote(f(s)))
            };
            rows.push(format!(
                "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                quote(&chart.id),
                quote(&m.code),
                quote(&m.label),
                m.headline,
                m.better
                    .map(|b| quote(if b == Better::Higher {
                        "higher"
                    } else {
                        "lower"
                    }))
                    .unwrap_or_else(|| "null".to_string()),
                m.benchmark
                    .map(|b| quote(b.as_str()))
                    .unwrap_or_else(|| "null".to_string()),
                chart_order + 1,
                metric_order + 1,
                scores(|s| &s.measure),
                scores(|s| &s.scale),
                scores(|s| &s.informant),
            ));
        }
    }
    let select = "select cast(column1 as varchar) as chart, cast(column2 as varchar) as metric, \
         cast(column3 as varchar) as label, cast(column4 as boolean) as headline, \
         cast(column5 as varchar) as better, cast(column6 as varchar) as benchmark, \
         cast(column7 as bigint) as chart_order, cast(column8 as bigint) as metric_order, \
         cast(column9 as varchar) as measure, cast(column10 as varchar) as scale, \
         cast(column11 as varchar) as informant";
    let body = if rows.is_empty() {
        format!("{select} from (values ('', '', '', false, '', '', 0, 0, '', '', '')) where false")
    } else {
        format!("{select} from (values\n    {})", rows.join(",\n    "))
    };
    let columns = [
        ("chart", "Utf8", "The chart (`section/name`)"),
        ("metric", "Utf8", "The metric code"),
        ("label", "Utf8", "How the report names it"),
        ("headline", "Boolean", "Drawn as a funnel"),
        ("better", "Utf8", "`higher`, `lower`, or NULL: no better direction"),
        ("benchmark", "Utf8", "The benchmark funnel of a headline: `proportion`, `mean`, `effect_size`; NULL: not in the benchmark"),
        ("chart_order", "Int64", "The chart's place on the dashboard"),
        ("metric_order", "Int64", "The metric's place in its chart header"),
        ("measure", "Utf8", "A mean or effect-size headline: the measure of its scores; else NULL"),
        ("scale", "Utf8", "A mean or effect-size headline: the scale of its scores; else NULL"),
        ("informant", "Utf8", "A mean or effect-size headline: whose scores; else NULL"),
    ];
    let header = super::Header {
        title: "Metrics declared by the charts".to_string(),
        description: "One row per [[metrics]] entry of a chart header (generated by the catalogue; not a file)."
            .to_string(),
        kind: Some(SharedKind::View),
        stage: Some(0),
        params: Vec::new(),
        columns: columns
            .iter()
            .map(|(name, ty, description)| super::ColumnSpec {
                name: name.to_string(),
                ty: ty.to_string(),
                description: description.to_string(),
                unit: None,
                null_when: None,
                role: None,
                of: None,
                count: None,
                scale: None,
                from: Vec::new(),
                rounds: false,
            })
            .collect(),
        ..super::Header::default()
    };
    QueryFile {
        id: format!("{}/chart_metric", super::SHARED_DIR),
        section: super::SHARED_DIR.to_string(),
        name: "chart_metric".to_string(),
        header,
        sql: format!("-- Generated by the catalogue from the chart headers.\n{body}\n"),
        path: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A funnel chart declaring `metric` (an inline TOML table).
    fn funnel_chart(metric: &str) -> QueryFile {
        let columns: String = ["value", "n", "lower_998", "upper_998"]
            .iter()
            .map(|c| {
                format!("[[columns]]\nname = \"{c}\"\ntype = \"Float64\"\ndescription = \"d\"\n")
            })
            .collect();
        let text = format!(
            "title = \"t\"\ndescription = \"d\"\nmetrics = [{metric}]\n\n[chart]\nkind = \"funnel\"\n\n{columns}"
        );
        QueryFile {
            id: "who/x".to_string(),
            section: "who".to_string(),
            name: "x".to_string(),
            header: toml::from_str(&text).unwrap(),
            sql: String::new(),
            path: None,
        }
    }

    #[test]
    fn a_mean_or_effect_size_headline_names_its_scores() {
        let scores =
            r#"scores = { measure = "SDQ", scale = "total_difficulties", informant = "parent" }"#;
        let mean = funnel_chart(&format!(
            r#"{{ code = "m", label = "M", benchmark = "mean", {scores} }}"#
        ));
        check(&mean).unwrap();
        let sql = chart_metric_block(&[&mean]).sql;
        assert!(
            sql.contains("'SDQ', 'total_difficulties', 'parent'"),
            "{sql}"
        );
        let bare = funnel_chart(r#"{ code = "m", label = "M", benchmark = "effect_size" }"#);
        assert!(check(&bare)
            .unwrap_err()
            .to_string()
            .contains("names its `scores`"));
        let proportion = funnel_chart(&format!(
            r#"{{ code = "p", label = "P", benchmark = "proportion", {scores} }}"#
        ));
        assert!(check(&proportion).is_err());
    }

    #[test]
    fn a_discussion_reads_its_parts() {
        let text = "It shows\nthis.\n\n## Data issues\n- Is it\n  complete?\n\n## Practice\n- What next?\n- Who?\n\n## Quality indicator\nQI 8.\n";
        let d = Discussion::parse("who/x.md", text).unwrap();
        assert_eq!(d.shows, "It shows this.");
        assert_eq!(d.data_issues, ["Is it complete?"]);
        assert_eq!(d.practice, ["What next?", "Who?"]);
        assert_eq!(d.indicator.as_deref(), Some("QI 8."));
        let e = Discussion::parse("who/x.md", "Shows.\n## Notes\n- x\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "who/x.md: bad header: line 2: unknown heading `Notes` (use Data issues, Practice, Quality indicator)"
        );
        assert!(Discussion::parse("who/x.md", "## Practice\n- x\n").is_err());
    }

    #[test]
    fn a_section_file_gives_title_order_and_mark() {
        let s = Section::parse(
            "who",
            "who/_section.toml",
            "title = \"Who?\"\norder = 1\nshort = \"1\"\n",
        )
        .unwrap();
        assert_eq!(s.heading(), "1. Who?");
        let e = Section::parse("who", "who/_section.toml", "title = \"Who?\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("who/_section.toml: bad header: "), "{e}");
        assert!(e.contains("order"), "{e}");
    }
}
