//! Data sets, rendering and running charts for the report tests.

use cypdash::catalog::Catalog;
use cypdash::dashboard::Dashboard;
use cypdash::engine::{Engine, EngineConfig};
use cypdash::report::frame::Frame;
use cypdash::report::{render, ReportError, ReportOptions};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn open(dir: &Path) -> Dashboard {
    let engine = Engine::open(EngineConfig::new(dir)).await.unwrap();
    Dashboard::new(engine, Catalog::embedded().unwrap())
}

/// Render a report over a data directory.
pub fn render_with(dir: &Path, options: &ReportOptions) -> Result<String, ReportError> {
    runtime().block_on(async {
        let dashboard = open(dir).await;
        render(&dashboard, options).await
    })
}

/// Run charts with the parameters the report gives them.
pub fn run_charts(dir: &Path, options: &ReportOptions, charts: &[String]) -> Vec<(String, Frame)> {
    runtime().block_on(async {
        let dashboard = open(dir).await;
        let mut out = Vec::new();
        for id in charts {
            let file = dashboard.catalog().chart(id).unwrap().clone();
            let given = options.params_for(&file);
            let result = dashboard.run(id, &given).await.unwrap();
            out.push((id.clone(), Frame::from_batches(&result.batches)));
        }
        out
    })
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn chart_fixture() -> PathBuf {
    root().join("tests/fixtures/dashboard")
}

pub fn tiny_fixture() -> PathBuf {
    root().join("tests/fixtures/tiny")
}

/// `data/demo` when it holds the contract's tables, else a synthetic data
/// set generated once (same seed, same rows) into Cargo's test tmp dir.
pub fn demo_dir() -> PathBuf {
    let demo = root().join("data/demo");
    let has_data = ["partnership", "referral"].iter().all(|t| {
        demo.join(format!("{t}.parquet")).exists()
            || demo.join(format!("{t}.csv")).exists()
            || demo.join(t).is_dir()
    });
    if has_data {
        return demo;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-demo-4000-12-7");
    if !dir.join("referral.parquet").exists() {
        let options = cypdash::generate::GenerateOptions {
            out: dir.clone(),
            referrals: 4000,
            partnerships: 12,
            seed: 7,
            files_per_table: 1,
        };
        cypdash::generate::generate(&options, &mut |_| {}).unwrap();
    }
    dir
}

/// The demo report, rendered once per test run.
#[derive(Debug)]
pub struct Demo {
    pub html: String,
    pub data_dir: PathBuf,
    pub options: ReportOptions,
}

pub fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let data_dir = demo_dir();
        // Highlight the partnership with the most T1 SDQs, so that it has a
        // dot on the severity funnel.
        let sdq = run_charts(
            &data_dir,
            &ReportOptions::default(),
            &["who/severity_sdq".to_string()],
        );
        let partnership = sdq[0]
            .1
            .iter()
            .filter(|r| r.i64("partnership_id").is_some())
            .max_by_key(|r| r.i64("n"))
            .and_then(|r| r.i64("partnership_id"))
            .expect("a partnership");
        let options = ReportOptions {
            partnership: Some(partnership),
            ..ReportOptions::default()
        };
        let html = render_with(&data_dir, &options).unwrap();
        if let Ok(out) = std::env::var("CYPDASH_REPORT_OUT") {
            std::fs::write(&out, &html).unwrap();
        }
        Demo {
            html,
            data_dir,
            options,
        }
    })
}

/// A generated data set with `partnerships` partnerships (seed 7), written
/// once into Cargo's test temporary directory.
pub fn generated_dir(partnerships: u32, referrals: u64) -> PathBuf {
    static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("report-gen-{referrals}-{partnerships}-7"));
    if !dir.join("referral.parquet").exists() {
        let options = cypdash::generate::GenerateOptions {
            out: dir.clone(),
            referrals,
            partnerships,
            seed: 7,
            files_per_table: 1,
        };
        cypdash::generate::generate(&options, &mut |_| {}).unwrap();
    }
    dir
}

/// Issue 14: 60 partnerships (partnership 3 highlighted) ...
pub fn sixty() -> &'static Demo {
    static SIXTY: OnceLock<Demo> = OnceLock::new();
    SIXTY.get_or_init(|| {
        let data_dir = generated_dir(60, 9000);
        let options = ReportOptions {
            partnership: Some(3),
            ..ReportOptions::default()
        };
        let html = render_with(&data_dir, &options).unwrap();
        Demo {
            html,
            data_dir,
            options,
        }
    })
}

/// ... and their teams (about 170), one of them highlighted.
pub fn sixty_teams() -> &'static Demo {
    static TEAMS: OnceLock<Demo> = OnceLock::new();
    TEAMS.get_or_init(|| {
        let data_dir = generated_dir(60, 9000);
        let options = ReportOptions {
            level: cypdash::report::Level::Service,
            service: Some(31),
            ..ReportOptions::default()
        };
        let html = render_with(&data_dir, &options).unwrap();
        Demo {
            html,
            data_dir,
            options,
        }
    })
}
