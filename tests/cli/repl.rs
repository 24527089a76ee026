//! The REPL's loop body driven by scripted lines: meta-commands, multi-line
//! SQL, an error followed by a good query, session parameters, exports.

use crate::common::{root, settings, TEST_QUERIES, TINY};
use cypdash::catalog::Catalog;
use cypdash::dashboard::Dashboard;
use cypdash::engine::{Engine, EngineConfig};
use cypdash::repl::{Control, Repl, ReplOptions};

async fn repl(catalog: Catalog) -> Repl {
    let engine = Engine::open(EngineConfig::new(root().join(TINY)))
        .await
        .unwrap();
    Repl::new(Dashboard::new(engine, catalog), ReplOptions::default())
}

/// Feed lines as a user would, echoing each after its prompt; returns the
/// transcript and whether the script quit.
async fn transcript(repl: &mut Repl, lines: &[&str]) -> (String, bool) {
    let mut out = Vec::new();
    let mut quit = false;
    for line in lines {
        out.extend_from_slice(format!("{}{line}\n", repl.prompt()).as_bytes());
        if repl.feed(line, &mut out).await.unwrap() == Control::Quit {
            quit = true;
            break;
        }
    }
    (String::from_utf8(out).unwrap(), quit)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_scripted_session() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("units.csv");
    let folder = dir.path().join("types");
    let export_csv = format!("\\export key/units {}", csv_path.display());
    let export_dir = format!("\\export who/types {}", folder.display());
    let lines = [
        "\\?",
        "\\charts",
        "\\describe key/units",
        "\\d",
        "\\d partnership",
        "-- a comment line is skipped",
        "SELECT partnership_id,",
        "       partnership_name",
        "FROM partnership",
        "ORDER BY 1;",
        "SELECT * FROM no_such_table;",
        "SELECT count(*) AS referrals FROM referral;",
        "SELEC 1;",
        "SELECT 1 AS a; SELECT 2 AS b;",
        "\\set min_services 2",
        "\\set",
        "\\run key/units",
        "\\run key/units min_services=1",
        "\\run key/units min_n=3",
        "\\set nonsense 1",
        "\\set min_services many",
        "\\unset min_services",
        "\\format csv",
        "\\run who/types label=x",
        "\\format json",
        "SELECT partnership_name FROM partnership ORDER BY 1;",
        "\\format markdown",
        "SELECT referral_id FROM referral ORDER BY 1;",
        "\\format xml",
        "\\format table",
        "\\maxrows 1",
        "SELECT referral_id FROM referral ORDER BY 1;",
        "\\maxrows 0",
        "\\maxrows",
        export_csv.as_str(),
        export_dir.as_str(),
        "\\run no/such_chart",
        "\\frobnicate",
        "\\q",
        "SELECT 'never reached';",
    ];
    let (text, quit) = runtime().block_on(async {
        let mut repl = repl(Catalog::from_dir(&root().join(TEST_QUERIES)).unwrap()).await;
        transcript(&mut repl, &lines).await
    });
    assert!(quit);
    settings(&[(dir.path(), "TMP")]).bind(|| insta::assert_snapshot!("repl_session", text));
    let units = std::fs::read(&csv_path).unwrap();
    assert!(units.starts_with("\u{feff}partnership_id,partnership_name,services\r\n".as_bytes()));
    for f in [
        "who__types.parquet",
        "who__types.csv",
        "who__types.pq",
        "manifest.json",
    ] {
        assert!(folder.join(f).is_file(), "{f}");
    }
}

#[test]
fn multi_line_sql_waits_for_the_semicolon() {
    runtime().block_on(async {
        let mut repl = repl(Catalog::from_dir(&root().join(TEST_QUERIES)).unwrap()).await;
        let mut out = Vec::new();
        assert_eq!(repl.prompt(), "cypdash> ");
        repl.feed("SELECT 40 + 2", &mut out).await.unwrap();
        assert!(repl.in_statement());
        assert_eq!(repl.prompt(), "      -> ");
        assert!(out.is_empty());
        repl.feed("AS answer;", &mut out).await.unwrap();
        assert!(!repl.in_statement());
        assert!(String::from_utf8_lossy(&out).contains("42"));
        // Ctrl-C drops a half-typed statement.
        repl.feed("SELECT 1", &mut out).await.unwrap();
        repl.reset();
        assert!(!repl.in_statement());
    });
}

/// Issue #10: a `\` line inside an unfinished statement is a meta-command
/// (it was taken into the SQL); the statement is kept.
#[test]
fn a_meta_command_inside_a_statement_runs_and_keeps_the_statement() {
    runtime().block_on(async {
        let mut repl = repl(Catalog::from_dir(&root().join(TEST_QUERIES)).unwrap()).await;
        let mut out = Vec::new();
        repl.feed("SELECT 40 + 2", &mut out).await.unwrap();
        repl.feed("\\d partnership", &mut out).await.unwrap();
        assert!(String::from_utf8_lossy(&out).contains("partnership_id"));
        assert!(repl.in_statement());
        assert_eq!(repl.prompt(), "      -> ");
        out.clear();
        repl.feed("AS answer;", &mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("answer") && text.contains("42"), "{text}");
        repl.feed("SELECT 1", &mut out).await.unwrap();
        assert_eq!(
            repl.feed("\\q", &mut out).await.unwrap(),
            Control::Quit,
            "\\q quits with a statement open"
        );
    });
}

