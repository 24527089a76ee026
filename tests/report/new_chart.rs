//! A chart added with files under `queries/` only (issue 11): a copy of
//! `queries/` plus one new chart, read with `--queries`, is drawn in the
//! report, counted in the benchmark (it declares a headline) and listed.
//! The chart is the walk-through of docs/adding-a-chart.md.

use super::checks::{has_class, parse};
use super::fixture::demo_dir;
use cypdash::catalog::Catalog;
use cypdash::dashboard::Dashboard;
use cypdash::engine::{Engine, EngineConfig};
use cypdash::report::frame::Frame;
use cypdash::report::{render, ReportOptions};
use std::path::{Path, PathBuf};

const CHART_ID: &str = "data_quality/any_t1";

/// The new chart, as docs/adding-a-chart.md writes it.
const CHART_SQL: &str = r#"-- title = "Any outcome measure at T1"
-- description = """
-- For referrals closed in the period after at least 2 attended contacts:
-- the share with a T1 on any outcome measure (SDQ, RCADS or goals), as a
-- proportion funnel."""
--
-- metrics = [
--     { code = "t1_any", label = "Any measure at T1", headline = true, better = "higher", benchmark = "proportion" },
-- ]
--
-- [chart]
-- order = 5
-- kind = "funnel"
--
-- [[params]]
-- use = ["period", "units", "min_n", "funnel"]
--
-- [[columns]]
-- use = ["unit", "proportion_funnel"]
-- metric.description = "t1_any"
-- value.description = "Share of eligible closed referrals with a T1"
-- x.description = "Referrals with a T1 on any measure"
-- n.description = "Referrals closed in the period with 2 or more attended contacts"
--
-- [sdc]
-- series = ["metric"]
-- across = ["x", "n"]
--
-- [funnel]
-- kind = "$funnel_kind"
-- group = ["metric"]
-- tau2 = "tau2"

with final as (
    select * exclude (source)
    from proportion_funnel
    where source = 'metric_case'
      and metric in ('t1_any')
)

select * from final
order by metric, partnership_id nulls last, service_id nulls first
"#;

const CHART_MD: &str = "How many closed referrals had any outcome measure at the start.\n\n\
## Data issues\n- Are T1 questionnaires entered for every referral that had one?\n\n\
## Practice\n- Where in the first sessions do we offer a measure, and who leaves without one?\n\
- What would make a first measure part of every assessment?\n- Who reviews this chart next quarter?\n";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A copy of `queries/` with the new chart and its discussion added.
fn queries_with_new_chart(tmp: &Path) -> PathBuf {
    let dir = tmp.join("queries");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"), &dir);
    std::fs::write(dir.join(format!("{CHART_ID}.sql")), CHART_SQL).unwrap();
    std::fs::write(dir.join(format!("{CHART_ID}.md")), CHART_MD).unwrap();
    dir
}

#[test]
fn a_chart_added_under_queries_is_drawn_benchmarked_and_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let queries = queries_with_new_chart(tmp.path());
    let catalog = Catalog::from_dir(&queries).unwrap();
    let data = demo_dir();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (html, benchmark) = rt.block_on(async {
        let engine = Engine::open(EngineConfig::new(&data)).await.unwrap();
        let dashboard = Dashboard::new(engine, catalog);
        let html = render(&dashboard, &ReportOptions::default()).await.unwrap();
        let bench = dashboard
            .run("data_quality/benchmark", &Default::default())
            .await
            .unwrap();
        (html, Frame::from_batches(&bench.batches))
    });

    // Drawn: its own block after data_quality/completion's section
    // neighbours, with a funnel plot and its discussion.
    let doc = parse(&html);
    let block = doc
        .descendants()
        .find(|n| {
            n.has_tag_name("section")
                && has_class(n, "chart")
                && n.attribute("data-chart") == Some(CHART_ID)
        })
        .expect("the new chart's block in the report");
    assert!(
        block.descendants().any(|n| n.has_tag_name("svg")),
        "the new funnel chart is drawn"
    );
    let text: String = block
        .descendants()
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("Where in the first sessions do we offer a measure"));
    // Order 5 in data_quality: after the benchmark (order 4).
    let order: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("section") && has_class(n, "chart"))
        .filter_map(|n| n.attribute("data-chart"))
        .filter(|id| id.starts_with("data_quality/"))
        .collect();
    assert_eq!(order.last(), Some(&CHART_ID), "{order:?}");

    // Benchmarked: a column of the benchmark table and a row per partnership.
    assert!(
        doc.descendants().any(|n| n.has_tag_name("th")
            && n.attribute("data-chart") == Some(CHART_ID)
            && n.attribute("data-metric") == Some("t1_any")),
        "the new headline heads a benchmark column"
    );
    let rows: Vec<_> = benchmark
        .iter()
        .filter(|r| r.str("chart") == Some(CHART_ID))
        .collect();
    assert!(!rows.is_empty(), "the benchmark has the new headline");
    assert!(rows.iter().all(|r| r.str("metric") == Some("t1_any")));
    assert!(rows.iter().any(|r| r.f64("value").is_some()));

    // Listed.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cypdash"))
        .arg("--queries")
        .arg(&queries)
        .arg("list")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(CHART_ID), "{stdout}");
}
