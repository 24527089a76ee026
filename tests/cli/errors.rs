//! Error messages and exit codes: 1 for failures, 2 for usage errors.

use crate::common::{cypdash, settings, tiny, tiny_test_charts};
use insta_cmd::assert_cmd_snapshot;

#[test]
fn unknown_chart_suggests_near_names() {
    settings(&[]).bind(|| {
        assert_cmd_snapshot!(
            "error_unknown_chart",
            tiny().args(["run", "key/partnership"])
        );
        assert_cmd_snapshot!(
            "error_unknown_chart_no_match",
            tiny().args(["describe", "nothing_like_it"])
        );
    });
}

#[test]
fn unknown_parameter_lists_the_charts_parameters() {
    settings(&[]).bind(|| {
        assert_cmd_snapshot!(
            "error_unknown_param",
            tiny().args(["run", "key/partnerships", "--param", "min_services=3"])
        );
        // For many charts: an error only if no selected chart takes it.
        assert_cmd_snapshot!(
            "error_param_no_chart_takes",
            tiny_test_charts().args([
                "export",
                "--section",
                "key",
                "--out",
                "unused",
                "--param",
                "min_n=3"
            ])
        );
        assert_cmd_snapshot!(
            "error_param_syntax",
            tiny().args(["run", "key/partnerships", "--param", "min_n"])
        );
    });
}

#[test]
fn bad_parameter_type_names_the_type() {
    settings(&[]).bind(|| {
        assert_cmd_snapshot!(
            "error_bad_param_int",
            tiny().args(["run", "key/partnerships", "--param", "min_n=five"])
        );
        assert_cmd_snapshot!(
            "error_bad_param_date",
            tiny().args([
                "run",
                "key/partnerships",
                "--param",
                "period_end=2024-02-30"
            ])
        );
        assert_cmd_snapshot!(
            "error_bad_param_in_export",
            tiny_test_charts().args(["export", "--out", "unused", "--param", "scale=lots"])
        );
    });
}

#[test]
fn missing_data_directory() {
    settings(&[]).bind(|| {
        let mut cmd = cypdash();
        cmd.args([
            "--data",
            "tests/fixtures/does-not-exist",
            "run",
            "key/partnerships",
        ]);
        assert_cmd_snapshot!("error_missing_data_dir", cmd);
    });
}

#[test]
fn data_that_breaks_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(crate::common::root().join(crate::common::TINY)).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    std::fs::remove_file(dir.path().join("contact.csv")).unwrap();
    settings(&[(dir.path(), "DATA")]).bind(|| {
        let mut cmd = cypdash();
        cmd.arg("--data").arg(dir.path()).args(["sql", "SELECT 1"]);
        assert_cmd_snapshot!("error_contract", cmd);
    });
}

#[test]
fn sql_syntax_error() {
    settings(&[]).bind(|| {
        assert_cmd_snapshot!("error_sql_syntax", tiny().args(["sql", "SELEC 1"]));
        assert_cmd_snapshot!(
            "error_sql_unknown_table",
            tiny().args(["sql", "SELECT * FROM referals"])
        );
    });
}

#[test]
fn failing_query() {
    settings(&[]).bind(|| {
        assert_cmd_snapshot!(
            "error_sql_failing",
            tiny().args([
                "sql",
                "SELECT rci(CAST(partnership_id AS DOUBLE), 1.0, -1.0, 0.8) FROM partnership"
            ])
        );
        assert_cmd_snapshot!(
            "error_chart_failing",
            tiny_test_charts().args(["run", "outcomes/broken"])
        );
        assert_cmd_snapshot!(
            "error_sql_file_missing",
            tiny().args(["sql", "-f", "tests/cli/no-such-file.sql"])
        );
    });
}

#[test]
fn usage_errors_exit_with_2() {
    settings(&[]).bind(|| {
        assert_cmd_snapshot!("error_usage_unknown_command", cypdash().arg("frobnicate"));
        assert_cmd_snapshot!(
            "error_usage_bad_format",
            tiny().args(["list", "--format", "xml"])
        );
        assert_cmd_snapshot!(
            "error_usage_charts_and_section",
            tiny().args(["export", "--charts", "a", "--section", "key", "--out", "x"])
        );
        assert_cmd_snapshot!("error_usage_no_sql", tiny().arg("sql"));
    });
}

#[test]
fn unknown_section() {
    settings(&[]).bind(|| {
        assert_cmd_snapshot!(
            "error_unknown_section",
            tiny().args(["export", "--section", "whom", "--out", "x"])
        );
    });
}