#[test]
fn shared_blocks_are_computed_on_first_use() {
    runtime().block_on(async {
        let mut repl = repl(Catalog::embedded().unwrap()).await;
        let ctx = repl.dashboard().engine().ctx().clone();
        assert!(
            !ctx.table_exist("in_scope_referral").unwrap(),
            "nothing is prepared at startup"
        );
        let mut out = Vec::new();
        repl.handle_line("SELECT count(*) AS n FROM partnership;", &mut out)
            .await
            .unwrap();
        assert!(
            !ctx.table_exist("in_scope_referral").unwrap(),
            "plain SQL does not prepare"
        );
        repl.handle_line("SELECT count(*) AS n FROM in_scope_referral;", &mut out)
            .await
            .unwrap();
        assert!(ctx.table_exist("in_scope_referral").unwrap());
        // Step blocks are gone once prepared, and `\d` says why.
        let mut listing = Vec::new();
        repl.handle_line("\\d", &mut listing).await.unwrap();
        let listing = String::from_utf8(listing).unwrap();
        let line = listing
            .lines()
            .find(|l| l.contains("scale_t1_t2"))
            .expect("scale_t1_t2 listed");
        assert!(
            line.contains("shared step (read by later tables only, then dropped)"),
            "{line}"
        );
        assert!(!ctx.table_exist("scale_t1_t2").unwrap());
    });
}

#[test]
fn include_runs_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("script.sql");
    std::fs::write(
        &file,
        "\\format csv\nSELECT 1 AS one;\nSELECT broken;\nSELECT 2\nAS two\n",
    )
    .unwrap();
    let line = format!("\\i {}", file.display());
    let (text, _) = runtime().block_on(async {
        let mut repl = repl(Catalog::from_dir(&root().join(TEST_QUERIES)).unwrap()).await;
        transcript(&mut repl, &[line.as_str(), "SELECT 3 AS three;"]).await
    });
    settings(&[(dir.path(), "TMP")]).bind(|| insta::assert_snapshot!("repl_include", text));
}

#[test]
fn completion_offers_tables_columns_charts_and_functions() {
    runtime().block_on(async {
        let repl = repl(Catalog::embedded().unwrap()).await;
        let words = cypdash::repl::completion_words(repl.dashboard());
        let complete = |line: &str| cypdash::repl::complete(&words, line, line.len()).1;
        assert!(complete("SELECT * FROM refer").contains(&"referral".to_string()));
        assert!(complete("SELECT referral_da").contains(&"referral_date".to_string()));
        assert!(complete("\\run key/partner").contains(&"key/partnerships".to_string()));
        assert!(complete("SELECT sdq_sc").contains(&"sdq_scores".to_string()));
        assert!(complete("SELECT * FROM funnel_cu").contains(&"funnel_curve".to_string()));
        assert!(complete("SELECT * FROM in_scope_re").contains(&"in_scope_referral".to_string()));
        assert!(complete("\\des").contains(&"\\describe".to_string()));
    });
}

/// Issue #10: `\set sdc NAME` chooses the session's disclosure control;
/// `\set` lists it; an unknown policy is an error naming the known ones.
#[test]
fn the_session_chooses_its_disclosure_control() {
    runtime().block_on(async {
        let mut repl = repl(Catalog::embedded().unwrap()).await;
        let (text, _) = transcript(
            &mut repl,
            &[
                "\\format csv",
                "\\set",
                "\\run key/partnerships",
                "\\set sdc none",
                "\\run key/partnerships",
            ],
        )
        .await;
        assert_eq!(repl.dashboard().policy(), cypdash::disclosure::Policy::None);
        assert!(text.contains("sdc = corc (disclosure control)"), "{text}");
        assert!(
            text.contains("sdc = none: none: NO DISCLOSURE CONTROL"),
            "{text}"
        );
        // The tiny fixture's partnerships have 1 referral each: withheld
        // under corc (min_n 5), shown under none.
        let runs: Vec<&str> = text.split("\\run key/partnerships").skip(1).collect();
        assert!(runs[0].contains(",,true"), "corc withholds: {}", runs[0]);
        assert!(
            !runs[1].contains(",true"),
            "none withholds nothing: {}",
            runs[1]
        );
        let mut out = Vec::new();
        let err = repl.feed("\\set sdc strict", &mut out).await;
        let shown = match err {
            Err(e) => e.to_string(),
            Ok(_) => String::from_utf8_lossy(&out).to_string(),
        };
        assert!(
            shown.contains("unknown disclosure policy `strict`; known: corc, mhsds, none"),
            "{shown}"
        );
    });
}
